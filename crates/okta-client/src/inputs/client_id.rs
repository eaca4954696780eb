//! [`ClientId`]: an API Services app's Client ID (`0oa` + 17 base62 characters).

use std::fmt;

use super::{Field, InputError, strip_quotes};

/// An Okta app id used as OAuth `client_id` (also the assertion's `iss`/`sub`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

/// Okta object id prefixes an admin may paste by mistake.
const OTHER_IDS: [(&str, &str); 6] = [
    ("00u", "user"),
    ("00g", "group"),
    ("00o", "org"),
    ("0ua", "app assignment"),
    ("0pr", "profile"),
    ("aus", "authorization server"),
];

impl ClientId {
    /// Length of an Okta object id.
    pub const LEN: usize = 20;

    /// Parses a pasted Client ID, trimming spaces and quotes.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let s = strip_quotes(input);
        if s.is_empty() {
            return Err(InputError::Empty {
                field: Field::ClientId,
            });
        }
        if s.starts_with('{') || s.contains("-----BEGIN") {
            return Err(InputError::ClientIdIsKey);
        }
        if s.contains("://") || s.contains('/') || s.contains(".okta") {
            return Err(InputError::ClientIdIsUrl);
        }
        let base62 = s.bytes().all(|b| b.is_ascii_alphanumeric());
        if s.len() == Self::LEN && base62 {
            if s.starts_with("0oa") {
                return Ok(ClientId(s.to_owned()));
            }
            if let Some((_, kind)) = OTHER_IDS.iter().find(|(p, _)| s.starts_with(p)) {
                return Err(InputError::ClientIdIsOtherId { kind });
            }
        }
        if s.starts_with("SSWS ") || s.starts_with("Bearer ") {
            return Err(InputError::ClientIdIsSecret);
        }
        // Client secrets are 40+ characters of base64url; SSWS API tokens are 42
        // characters starting with "00". Neither is ever echoed back.
        let secret_chars = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if s.len() >= 32 && secret_chars {
            return Err(InputError::ClientIdIsSecret);
        }
        if !base62 {
            return Err(InputError::ClientIdMalformed {
                reason: "it may contain only letters and digits".to_owned(),
            });
        }
        if !s.starts_with("0oa") {
            return Err(InputError::ClientIdMalformed {
                reason: "it must start with 0oa".to_owned(),
            });
        }
        Err(InputError::ClientIdMalformed {
            reason: format!("it must be {} characters, not {}", Self::LEN, s.len()),
        })
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trimmed_ids() {
        let id = ClientId::parse("  \"0oa1b2c3d4e5f6g7h8i9\"\n").expect("valid");
        assert_eq!(id.as_str(), "0oa1b2c3d4e5f6g7h8i9");
    }

    #[test]
    fn secret_is_not_echoed() {
        let secret = "Zx9_kQ3-abcdefghijklmnopqrstuvwxyz0123456789AB";
        let e = ClientId::parse(secret).expect_err("secret");
        assert_eq!(e, InputError::ClientIdIsSecret);
        assert!(!e.to_string().contains(secret));
        assert!(!e.fix().contains(secret));
    }
}
