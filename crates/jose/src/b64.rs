//! Strict base64url without padding (RFC 7515 section 2, RFC 4648 section 5).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::JoseError;

/// Encodes `bytes` as base64url without padding (RFC 7515 section 2).
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding (RFC 7515 section 2).
///
/// Rejects padding (`=`), characters outside the URL-safe alphabet (`+`, `/`,
/// whitespace) and non-canonical trailing bits, so every byte string has
/// exactly one accepted encoding.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| JoseError::Malformed(format!("invalid base64url: {e}")))
}

/// SHA-256 of `data`, base64url-encoded without padding.
///
/// This is the form of the DPoP `ath` claim (RFC 9449 section 4.2) and of the
/// RFC 7638 thumbprint.
pub fn sha256_b64url(data: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    b64url_encode(digest.as_ref())
}
