//! JOSE for Steward: JSON Web Keys and compact JSON Web Signatures.
//!
//! * [`PublicJwk`]: public RSA / EC JWKs (RFC 7517, RFC 7518 section 6) with
//!   RFC 7638 thumbprints and signature verification.
//! * [`PrivateKey`]: RSA (2048-4096 bit generation, up to 8192 on import) and
//!   P-256/P-384 signing keys, generated like Okta's "Generate new key", loaded
//!   from PEM (PKCS#8, PKCS#1, SEC1) or private JWKs, exported as PKCS#8 PEM or
//!   private JWK.
//! * [`jws`]: compact JWS (RFC 7515 section 7.1) signing, decoding and
//!   verification with RS256/384/512 and ES256/384/512 (RFC 7518 section 3).
//!   ES512 (P-521) is verification-only.
//!
//! Used on both sides of RFC 7523 `private_key_jwt` client authentication and
//! RFC 9449 DPoP proofs. All cryptography is done by aws-lc-rs; the `pkcs1`,
//! `pkcs8` and `sec1` crates only parse and encode DER structures.
//! Unsupported algorithms such as `none` and HMAC are unrepresentable in [`Alg`].

#![warn(missing_docs)]

mod alg;
mod b64;
mod error;
mod jwk;
pub mod jws;
mod key;
mod pem;

pub use alg::{Alg, Curve};
pub use b64::{b64url_decode, b64url_encode, sha256_b64url};
pub use error::JoseError;
pub use jwk::{PublicJwk, has_private_members};
pub use key::PrivateKey;

#[cfg(test)]
mod tests;
