//! [`PrivateKeyInput`]: the API Services app's private key as pasted (JWK, JWKS or PEM).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use steward_jose::{JoseError, PrivateKey};
use zeroize::Zeroizing;

use super::{Field, InputError};

/// A validated private key for `private_key_jwt`: RSA ≥ 2048 bits or EC P-256/P-384.
///
/// `Debug` shows only the key type and `kid` (see [`PrivateKey`]); the key
/// material is freed and cleansed when the last clone is dropped.
#[derive(Clone)]
pub struct PrivateKeyInput {
    key: Arc<PrivateKey>,
}

impl PrivateKeyInput {
    /// Parses a pasted key.
    ///
    /// Accepts Okta's JWK copy (with `kid`), a JWKS `{"keys":[…]}` (one key,
    /// or several plus `key_id`), and PEM PKCS#8 / PKCS#1 / SEC1. Tolerates
    /// surrounding whitespace and quotes, CRLF, JSON-escaped `\n` and a PEM
    /// flattened onto one line. `key_id` sets the `kid` of a PEM key, or
    /// selects/checks the `kid` of a JWK.
    pub fn parse(input: &str, key_id: Option<&str>) -> Result<Self, InputError> {
        let key_id = key_id.map(str::trim).filter(|k| !k.is_empty());
        let text = normalize(input);
        let text = text.as_str();
        if text.is_empty() {
            return Err(InputError::Empty {
                field: Field::PrivateKey,
            });
        }
        let mut key = if text.starts_with('{') || text.starts_with('[') {
            from_json(text, key_id)?
        } else if text.contains("-----BEGIN") {
            PrivateKey::from_pem(text).map_err(map_jose)?
        } else if text.starts_with("ssh-") || text.starts_with("ecdsa-sha2-") {
            return Err(InputError::KeyIsPublic);
        } else {
            return Err(InputError::KeyNotRecognized);
        };
        if let Some(given) = key_id {
            match key.kid() {
                Some(found) if found != given => {
                    return Err(InputError::KeyIdMismatch {
                        given: given.to_owned(),
                        found: format!("its kid is \"{found}\""),
                    });
                }
                Some(_) => {}
                None => key.set_kid(Some(given.to_owned())),
            }
        }
        Ok(PrivateKeyInput { key: Arc::new(key) })
    }

    /// Wraps an already loaded key.
    pub fn from_key(key: PrivateKey) -> Self {
        PrivateKeyInput { key: Arc::new(key) }
    }

    /// The key (shared).
    pub fn key(&self) -> &Arc<PrivateKey> {
        &self.key
    }

    /// The key id, when the JWK carried one or one was given.
    pub fn kid(&self) -> Option<&str> {
        self.key.kid()
    }
}

impl fmt::Debug for PrivateKeyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PrivateKeyInput").field(&self.key).finish()
    }
}

/// Undoes what copy/paste, shells and JSON embedding do to a key. The copies
/// are zeroized on drop.
fn normalize(input: &str) -> Zeroizing<String> {
    let mut s = Zeroizing::new(input.trim().to_owned());
    // A JSON string literal (`"{\"kty\":…}"` or `"-----BEGIN…\n…"`): decode it.
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        if let Ok(decoded) = serde_json::from_str::<String>(&s) {
            let decoded = Zeroizing::new(decoded);
            s = Zeroizing::new(decoded.trim().to_owned());
        } else {
            s = Zeroizing::new(s[1..s.len() - 1].trim().to_owned());
        }
    } else if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s = Zeroizing::new(s[1..s.len() - 1].trim().to_owned());
    }
    if s.contains("\\n") && s.contains("-----BEGIN") {
        s = Zeroizing::new(s.replace("\\r\\n", "\n").replace("\\n", "\n"));
    }
    if s.contains('\r') {
        s = Zeroizing::new(s.replace("\r\n", "\n").replace('\r', "\n"));
    }
    if s.starts_with("-----BEGIN") && !s.trim().contains('\n') {
        s = Zeroizing::new(unflatten_pem(&s));
    }
    s
}

/// `-----BEGIN X----- AAA BBB -----END X-----` (newlines turned into spaces)
/// back into lines.
fn unflatten_pem(s: &str) -> String {
    // Sized up front so that no partial copy of the key is left behind by a reallocation.
    let mut out = String::with_capacity(s.len() + 256);
    let mut rest = s.trim();
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            break;
        };
        let label = &after[..end_label];
        let body_start = start + 11 + end_label + 5;
        let footer = format!("-----END {label}-----");
        let Some(body_len) = rest[body_start..].find(&footer) else {
            break;
        };
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        for part in rest[body_start..body_start + body_len].split_whitespace() {
            out.push_str(part);
            out.push('\n');
        }
        out.push_str(&footer);
        out.push('\n');
        rest = &rest[body_start + body_len + footer.len()..];
    }
    out
}

fn from_json(text: &str, key_id: Option<&str>) -> Result<PrivateKey, InputError> {
    let value: Value = serde_json::from_str(text).map_err(|e| InputError::KeyInvalid {
        // serde_json's message has a position, never the content.
        detail: format!("not valid JSON ({e})"),
    })?;
    let jwk = match &value {
        Value::Object(obj) if obj.contains_key("keys") => {
            let keys = obj.get("keys").and_then(Value::as_array).ok_or_else(|| {
                InputError::KeyInvalid {
                    detail: "\"keys\" is not an array".to_owned(),
                }
            })?;
            pick(keys, key_id)?
        }
        Value::Array(keys) => pick(keys, key_id)?,
        Value::Object(_) => &value,
        _ => return Err(InputError::KeyNotRecognized),
    };
    match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA" | "EC") => {}
        Some(other) => {
            return Err(InputError::KeyUnsupportedType {
                detail: format!(
                    "JWK key type \"{}\"",
                    other.chars().take(16).collect::<String>()
                ),
            });
        }
        None => {
            return Err(InputError::KeyInvalid {
                detail: "the JWK has no \"kty\"".to_owned(),
            });
        }
    }
    if jwk.get("d").is_none() {
        return Err(InputError::KeyIsPublic);
    }
    PrivateKey::from_jwk(jwk).map_err(map_jose)
}

fn pick<'a>(keys: &'a [Value], key_id: Option<&str>) -> Result<&'a Value, InputError> {
    let kid_of = |k: &Value| {
        k.get("kid")
            .and_then(Value::as_str)
            .unwrap_or("<no kid>")
            .to_owned()
    };
    match (keys, key_id) {
        ([], _) => Err(InputError::KeyJwksEmpty),
        ([one], _) => Ok(one),
        (many, Some(kid)) => many
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .ok_or_else(|| InputError::KeyIdMismatch {
                given: kid.to_owned(),
                found: format!(
                    "the key set has {}",
                    many.iter().map(kid_of).collect::<Vec<_>>().join(", ")
                ),
            }),
        (many, None) => Err(InputError::KeyJwksMultiple {
            kids: many.iter().map(kid_of).collect(),
        }),
    }
}

/// Maps a steward-jose error to the admin-facing error.
pub(crate) fn map_jose(e: JoseError) -> InputError {
    match e {
        JoseError::PublicKeyOnly => InputError::KeyIsPublic,
        JoseError::EncryptedKey => InputError::KeyEncrypted,
        JoseError::WeakKey(detail) => InputError::KeyWeakRsa { detail },
        JoseError::UnsupportedCurve(curve) => InputError::KeyUnsupportedCurve { curve },
        JoseError::UnsupportedAlgorithm(detail) => InputError::KeyUnsupportedType { detail },
        other => InputError::KeyInvalid {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_jose::Alg;

    fn ec() -> PrivateKey {
        PrivateKey::generate_ec(Alg::ES256).expect("generate")
    }

    #[test]
    fn pem_variants_parse() {
        let pem = ec().to_pkcs8_pem();
        let escaped = pem.replace('\n', "\\n");
        let crlf = pem.replace('\n', "\r\n");
        let flat = pem.replace('\n', " ");
        let quoted = format!("\"{escaped}\"");
        for s in [&pem, &escaped, &crlf, &flat, &quoted] {
            let k = PrivateKeyInput::parse(s, Some("k1")).expect("parses");
            assert_eq!(k.kid(), Some("k1"));
        }
    }

    #[test]
    fn jwk_keeps_kid_and_debug_is_redacted() {
        let mut key = ec();
        key.set_kid(Some("kid-1".into()));
        let jwk = key.to_private_jwk();
        let d = jwk["d"].as_str().expect("d").to_owned();
        let k = PrivateKeyInput::parse(&jwk.to_string(), None).expect("jwk");
        assert_eq!(k.kid(), Some("kid-1"));
        assert!(!format!("{k:?}").contains(&d));
    }
}
