//! Issued access tokens, consumed `jti`s and DPoP nonces.

use super::nonce::NonceStore;
use crate::ids::random_token;
use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;
use steward_jose::b64url_encode;

/// Access tokens live exactly one hour (reference 1.3: "fixed at one hour").
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

/// Above this many stored tokens, expired ones are dropped when a new one is issued.
const MAX_TOKENS: usize = 200_000;

/// What the simulator remembers about an access token it issued.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: BTreeSet<String>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// RFC 7638 thumbprint of the DPoP key for DPoP-bound tokens (`cnf.jkt`).
    pub jkt: Option<String>,
    /// Revoked through the control API.
    pub revoked: bool,
}

/// Token store and replay caches.
#[derive(Debug, Default)]
pub struct AuthState {
    tokens: Mutex<HashMap<String, IssuedToken>>,
    /// `jti`s of client assertions and DPoP proofs already seen, with the time they may be forgotten.
    pub used_jtis: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The token endpoint's DPoP nonces.
    pub nonces: NonceStore,
    /// `kid` of the (simulated) key the org authorization server signs access tokens with.
    signing_kid: OnceLock<String>,
}

impl AuthState {
    /// Issues a token string for `token` and remembers it.
    pub fn issue(&self, token: IssuedToken, access_token: String) -> String {
        let mut tokens = self.tokens.lock();
        if tokens.len() >= MAX_TOKENS {
            // Tokens live one hour: anything that expired before this one was issued can go.
            let issued_at = token.expires_at - TimeDelta::seconds(TOKEN_LIFETIME_SECS);
            tokens.retain(|_, t| t.expires_at > issued_at);
        }
        tokens.insert(access_token.clone(), token);
        access_token
    }

    /// Mints an access token shaped like Okta's (reference 1.3: a JWT with header
    /// `{"kid","typ":"application/okta-internal-at+jwt","alg":"RS256"}` and claims `ver`,
    /// `jti` = `AT.…`, `iss`/`aud` = the org URL, `sub`, `iat`, `exp`, `cid`, `scp` and, when
    /// DPoP-bound, `cnf.jkt`), stores it and returns the token string. Clients must treat it
    /// as opaque; its signature is random bytes.
    pub fn mint(&self, issuer: &str, token: IssuedToken, now: DateTime<Utc>) -> String {
        let kid = self.signing_kid.get_or_init(|| random_token(43));
        let header = json!({"kid": kid, "typ": "application/okta-internal-at+jwt", "alg": "RS256"});
        let mut claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", random_token(43)),
            "iss": issuer,
            "aud": issuer,
            "sub": token.client_id,
            "iat": now.timestamp(),
            "exp": token.expires_at.timestamp(),
            "cid": token.client_id,
            "scp": token.scopes.iter().collect::<Vec<_>>(),
        });
        if let (Some(jkt), Some(obj)) = (&token.jkt, claims.as_object_mut()) {
            obj.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        let signature: Vec<u8> = (0..256).map(|_| rand::random::<u8>()).collect();
        let access_token = format!(
            "{}.{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes()),
            b64url_encode(&signature)
        );
        self.issue(token, access_token)
    }

    /// Looks up a token as presented.
    pub fn lookup(&self, access_token: &str) -> Option<IssuedToken> {
        self.tokens.lock().get(access_token).cloned()
    }

    /// The client id a presented token belongs to (used by rate limiting), if known.
    pub fn client_of(&self, access_token: &str) -> Option<String> {
        self.tokens
            .lock()
            .get(access_token)
            .map(|t| t.client_id.clone())
    }

    /// Revokes every token of `client_id` (or all tokens when `None`). Returns how many.
    pub fn revoke(&self, client_id: Option<&str>) -> usize {
        let mut n = 0;
        for t in self.tokens.lock().values_mut() {
            if client_id.is_none_or(|c| c == t.client_id) && !t.revoked {
                t.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Records a `jti` (scoped by `namespace`, e.g. the client id) as used until `keep_until`.
    /// Returns false when it was already used: a replay.
    pub fn consume_jti(
        &self,
        namespace: &str,
        jti: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> bool {
        let mut used = self.used_jtis.lock();
        if used.len() > 200_000 {
            used.retain(|_, until| *until > now);
        }
        let key = format!("{namespace}\u{0}{jti}");
        if used.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        used.insert(key, keep_until.max(now + TimeDelta::minutes(10)));
        true
    }

    /// Drops expired tokens.
    pub fn purge(&self, now: DateTime<Utc>) {
        self.tokens
            .lock()
            .retain(|_, t| t.expires_at > now - TimeDelta::hours(1));
    }
}
