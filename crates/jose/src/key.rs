//! Private signing keys: generation, PEM/JWK import and export, signing.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::error::KeyRejected;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPairComponents, KeySize};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
};
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::jwk::{bit_len, check_rsa_bits};
use crate::{Alg, Curve, JoseError, PublicJwk, b64url_decode, b64url_encode, pem};

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// A private signing key: RSA (2048..=8192 bits) or ECDSA on P-256/P-384.
///
/// P-521 is supported only for *verifying* ES512 (see [`PublicJwk`]); loading
/// a P-521 private key fails with [`JoseError::UnsupportedCurve`].
///
/// The type is deliberately not `Clone`, and its `Debug` output shows only
/// the key kind, size/curve and `kid`. The exported PKCS#8 DER and private JWK
/// members it caches are zeroized on drop; the key inside aws-lc-rs is freed
/// (and cleansed) by AWS-LC.
pub struct PrivateKey {
    inner: Inner,
    /// Public members only (no `kid`/`use`/`alg`).
    public: PublicJwk,
    kid: Option<String>,
    pkcs8: Zeroizing<Vec<u8>>,
    /// Private JWK members (`d`, and for RSA `p`, `q`, `dp`, `dq`, `qi`), base64url.
    private_members: Vec<(&'static str, Zeroizing<String>)>,
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec { pair: EcdsaKeyPair, curve: Curve },
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrivateKey");
        match &self.inner {
            Inner::Rsa(_) => d.field("kind", &"RSA").field("bits", &self.rsa_bits()),
            Inner::Ec { curve, .. } => d.field("kind", &"EC").field("curve", &curve.as_str()),
        };
        d.field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn rejected(e: KeyRejected) -> JoseError {
    JoseError::InvalidKey(format!("key rejected: {e}"))
}

fn crypto(what: &str) -> impl FnOnce(aws_lc_rs::error::Unspecified) -> JoseError + '_ {
    move |_| JoseError::Crypto(what.to_owned())
}

fn signing_alg(curve: Curve) -> Result<&'static EcdsaSigningAlgorithm, JoseError> {
    match curve {
        Curve::P256 => Ok(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Curve::P384 => Ok(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        Curve::P521 => Err(JoseError::UnsupportedCurve(
            "P-521 private keys are not supported (ES512 is verification-only)".to_owned(),
        )),
    }
}

fn curve_from_oid(oid: ObjectIdentifier) -> Result<Curve, JoseError> {
    match oid {
        OID_P256 => Ok(Curve::P256),
        OID_P384 => Ok(Curve::P384),
        OID_P521 => Ok(Curve::P521),
        OID_SECP256K1 => Err(JoseError::UnsupportedCurve("secp256k1".to_owned())),
        other => Err(JoseError::UnsupportedCurve(format!("curve OID {other}"))),
    }
}

impl PrivateKey {
    fn from_rsa_pair(pair: RsaKeyPair) -> Result<Self, JoseError> {
        let der: Pkcs8V1Der<'static> = pair.as_der().map_err(crypto("PKCS#8 export"))?;
        let pkcs8 = Zeroizing::new(der.as_ref().to_vec());
        let info = PrivateKeyInfo::try_from(pkcs8.as_slice())
            .map_err(|e| JoseError::Crypto(format!("re-parsing exported PKCS#8: {e}")))?;
        let rsa = pkcs1::RsaPrivateKey::try_from(info.private_key)
            .map_err(|e| JoseError::Crypto(format!("re-parsing exported PKCS#1: {e}")))?;
        check_rsa_bits(bit_len(rsa.modulus.as_bytes()))?;
        let public =
            PublicJwk::from_rsa_components(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())?;
        let private_members = [
            ("d", rsa.private_exponent),
            ("p", rsa.prime1),
            ("q", rsa.prime2),
            ("dp", rsa.exponent1),
            ("dq", rsa.exponent2),
            ("qi", rsa.coefficient),
        ]
        .into_iter()
        .map(|(name, v)| (name, Zeroizing::new(b64url_encode(v.as_bytes()))))
        .collect();
        Ok(PrivateKey {
            inner: Inner::Rsa(pair),
            public,
            kid: None,
            pkcs8,
            private_members,
        })
    }

    fn from_ec_pair(pair: EcdsaKeyPair, curve: Curve) -> Result<Self, JoseError> {
        let pkcs8 = Zeroizing::new(
            pair.to_pkcs8v1()
                .map_err(crypto("PKCS#8 export"))?
                .as_ref()
                .to_vec(),
        );
        let public = PublicJwk::from_ec_point(curve, pair.public_key().as_ref())?;
        let d: EcPrivateKeyBin<'static> = pair
            .private_key()
            .as_be_bytes()
            .map_err(crypto("EC private key export"))?;
        let private_members = vec![("d", Zeroizing::new(b64url_encode(d.as_ref())))];
        Ok(PrivateKey {
            inner: Inner::Ec { pair, curve },
            public,
            kid: None,
            pkcs8,
            private_members,
        })
    }

    /// Generates an RSA key (2048, 3072 or 4096 bits), like Okta's
    /// "Generate new key" button.
    pub fn generate_rsa(bits: usize) -> Result<Self, JoseError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            b if b < 2048 => {
                return Err(JoseError::WeakKey(format!(
                    "refusing to generate a {b}-bit RSA key; at least 2048 bits are required"
                )));
            }
            b => {
                return Err(JoseError::InvalidKey(format!(
                    "cannot generate a {b}-bit RSA key; use 2048, 3072 or 4096"
                )));
            }
        };
        let pair = RsaKeyPair::generate(size).map_err(crypto("RSA key generation"))?;
        Self::from_rsa_pair(pair)
    }

    /// Generates an EC key for `alg`: ES256 -> P-256, ES384 -> P-384.
    pub fn generate_ec(alg: Alg) -> Result<Self, JoseError> {
        let curve = alg.curve().ok_or_else(|| {
            JoseError::UnsupportedAlgorithm(format!("{alg} is not an ECDSA algorithm"))
        })?;
        let pair =
            EcdsaKeyPair::generate(signing_alg(curve)?).map_err(crypto("EC key generation"))?;
        Self::from_ec_pair(pair, curve)
    }

    /// Loads a PEM private key (RFC 7468).
    ///
    /// Accepts `PRIVATE KEY` (PKCS#8, RFC 5208/5958, RSA or EC),
    /// `RSA PRIVATE KEY` (PKCS#1, RFC 8017 appendix A.1.2) and
    /// `EC PRIVATE KEY` (SEC1, RFC 5915), optionally surrounded by other
    /// blocks such as `EC PARAMETERS` or certificates.
    ///
    /// Errors: public keys and certificates -> [`JoseError::PublicKeyOnly`];
    /// `ENCRYPTED PRIVATE KEY` or `Proc-Type: 4,ENCRYPTED` ->
    /// [`JoseError::EncryptedKey`]; RSA under 2048 bits -> [`JoseError::WeakKey`];
    /// curves other than P-256/P-384 -> [`JoseError::UnsupportedCurve`].
    pub fn from_pem(pem: &str) -> Result<Self, JoseError> {
        let blocks = pem::parse(pem)?;
        if blocks
            .iter()
            .any(|b| b.encrypted || b.label == "ENCRYPTED PRIVATE KEY")
        {
            return Err(JoseError::EncryptedKey);
        }
        if let Some(block) = blocks.iter().find(|b| {
            matches!(
                b.label,
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY"
            )
        }) {
            let der = block.der()?;
            return match block.label {
                "PRIVATE KEY" => Self::from_pkcs8_der(&der),
                "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
                _ => Self::from_sec1_der(&der),
            };
        }
        for block in &blocks {
            match block.label {
                "OPENSSH PRIVATE KEY" => {
                    return Err(JoseError::InvalidKey(
                        "OpenSSH private keys are not supported; convert with \
                         `ssh-keygen -p -m PKCS8 -f <file>`"
                            .to_owned(),
                    ));
                }
                "DSA PRIVATE KEY" => {
                    return Err(JoseError::UnsupportedAlgorithm("DSA keys".to_owned()));
                }
                "PUBLIC KEY"
                | "RSA PUBLIC KEY"
                | "EC PUBLIC KEY"
                | "CERTIFICATE"
                | "X509 CERTIFICATE"
                | "TRUSTED CERTIFICATE"
                | "CERTIFICATE REQUEST"
                | "NEW CERTIFICATE REQUEST" => return Err(JoseError::PublicKeyOnly),
                _ => {}
            }
        }
        match blocks.first() {
            None => Err(JoseError::InvalidKey("no PEM block found".to_owned())),
            Some(b) => Err(JoseError::InvalidKey(format!(
                "unsupported PEM block \"{}\"",
                b.label
            ))),
        }
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo` (RFC 5208 / RFC 5958) in DER form.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JoseError> {
        let info = PrivateKeyInfo::try_from(der)
            .map_err(|e| JoseError::InvalidKey(format!("invalid PKCS#8 PrivateKeyInfo: {e}")))?;
        match info.algorithm.oid {
            OID_RSA_ENCRYPTION => Self::from_pkcs1_der(info.private_key),
            OID_EC_PUBLIC_KEY => {
                let oid = info.algorithm.parameters_oid().map_err(|_| {
                    JoseError::InvalidKey("PKCS#8 EC key without a named curve".to_owned())
                })?;
                let curve = curve_from_oid(oid)?;
                let pair = EcdsaKeyPair::from_pkcs8(signing_alg(curve)?, der).map_err(rejected)?;
                Self::from_ec_pair(pair, curve)
            }
            OID_ED25519 | OID_ED448 => Err(JoseError::UnsupportedAlgorithm(
                "EdDSA (Ed25519/Ed448) keys".to_owned(),
            )),
            OID_RSASSA_PSS => Err(JoseError::UnsupportedAlgorithm(
                "RSASSA-PSS-restricted keys".to_owned(),
            )),
            other => Err(JoseError::InvalidKey(format!(
                "unsupported PKCS#8 key algorithm OID {other}"
            ))),
        }
    }

    /// Loads a PKCS#1 `RSAPrivateKey` (RFC 8017 appendix A.1.2) in DER form.
    fn from_pkcs1_der(der: &[u8]) -> Result<Self, JoseError> {
        let rsa = pkcs1::RsaPrivateKey::try_from(der)
            .map_err(|e| JoseError::InvalidKey(format!("invalid PKCS#1 RSAPrivateKey: {e}")))?;
        if rsa.other_prime_infos.is_some() {
            return Err(JoseError::InvalidKey(
                "multi-prime RSA keys are not supported".to_owned(),
            ));
        }
        check_rsa_bits(bit_len(rsa.modulus.as_bytes()))?;
        let pair = RsaKeyPair::from_der(der).map_err(rejected)?;
        Self::from_rsa_pair(pair)
    }

    /// Loads a SEC1 `ECPrivateKey` (RFC 5915) in DER form.
    fn from_sec1_der(der: &[u8]) -> Result<Self, JoseError> {
        let ec = sec1::EcPrivateKey::try_from(der)
            .map_err(|e| JoseError::InvalidKey(format!("invalid SEC1 ECPrivateKey: {e}")))?;
        let curve = match ec.parameters.and_then(|p| p.named_curve()) {
            Some(oid) => curve_from_oid(oid)?,
            // No parameters: infer from the scalar's fixed length.
            None => match ec.private_key.len() {
                32 => Curve::P256,
                48 => Curve::P384,
                66 => Curve::P521,
                n => {
                    return Err(JoseError::InvalidKey(format!(
                        "cannot determine the curve of a {n}-octet EC private key"
                    )));
                }
            },
        };
        let pair =
            EcdsaKeyPair::from_private_key_der(signing_alg(curve)?, der).map_err(rejected)?;
        Self::from_ec_pair(pair, curve)
    }

    /// Loads a private JWK (RFC 7518 sections 6.2.2 and 6.3.2).
    ///
    /// RSA keys need `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi` (all checked
    /// for consistency); EC keys need `crv` (P-256 or P-384), `x`, `y`, `d`.
    /// A JWK without `d` fails with [`JoseError::PublicKeyOnly`]. `kid` is kept.
    pub fn from_jwk(v: &Value) -> Result<Self, JoseError> {
        let public = PublicJwk::from_json(v)?;
        let obj = v
            .as_object()
            .ok_or_else(|| JoseError::InvalidKey("a JWK must be a JSON object".to_owned()))?;
        if !obj.contains_key("d") {
            return Err(JoseError::PublicKeyOnly);
        }
        let member = |name: &str| -> Result<Zeroizing<Vec<u8>>, JoseError> {
            let s = obj.get(name).and_then(Value::as_str).ok_or_else(|| {
                JoseError::InvalidKey(format!(
                    "private {} JWK is missing \"{name}\"",
                    public.kty()
                ))
            })?;
            b64url_decode(s)
                .map(Zeroizing::new)
                .map_err(|_| JoseError::InvalidKey(format!("\"{name}\" is not valid base64url")))
        };
        let mut key = match public.curve() {
            None => {
                if obj.contains_key("oth") {
                    return Err(JoseError::InvalidKey(
                        "multi-prime RSA keys (\"oth\") are not supported".to_owned(),
                    ));
                }
                let (n, e) = public.rsa_n_e()?;
                check_rsa_bits(bit_len(&n))?;
                let components = KeyPairComponents {
                    public_key: RsaPublicKeyComponents {
                        n: n.as_slice(),
                        e: e.as_slice(),
                    },
                    d: member("d")?,
                    p: member("p")?,
                    q: member("q")?,
                    dP: member("dp")?,
                    dQ: member("dq")?,
                    qInv: member("qi")?,
                };
                let pair = RsaKeyPair::from_components(&components).map_err(rejected)?;
                Self::from_rsa_pair(pair)?
            }
            Some(curve) => {
                let alg = signing_alg(curve)?;
                let len = curve.coordinate_len();
                let d = member("d")?;
                if d.len() > len {
                    return Err(JoseError::InvalidKey(format!(
                        "\"d\" must be {len} octets for {curve}, got {}",
                        d.len()
                    )));
                }
                // Tolerate senders that strip leading zeros from "d".
                let mut scalar = Zeroizing::new(vec![0u8; len]);
                scalar[len - d.len()..].copy_from_slice(&d);
                let point = public.ec_point_bytes()?;
                let pair = EcdsaKeyPair::from_private_key_and_public_key(alg, &scalar, &point)
                    .map_err(rejected)?;
                Self::from_ec_pair(pair, curve)?
            }
        };
        key.kid = public.kid().map(str::to_owned);
        Ok(key)
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Sets or clears the key id used in [`PrivateKey::public_jwk`] and
    /// [`PrivateKey::to_private_jwk`].
    pub fn set_kid(&mut self, kid: Option<String>) {
        self.kid = kid;
    }

    /// The natural algorithm: RS256 for RSA, ES256 for P-256, ES384 for P-384.
    pub fn default_alg(&self) -> Alg {
        match &self.inner {
            Inner::Rsa(_) => Alg::RS256,
            Inner::Ec { curve, .. } => curve.alg(),
        }
    }

    /// Whether this key can sign with `alg` (RSA: any RS*; EC: only its curve's ES*).
    pub fn supports(&self, alg: Alg) -> bool {
        match &self.inner {
            Inner::Rsa(_) => alg.is_rsa(),
            Inner::Ec { curve, .. } => alg.curve() == Some(*curve),
        }
    }

    /// The public JWK with `kid` (if set) and `"use":"sig"`, without `alg`.
    pub fn public_jwk(&self) -> PublicJwk {
        let jwk = self.public.clone().with_use("sig");
        match &self.kid {
            Some(kid) => jwk.with_kid(kid.as_str()),
            None => jwk,
        }
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        self.public.thumbprint()
    }

    /// The full private JWK, as Okta's "Generate new key" shows it:
    /// `kty`, `kid` (if set), `use`, public members and `d` (plus `p`, `q`,
    /// `dp`, `dq`, `qi` for RSA). The returned JSON is not zeroized.
    pub fn to_private_jwk(&self) -> Value {
        let mut json = self.public_jwk().to_json();
        if let Some(obj) = json.as_object_mut() {
            for (name, value) in &self.private_members {
                obj.insert((*name).to_owned(), Value::String(value.as_str().to_owned()));
            }
        }
        json
    }

    /// The key as an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    /// Signs `signing_input` (RFC 7515 section 5.1 step 5).
    ///
    /// RS*: RSASSA-PKCS1-v1_5 (RFC 7518 section 3.3); ES*: ECDSA with the
    /// fixed-size `R || S` encoding (RFC 7518 section 3.4).
    /// Fails with [`JoseError::KeyAlgMismatch`] unless [`PrivateKey::supports`] `alg`.
    pub fn sign(&self, alg: Alg, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        if !self.supports(alg) {
            return Err(JoseError::KeyAlgMismatch);
        }
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(pair) => {
                let encoding = match alg {
                    Alg::RS384 => &signature::RSA_PKCS1_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(encoding, &rng, signing_input, &mut sig)
                    .map_err(crypto("RSA signing"))?;
                Ok(sig)
            }
            Inner::Ec { pair, .. } => pair
                .sign(&rng, signing_input)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(crypto("ECDSA signing")),
        }
    }

    /// The RSA modulus size in bits, `None` for EC keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self.inner {
            Inner::Rsa(_) => self.public.rsa_bits(),
            Inner::Ec { .. } => None,
        }
    }
}
