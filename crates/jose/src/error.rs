//! The crate's error type.

/// Everything that can go wrong while parsing keys or producing/verifying a JWS.
///
/// The variants are deliberately specific so that a caller (for example the
/// Okta simulator answering `invalid_client` / `invalid_dpop_proof`) can explain
/// *why* a token or key was rejected.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// The token or one of its parts is structurally broken: not three
    /// dot-separated parts, invalid base64url, or a header/payload that is not a
    /// JSON object (RFC 7515 section 5.2).
    #[error("malformed JWS: {0}")]
    Malformed(String),

    /// The `alg` is not one of RS256/RS384/RS512/ES256/ES384/ES512 (this
    /// includes `none` and all HMAC algorithms), or a key type/feature that this
    /// crate does not implement.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// The signature did not verify against the key.
    #[error("signature verification failed")]
    BadSignature,

    /// The key material is invalid (bad encoding, missing members,
    /// inconsistent components, point not on the curve, ...).
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// The key is too weak (RSA modulus shorter than 2048 bits).
    #[error("weak key: {0}")]
    WeakKey(String),

    /// The elliptic curve is unknown or not supported for this operation.
    #[error("unsupported curve: {0}")]
    UnsupportedCurve(String),

    /// A public key (or certificate) was supplied where a private key is required.
    #[error("a private key is required but only a public key was provided")]
    PublicKeyOnly,

    /// The private key is encrypted (`ENCRYPTED PRIVATE KEY` or a legacy
    /// `Proc-Type: 4,ENCRYPTED` PEM); decrypt it first.
    #[error("the private key is encrypted; provide an unencrypted key")]
    EncryptedKey,

    /// The algorithm does not match the key type or curve (e.g. ES256 with an
    /// RSA key, ES384 with a P-256 key, or a JWK whose `alg` member differs).
    #[error("algorithm does not match the key type")]
    KeyAlgMismatch,

    /// The JWS header lists critical extensions (`crit`, RFC 7515 section
    /// 4.1.11) that this implementation does not understand.
    #[error("unsupported critical header parameter(s): {0}")]
    UnsupportedCritical(String),

    /// The underlying crypto library failed unexpectedly (not an input error).
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}
