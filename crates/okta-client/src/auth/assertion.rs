//! RFC 7523 `private_key_jwt` client assertions (reference 1.2).

use std::time::Duration;

use serde_json::json;
use steward_jose::{PrivateKey, jws};

use crate::error::OktaError;
use crate::inputs::{ClientId, map_jose};

/// `client_assertion_type` for a JWT bearer assertion (RFC 7523 section 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Builder for one client assertion. Build a **new** one for every token
/// request, retries included: Okta records the `jti` even when it answers
/// `use_dpop_nonce` (reference 1.2).
#[derive(Debug, Clone)]
pub struct ClientAssertion {
    client_id: String,
    audience: String,
    issued_at: i64,
    lifetime: Duration,
    jti: String,
}

impl ClientAssertion {
    /// Default lifetime: 5 minutes (Okta allows up to one hour).
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

    /// `iss` = `sub` = `client_id`, `aud` = exactly `token_url`, fresh uuid `jti`,
    /// `iat` = now.
    pub fn new(client_id: &ClientId, token_url: &str) -> Self {
        ClientAssertion {
            client_id: client_id.as_str().to_owned(),
            audience: token_url.to_owned(),
            issued_at: super::unix_now(),
            lifetime: Self::DEFAULT_LIFETIME,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Overrides `iat` (seconds since the epoch); for tests.
    pub fn issued_at(mut self, iat: i64) -> Self {
        self.issued_at = iat;
        self
    }

    /// Overrides the lifetime (`exp` - `iat`).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The assertion's `jti`.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The claims set.
    pub fn claims(&self) -> serde_json::Value {
        let exp = self.issued_at + i64::try_from(self.lifetime.as_secs()).unwrap_or(300);
        json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.audience,
            "iat": self.issued_at,
            "exp": exp,
            "jti": self.jti,
        })
    }

    /// Signs with `key` using its natural algorithm (RS256 for RSA, ES256/ES384
    /// for EC), with `kid` in the header when the key has one (required when the
    /// app has several keys, reference 1.2).
    ///
    /// The result is a credential for the next five minutes: never log it.
    pub fn sign(&self, key: &PrivateKey) -> Result<String, OktaError> {
        let mut header = json!({ "typ": "JWT" });
        if let Some(kid) = key.kid() {
            header["kid"] = json!(kid);
        }
        jws::sign(&header, &self.claims(), key, key.default_alg())
            .map_err(|e| OktaError::Input(map_jose(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_jose::Alg;

    #[test]
    fn claims_and_signature() {
        let mut key = PrivateKey::generate_ec(Alg::ES256).expect("key");
        key.set_kid(Some("k1".into()));
        let id = ClientId::parse("0oa1b2c3d4e5f6g7h8i9").expect("id");
        let a = ClientAssertion::new(&id, "https://acme.okta.com/oauth2/v1/token").issued_at(1000);
        let a2 = ClientAssertion::new(&id, "https://acme.okta.com/oauth2/v1/token");
        assert_ne!(a.jti(), a2.jti());
        let jwt = a.sign(&key).expect("sign");
        let d = jws::decode(&jwt).expect("decode");
        assert_eq!(d.verify(&key.public_jwk()).expect("verify"), Alg::ES256);
        assert_eq!(d.kid(), Some("k1"));
        assert_eq!(d.claims["iss"], "0oa1b2c3d4e5f6g7h8i9");
        assert_eq!(d.claims["sub"], "0oa1b2c3d4e5f6g7h8i9");
        assert_eq!(d.claims["aud"], "https://acme.okta.com/oauth2/v1/token");
        assert_eq!(d.claims["iat"], 1000);
        assert_eq!(d.claims["exp"], 1300);
        assert_eq!(d.claims["jti"], a.jti());
    }
}
