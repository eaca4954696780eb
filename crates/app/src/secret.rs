//! Secret values and the primitives around them: random tokens, SHA-256 hashes of bearer
//! secrets, constant-time comparison and argon2id password hashes.
//!
//! Every secret is a newtype with a redacted `Debug`, no `Display` and one documented
//! accessor (`expose`), so that it can't reach a log line or a page by accident.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// A secret string (password, session id, API token, CSRF secret, private key text).
/// `Debug` prints `<redacted>`; there is no `Display`; [`Secret::expose`] is the only way in.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret itself. Call it only to hash, compare, encrypt or hand it to the one
    /// place that needs it (a `Set-Cookie` header, a form's hidden field, the doctor).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Forms deserialize secrets (passwords) straight into a zeroized buffer.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Secret(Zeroizing::new(s)))
    }
}

impl From<Zeroizing<String>> for Secret {
    fn from(value: Zeroizing<String>) -> Self {
        Secret(value)
    }
}

/// `n` random bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError("the system random generator failed"))?;
    Ok(out)
}

/// A random 256-bit value, base64url without padding (43 characters).
pub fn random_token() -> Result<Secret, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())))
}

/// Lowercase hex SHA-256 of `value`: how session ids and API tokens are stored, so that a
/// database dump can't be replayed (the values are 256-bit random, so no salt is needed).
pub fn sha256_hex(value: &str) -> String {
    let d = digest::digest(&digest::SHA256, value.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality (for CSRF tokens and anything compared with a secret).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A failure of the platform's cryptography (random generator, hashing). Never carries
/// secret material.
#[derive(Debug, thiserror::Error)]
#[error("cryptography failure: {0}")]
pub struct CryptoError(pub &'static str);

/// The argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, CryptoError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|_| CryptoError("invalid argon2 parameters"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC-format argon2id hash (`$argon2id$v=19$…`). Not secret in the sense of a
/// password, but kept out of `Debug` all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    /// Wraps a hash read from storage.
    pub fn from_stored(phc: impl Into<String>) -> Self {
        PasswordHashString(phc.into())
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call it from
/// `spawn_blocking` in request handlers (see `crate::accounts`).
pub fn hash_password(password: &Secret) -> Result<PasswordHashString, CryptoError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|_| CryptoError("salt encoding failed"))?;
    let hash = argon2()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|_| CryptoError("argon2 hashing failed"))?;
    Ok(PasswordHashString(hash.to_string()))
}

/// Whether `password` matches `hash` (constant time inside argon2). A malformed stored hash
/// never matches.
pub fn verify_password(password: &Secret, hash: &PasswordHashString) -> bool {
    let Ok(parsed) = PasswordHash::new(&hash.0) else {
        return false;
    };
    let Ok(a) = argon2() else {
        return false;
    };
    a.verify_password(password.expose().as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        let h = hash_password(&s).expect("hash");
        assert!(!format!("{h:?}").contains("argon2id"));
        assert!(h.as_str().starts_with("$argon2id$"));
    }

    #[test]
    fn passwords_verify() {
        let s = Secret::new("correct horse");
        let h = hash_password(&s).expect("hash");
        assert!(verify_password(&s, &h));
        assert!(!verify_password(&Secret::new("wrong"), &h));
        assert!(!verify_password(
            &s,
            &PasswordHashString::from_stored("garbage")
        ));
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token().expect("a");
        let b = random_token().expect("b");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert_eq!(sha256_hex("abc").len(), 64);
        assert!(constant_time_eq("x", "x") && !constant_time_eq("x", "y"));
    }
}
