//! RFC 9449 DPoP: the per-connection key, proofs and server nonces (reference 2).

use std::fmt;
use std::sync::Mutex;

use serde_json::{Value, json};
use steward_jose::{Alg, PrivateKey, jws, sha256_b64url};
use url::Url;

use super::AccessToken;
use crate::error::OktaError;
use crate::inputs::map_jose;

/// An ephemeral EC P-256 key that binds this connection's tokens
/// (`cnf.jkt`, RFC 9449 section 6). Okta wants it separate from the
/// client-authentication key (reference 2.2). Never persisted.
pub struct DpopKey {
    key: PrivateKey,
    jwk: Value,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

/// A signed proof and its `jti` (kept for tests and diagnostics).
#[derive(Clone)]
pub struct DpopProof {
    /// The compact JWS for the `DPoP` header.
    pub jwt: String,
    /// Its unique `jti`.
    pub jti: String,
}

impl fmt::Debug for DpopProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopProof")
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// Generates a fresh P-256 key.
    pub fn generate() -> Result<Self, OktaError> {
        let key = PrivateKey::generate_ec(Alg::ES256).map_err(|e| OktaError::Input(map_jose(e)))?;
        let jwk = key.public_jwk().to_json();
        Ok(DpopKey { key, jwk })
    }

    /// The RFC 7638 thumbprint (`cnf.jkt` of bound tokens).
    pub fn thumbprint(&self) -> String {
        self.key.thumbprint()
    }

    /// The public JWK sent in every proof header.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// Builds a proof for `method` on `url` (RFC 9449 section 4.2) with a fresh
    /// `jti`: call it for **every** attempt, retries included, since Okta
    /// refuses a replayed proof (reference 2.2).
    ///
    /// `ath` is added when `access_token` is given (resource requests), `nonce`
    /// when the server supplied one.
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        nonce: Option<&str>,
        access_token: Option<&AccessToken>,
        iat: i64,
    ) -> Result<DpopProof, OktaError> {
        let jti = uuid::Uuid::new_v4().to_string();
        let mut claims = json!({
            "htm": method,
            "htu": htu(url),
            "iat": iat,
            "jti": jti,
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = access_token {
            claims["ath"] = json!(sha256_b64url(t.secret().as_bytes()));
        }
        let header = json!({ "typ": "dpop+jwt", "jwk": self.jwk });
        let jwt = jws::sign(&header, &claims, &self.key, Alg::ES256)
            .map_err(|e| OktaError::Input(map_jose(e)))?;
        Ok(DpopProof { jwt, jti })
    }
}

/// The `htu` claim for `url`: scheme, host, port (only if not the default)
/// and path, without query or fragment (RFC 9449 section 4.2).
///
/// The path is the request's canonical path (see [`canonical_path`]): Okta
/// compares `htu` against the percent-decoded request path, so a proof for
/// `/api/v1/users/a%40b.com` with the encoded form fails with "'htu' claim in
/// the DPoP proof JWT is invalid" (reference 2.2; okta-sdk-python#541,
/// okta-sdk-nodejs#521). Sending the request itself with the same canonical
/// path keeps `htu` equal to the request URI byte for byte, which is what a
/// strict RFC 9449 server compares (RFC 9449 section 4.3, RFC 3986 section 6.2).
pub fn htu(url: &Url) -> String {
    let path = canonical_path(url.path());
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{}://{host}:{p}{path}", url.scheme()),
        None => format!("{}://{host}{path}", url.scheme()),
    }
}

/// Decodes the percent-escapes in `path` whose character may stand unescaped in
/// a path segment (RFC 3986 `pchar`: unreserved, sub-delims, `:` and `@`), and
/// keeps every other escape (`%2F`, `%3F`, `%25`, non-ASCII bytes…) as it is,
/// upper-cased. Both readings of the path — Okta's decoded one and a strict
/// server's literal one — then agree.
pub fn canonical_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let c = (h << 4 | l) as char;
            if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c) {
                out.push(c);
            } else {
                out.push('%');
                out.push(bytes[i + 1].to_ascii_uppercase() as char);
                out.push(bytes[i + 2].to_ascii_uppercase() as char);
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Server-supplied DPoP nonces. The token endpoint's and the resource
/// server's are kept apart (RFC 9449 sections 8 and 9): a nonce from one is
/// not valid at the other.
#[derive(Debug, Default)]
pub struct DpopNonces {
    token: Mutex<Option<String>>,
    resource: Mutex<Option<String>>,
}

impl DpopNonces {
    fn get(slot: &Mutex<Option<String>>) -> Option<String> {
        slot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(slot: &Mutex<Option<String>>, value: &str) {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value.to_owned());
    }

    /// The authorization server's current nonce.
    pub fn token_nonce(&self) -> Option<String> {
        Self::get(&self.token)
    }

    /// Stores the authorization server's nonce.
    pub fn set_token_nonce(&self, nonce: &str) {
        Self::set(&self.token, nonce);
    }

    /// The resource server's current nonce.
    pub fn resource_nonce(&self) -> Option<String> {
        Self::get(&self.resource)
    }

    /// Stores the resource server's nonce.
    pub fn set_resource_nonce(&self, nonce: &str) {
        Self::set(&self.resource, nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn htu_rules() {
        assert_eq!(
            htu(&url(
                "https://acme.okta.com/api/v1/users?limit=200&after=x#frag"
            )),
            "https://acme.okta.com/api/v1/users"
        );
        assert_eq!(
            htu(&url("https://acme.okta.com:443/oauth2/v1/token")),
            "https://acme.okta.com/oauth2/v1/token"
        );
        assert_eq!(
            htu(&url("http://127.0.0.1:8080/api/v1/users/a%40b.com")),
            "http://127.0.0.1:8080/api/v1/users/a@b.com"
        );
        assert_eq!(htu(&url("HTTPS://ACME.okta.com")), "https://acme.okta.com/");
        // Escapes of characters that must stay escaped in a path are kept.
        assert_eq!(
            htu(&url(
                "https://acme.okta.com/api/v1/users/a%2fb%3Fc%25d%C3%A9"
            )),
            "https://acme.okta.com/api/v1/users/a%2Fb%3Fc%25d%C3%A9"
        );
    }

    #[test]
    fn canonical_path_decodes_only_what_a_path_may_hold() {
        assert_eq!(canonical_path("/a%40b%2Ec%7E"), "/a@b.c~");
        assert_eq!(canonical_path("/x%2f%20y%"), "/x%2F%20y%");
        assert_eq!(canonical_path("/%4"), "/%4");
    }

    #[test]
    fn proof_claims_verify() {
        let k = DpopKey::generate().expect("key");
        let token = AccessToken::new("tok-123".into());
        let u = url("https://acme.okta.com/api/v1/groups/00g1/users?limit=2");
        let p1 = k
            .proof("GET", &u, Some("n1"), Some(&token), 1_700_000_000)
            .expect("proof");
        let p2 = k
            .proof("GET", &u, None, None, 1_700_000_000)
            .expect("proof");
        assert_ne!(p1.jti, p2.jti);
        let d = jws::decode(&p1.jwt).expect("decode");
        assert_eq!(d.typ(), Some("dpop+jwt"));
        let jwk = steward_jose::PublicJwk::from_json(&d.header["jwk"]).expect("jwk");
        assert!(!steward_jose::has_private_members(&d.header["jwk"]));
        assert_eq!(jwk.thumbprint(), k.thumbprint());
        d.verify(&jwk).expect("verify");
        assert_eq!(d.claims["htm"], "GET");
        assert_eq!(
            d.claims["htu"],
            "https://acme.okta.com/api/v1/groups/00g1/users"
        );
        assert_eq!(d.claims["iat"], 1_700_000_000);
        assert_eq!(d.claims["nonce"], "n1");
        assert_eq!(d.claims["jti"], p1.jti.as_str());
        assert_eq!(d.claims["ath"], sha256_b64url(b"tok-123"));
        let d2 = jws::decode(&p2.jwt).expect("decode");
        assert!(d2.claims.get("nonce").is_none() && d2.claims.get("ath").is_none());
    }

    #[test]
    fn nonces_are_separate() {
        let n = DpopNonces::default();
        n.set_token_nonce("t");
        assert_eq!(n.token_nonce().as_deref(), Some("t"));
        assert_eq!(n.resource_nonce(), None);
        n.set_resource_nonce("r");
        assert_eq!(n.token_nonce().as_deref(), Some("t"));
    }
}
