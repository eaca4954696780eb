//! Public JSON Web Keys (RFC 7517, RFC 7518 section 6) and thumbprints (RFC 7638).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Alg, Curve, JoseError, b64url_decode, b64url_encode, sha256_b64url};

/// Smallest RSA modulus accepted for signing or verification.
pub(crate) const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted (the aws-lc-rs limit).
pub(crate) const RSA_MAX_BITS: usize = 8192;

/// JWK members that only occur in private (or symmetric) keys
/// (RFC 7518 sections 6.2.2, 6.3.2 and 6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// `true` if the JSON object contains any private-key member (`d`, `p`, `q`,
/// `dp`, `dq`, `qi`, `oth`) or a symmetric key value (`k`).
///
/// RFC 9449 section 4.3 (check 7) requires a DPoP proof's `jwk` header to
/// "not contain a private key"; [`PublicJwk::from_json`] silently drops such
/// members, so validators must call this on the raw header value first.
pub fn has_private_members(json: &Value) -> bool {
    json.as_object()
        .is_some_and(|o| PRIVATE_MEMBERS.iter().any(|m| o.contains_key(*m)))
}

/// A public JWK: RSA (RFC 7518 section 6.3.1) or EC on P-256/P-384/P-521
/// (RFC 7518 section 6.2.1).
///
/// Serde (de)serializes the JSON JWK form. Deserialization validates the key
/// (see [`PublicJwk::from_json`]), ignores unknown members and silently drops
/// private members; use [`has_private_members`] to detect those.
/// Key parameters are kept exactly as received (base64url strings), so
/// serialization and [`PublicJwk::thumbprint`] reproduce the sender's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JwkRepr", into = "JwkRepr")]
pub struct PublicJwk {
    params: KeyParams,
    kid: Option<String>,
    alg: Option<String>,
    key_use: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyParams {
    Rsa { n: String, e: String },
    Ec { crv: Curve, x: String, y: String },
}

/// The flat wire form of a JWK; everything optional so that errors are ours.
#[derive(Serialize, Deserialize)]
struct JwkRepr {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
}

impl From<PublicJwk> for JwkRepr {
    fn from(jwk: PublicJwk) -> Self {
        let mut repr = JwkRepr {
            kty: jwk.kty().to_owned(),
            kid: jwk.kid,
            key_use: jwk.key_use,
            alg: jwk.alg,
            crv: None,
            x: None,
            y: None,
            e: None,
            n: None,
        };
        match jwk.params {
            KeyParams::Rsa { n, e } => {
                repr.n = Some(n);
                repr.e = Some(e);
            }
            KeyParams::Ec { crv, x, y } => {
                repr.crv = Some(crv.as_str().to_owned());
                repr.x = Some(x);
                repr.y = Some(y);
            }
        }
        repr
    }
}

impl TryFrom<JwkRepr> for PublicJwk {
    type Error = JoseError;

    fn try_from(repr: JwkRepr) -> Result<Self, JoseError> {
        let params = match repr.kty.as_str() {
            "RSA" => {
                let n = required(repr.n, "RSA", "n")?;
                let e = required(repr.e, "RSA", "e")?;
                decode_uint(&n, "n")?;
                decode_uint(&e, "e")?;
                KeyParams::Rsa { n, e }
            }
            "EC" => {
                let crv = required(repr.crv, "EC", "crv")?;
                let crv = Curve::parse(&crv).ok_or(JoseError::UnsupportedCurve(crv))?;
                let x = required(repr.x, "EC", "x")?;
                let y = required(repr.y, "EC", "y")?;
                let params = KeyParams::Ec { crv, x, y };
                let point = ec_point(&params)?;
                UnparsedPublicKey::new(crv.verification_alg(), &point)
                    .parse()
                    .map_err(|_| {
                        JoseError::InvalidKey(format!("EC point is not on curve {crv}"))
                    })?;
                params
            }
            "OKP" => {
                return Err(JoseError::UnsupportedCurve(
                    repr.crv.unwrap_or_else(|| "OKP".to_owned()),
                ));
            }
            "oct" => {
                return Err(JoseError::InvalidKey(
                    "symmetric (kty \"oct\") keys are not supported".to_owned(),
                ));
            }
            other => {
                return Err(JoseError::InvalidKey(format!("unsupported kty {other:?}")));
            }
        };
        Ok(PublicJwk {
            params,
            kid: repr.kid,
            alg: repr.alg,
            key_use: repr.key_use,
        })
    }
}

fn required(v: Option<String>, kty: &str, name: &str) -> Result<String, JoseError> {
    v.ok_or_else(|| JoseError::InvalidKey(format!("{kty} JWK is missing \"{name}\"")))
}

/// Decodes a Base64urlUInt (RFC 7518 section 2) and strips leading zero
/// octets (tolerated on input although the RFC asks senders not to emit them).
pub(crate) fn decode_uint(s: &str, name: &str) -> Result<Vec<u8>, JoseError> {
    let bytes = b64url_decode(s)
        .map_err(|_| JoseError::InvalidKey(format!("\"{name}\" is not valid base64url")))?;
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .ok_or_else(|| JoseError::InvalidKey(format!("\"{name}\" must be a positive integer")))?;
    Ok(bytes[first..].to_vec())
}

/// Number of significant bits in a big-endian integer without leading zeros.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        Some(b) => be.len() * 8 - b.leading_zeros() as usize,
        None => 0,
    }
}

/// Strips leading zero octets (a big-endian integer's minimal encoding).
pub(crate) fn strip_zeros(be: &[u8]) -> &[u8] {
    let first = be.iter().position(|b| *b != 0).unwrap_or(be.len());
    &be[first..]
}

/// The uncompressed SEC1 point `0x04 || x || y`, checking coordinate lengths
/// (RFC 7518 section 6.2.1.2: exactly the curve's coordinate size).
fn ec_point(params: &KeyParams) -> Result<Vec<u8>, JoseError> {
    let KeyParams::Ec { crv, x, y } = params else {
        return Err(JoseError::KeyAlgMismatch);
    };
    let len = crv.coordinate_len();
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    for (name, coord) in [("x", x), ("y", y)] {
        let bytes = b64url_decode(coord)
            .map_err(|_| JoseError::InvalidKey(format!("\"{name}\" is not valid base64url")))?;
        if bytes.len() != len {
            return Err(JoseError::InvalidKey(format!(
                "\"{name}\" must be {len} octets for {crv}, got {}",
                bytes.len()
            )));
        }
        point.extend_from_slice(&bytes);
    }
    Ok(point)
}

impl PublicJwk {
    /// Parses and validates a public JWK (RFC 7517 section 4, RFC 7518 section 6).
    ///
    /// RSA keys need base64url `n` and `e`; EC keys need a known `crv` and
    /// `x`/`y` of exactly the coordinate size, forming a point on the curve.
    /// Unknown and private members are ignored (see [`has_private_members`]).
    /// The RSA key size is *not* checked here (see [`PublicJwk::rsa_bits`]);
    /// [`PublicJwk::verify`] rejects keys under 2048 bits.
    pub fn from_json(v: &Value) -> Result<Self, JoseError> {
        if !v.is_object() {
            return Err(JoseError::InvalidKey(
                "a JWK must be a JSON object".to_owned(),
            ));
        }
        let repr = JwkRepr::deserialize(v).map_err(|e| JoseError::InvalidKey(e.to_string()))?;
        PublicJwk::try_from(repr)
    }

    /// Builds an RSA JWK from the big-endian modulus and public exponent.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Self, JoseError> {
        let (n, e) = (strip_zeros(n), strip_zeros(e));
        if n.is_empty() || e.is_empty() {
            return Err(JoseError::InvalidKey(
                "RSA modulus and exponent must be positive".to_owned(),
            ));
        }
        Ok(PublicJwk {
            params: KeyParams::Rsa {
                n: b64url_encode(n),
                e: b64url_encode(e),
            },
            kid: None,
            alg: None,
            key_use: None,
        })
    }

    /// Builds an EC JWK from an uncompressed SEC1 point (`0x04 || x || y`).
    pub fn from_ec_point(crv: Curve, point: &[u8]) -> Result<Self, JoseError> {
        let len = crv.coordinate_len();
        if point.len() != 1 + 2 * len || point[0] != 0x04 {
            return Err(JoseError::InvalidKey(format!(
                "expected an uncompressed {crv} point"
            )));
        }
        UnparsedPublicKey::new(crv.verification_alg(), point)
            .parse()
            .map_err(|_| JoseError::InvalidKey(format!("EC point is not on curve {crv}")))?;
        Ok(PublicJwk {
            params: KeyParams::Ec {
                crv,
                x: b64url_encode(&point[1..=len]),
                y: b64url_encode(&point[1 + len..]),
            },
            kid: None,
            alg: None,
            key_use: None,
        })
    }

    /// RSA `n` and `e` as big-endian integers without leading zeros.
    pub(crate) fn rsa_n_e(&self) -> Result<(Vec<u8>, Vec<u8>), JoseError> {
        match &self.params {
            KeyParams::Rsa { n, e } => Ok((decode_uint(n, "n")?, decode_uint(e, "e")?)),
            KeyParams::Ec { .. } => Err(JoseError::KeyAlgMismatch),
        }
    }

    /// The uncompressed SEC1 point of an EC key.
    pub(crate) fn ec_point_bytes(&self) -> Result<Vec<u8>, JoseError> {
        ec_point(&self.params)
    }

    /// The JSON form of the key (public members only).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), self.kty().into());
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), kid.as_str().into());
        }
        if let Some(u) = &self.key_use {
            m.insert("use".into(), u.as_str().into());
        }
        if let Some(a) = &self.alg {
            m.insert("alg".into(), a.as_str().into());
        }
        match &self.params {
            KeyParams::Rsa { n, e } => {
                m.insert("n".into(), n.as_str().into());
                m.insert("e".into(), e.as_str().into());
            }
            KeyParams::Ec { crv, x, y } => {
                m.insert("crv".into(), crv.as_str().into());
                m.insert("x".into(), x.as_str().into());
                m.insert("y".into(), y.as_str().into());
            }
        }
        Value::Object(m)
    }

    /// The `kty` member: `"RSA"` or `"EC"`.
    pub fn kty(&self) -> &'static str {
        match self.params {
            KeyParams::Rsa { .. } => "RSA",
            KeyParams::Ec { .. } => "EC",
        }
    }

    /// The curve of an EC key, `None` for RSA.
    pub fn curve(&self) -> Option<Curve> {
        match self.params {
            KeyParams::Ec { crv, .. } => Some(crv),
            KeyParams::Rsa { .. } => None,
        }
    }

    /// The `kid` member (RFC 7517 section 4.5).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Returns the key with `kid` set.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The `use` member (RFC 7517 section 4.2), e.g. `"sig"`.
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// Returns the key with `use` set.
    pub fn with_use(mut self, key_use: impl Into<String>) -> Self {
        self.key_use = Some(key_use.into());
        self
    }

    /// The `alg` member (RFC 7517 section 4.4), if the key is restricted to one algorithm.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// Returns the key with `alg` set.
    pub fn with_alg(mut self, alg: Alg) -> Self {
        self.alg = Some(alg.as_str().to_owned());
        self
    }

    /// The RFC 7638 JWK thumbprint using SHA-256, base64url without padding.
    ///
    /// Hashes only the required members in lexicographic order without
    /// whitespace (RFC 7638 section 3.2): `{"e","kty","n"}` for RSA and
    /// `{"crv","kty","x","y"}` for EC. Member values are validated base64url
    /// or fixed curve names, so no JSON escaping is needed.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.params {
            KeyParams::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            KeyParams::Ec { crv, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{x}","y":"{y}"}}"#,
                crv.as_str()
            ),
        };
        sha256_b64url(canonical.as_bytes())
    }

    /// Whether the key can verify `alg`: RS* needs an RSA key, ES256 a P-256,
    /// ES384 a P-384 and ES512 a P-521 key (RFC 7518 section 3.4). If the JWK
    /// carries an `alg` member it must equal `alg` (RFC 7517 section 4.4).
    pub fn is_compatible(&self, alg: Alg) -> bool {
        let type_ok = match self.params {
            KeyParams::Rsa { .. } => alg.is_rsa(),
            KeyParams::Ec { crv, .. } => alg.curve() == Some(crv),
        };
        type_ok && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    /// The RSA modulus size in bits, `None` for EC keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.params {
            KeyParams::Rsa { n, .. } => decode_uint(n, "n").ok().map(|n| bit_len(&n)),
            KeyParams::Ec { .. } => None,
        }
    }

    /// Verifies a JWS signature over `signing_input`
    /// (RFC 7515 section 5.2 step 8).
    ///
    /// * RS256/384/512: RSASSA-PKCS1-v1_5 (RFC 7518 section 3.3); the modulus
    ///   must be 2048..=8192 bits (smaller is [`JoseError::WeakKey`]).
    /// * ES256/384/512: ECDSA with the fixed-size `R || S` signature encoding
    ///   (RFC 7518 section 3.4); DER-encoded signatures are rejected.
    ///
    /// Fails with [`JoseError::KeyAlgMismatch`] if [`PublicJwk::is_compatible`]
    /// is false and with [`JoseError::InvalidKey`] if the key's `use` is not `sig`.
    pub fn verify(
        &self,
        alg: Alg,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        if !self.is_compatible(alg) {
            return Err(JoseError::KeyAlgMismatch);
        }
        if let Some(u) = self.key_use.as_deref()
            && u != "sig"
        {
            return Err(JoseError::InvalidKey(format!(
                "key \"use\" is {u:?}, not \"sig\""
            )));
        }
        match &self.params {
            KeyParams::Rsa { n, e } => {
                let (n, e) = (decode_uint(n, "n")?, decode_uint(e, "e")?);
                check_rsa_bits(bit_len(&n))?;
                let params = match alg {
                    Alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, signing_input, signature)
                    .map_err(|_| JoseError::BadSignature)
            }
            KeyParams::Ec { crv, .. } => {
                if signature.len() != 2 * crv.coordinate_len() {
                    return Err(JoseError::BadSignature);
                }
                let point = ec_point(&self.params)?;
                UnparsedPublicKey::new(crv.verification_alg(), &point)
                    .verify(signing_input, signature)
                    .map_err(|_| JoseError::BadSignature)
            }
        }
    }
}

/// Enforces the accepted RSA modulus size range.
pub(crate) fn check_rsa_bits(bits: usize) -> Result<(), JoseError> {
    if bits < RSA_MIN_BITS {
        Err(JoseError::WeakKey(format!(
            "RSA key is {bits} bits; at least {RSA_MIN_BITS} bits are required"
        )))
    } else if bits > RSA_MAX_BITS {
        Err(JoseError::InvalidKey(format!(
            "RSA key is {bits} bits; at most {RSA_MAX_BITS} bits are supported"
        )))
    } else {
        Ok(())
    }
}
