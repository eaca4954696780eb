//! JWS algorithm identifiers (RFC 7518 section 3.1).

use std::fmt;

/// The JWS `alg` values supported by this crate (RFC 7518 section 3.1).
///
/// Only asymmetric algorithms are represented: `none` and the HMAC family are
/// intentionally absent so they can never be accepted by mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 section 3.3).
    RS256,
    /// RSASSA-PKCS1-v1_5 using SHA-384 (RFC 7518 section 3.3).
    RS384,
    /// RSASSA-PKCS1-v1_5 using SHA-512 (RFC 7518 section 3.3).
    RS512,
    /// ECDSA using P-256 and SHA-256 (RFC 7518 section 3.4).
    ES256,
    /// ECDSA using P-384 and SHA-384 (RFC 7518 section 3.4).
    ES384,
    /// ECDSA using P-521 and SHA-512 (RFC 7518 section 3.4).
    ES512,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 6] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
    ];

    /// The registered `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
        }
    }

    /// Parses an `alg` value (case-sensitive, RFC 7515 section 4.1.1).
    /// Returns `None` for anything unsupported, including `none`, `HS256` and `PS256`.
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// `true` for the RSASSA-PKCS1-v1_5 algorithms.
    pub fn is_rsa(self) -> bool {
        matches!(self, Alg::RS256 | Alg::RS384 | Alg::RS512)
    }

    /// The curve an ECDSA algorithm is bound to (RFC 7518 section 3.4), `None` for RSA.
    pub fn curve(self) -> Option<Curve> {
        match self {
            Alg::ES256 => Some(Curve::P256),
            Alg::ES384 => Some(Curve::P384),
            Alg::ES512 => Some(Curve::P521),
            Alg::RS256 | Alg::RS384 | Alg::RS512 => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// NIST curves usable in EC JWKs (RFC 7518 section 6.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1), used by ES256.
    P256,
    /// P-384 (secp384r1), used by ES384.
    P384,
    /// P-521 (secp521r1), used by ES512. Verification only in this crate.
    P521,
}

impl Curve {
    /// The JWK `crv` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Parses a JWK `crv` value (case-sensitive).
    pub fn parse(s: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// Length in octets of a coordinate or of the private scalar
    /// (RFC 7518 sections 6.2.1.2 and 6.2.2.1).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The ECDSA algorithm that uses this curve.
    pub fn alg(self) -> Alg {
        match self {
            Curve::P256 => Alg::ES256,
            Curve::P384 => Alg::ES384,
            Curve::P521 => Alg::ES512,
        }
    }

    pub(crate) fn verification_alg(
        self,
    ) -> &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm {
        use aws_lc_rs::signature;
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
