//! Issued access tokens, consumed `jti`s and DPoP nonces.

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};

/// Access tokens live exactly one hour (reference 1.3: "fixed at one hour").
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

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
}

impl AuthState {
    /// Issues a token string for `token` and remembers it.
    pub fn issue(&self, token: IssuedToken, access_token: String) -> String {
        self.tokens.lock().insert(access_token.clone(), token);
        access_token
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
