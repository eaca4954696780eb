//! [`MemoryRepos`]: every repository in memory, for tests and the demo.
//!
//! Private keys are encrypted with AES-256-GCM under a random key that lives only in this
//! process, so that the in-memory store behaves like the database one (and a heap dump of
//! the map shows ciphertext).

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use zeroize::Zeroizing;

use crate::repo::*;
use crate::secret::{Secret, random_bytes};

/// All repositories in one mutex-protected map set.
pub struct MemoryRepos {
    inner: Mutex<Inner>,
    key: LessSafeKey,
}

#[derive(Default)]
struct Inner {
    accounts: Vec<Account>,
    sessions: BTreeMap<String, Session>,
    tokens: Vec<ApiToken>,
    audit: Vec<AuditEvent>,
    connections: BTreeMap<String, (Connection, Vec<u8>)>,
}

fn backend(msg: &'static str) -> RepoError {
    RepoError::Backend(msg.into())
}

impl MemoryRepos {
    /// Empty repositories with a fresh encryption key.
    pub fn new() -> Result<Self, RepoError> {
        let raw = Zeroizing::new(random_bytes::<32>().map_err(|e| RepoError::Backend(e.into()))?);
        let key = UnboundKey::new(&AES_256_GCM, raw.as_slice())
            .map_err(|_| backend("AES key setup failed"))?;
        Ok(MemoryRepos {
            inner: Mutex::new(Inner::default()),
            key: LessSafeKey::new(key),
        })
    }

    fn seal(&self, name: &str, key: &PrivateKeySecret) -> Result<Vec<u8>, RepoError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>().map_err(|e| RepoError::Backend(e.into()))?;
        let mut buf = key.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(name.as_bytes()),
                &mut buf,
            )
            .map_err(|_| backend("encryption failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, name: &str, sealed: &[u8]) -> Result<PrivateKeySecret, RepoError> {
        if sealed.len() < NONCE_LEN {
            return Err(backend("ciphertext too short"));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| backend("bad nonce"))?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut buf)
            .map_err(|_| backend("decryption failed"))?;
        let text = std::str::from_utf8(plain).map_err(|_| backend("key is not UTF-8"))?;
        Ok(PrivateKeySecret::new(Secret::new(text)))
    }
}

fn ready<'a, T: Send + 'a>(r: Result<T, RepoError>) -> RepoFuture<'a, T> {
    Box::pin(std::future::ready(r))
}

impl AccountRepo for MemoryRepos {
    fn create_account(&self, new: NewAccount) -> RepoFuture<'_, Account> {
        let mut g = self.inner.lock();
        if g.accounts.iter().any(|a| a.username == new.username) {
            return ready(Err(RepoError::Conflict(new.username)));
        }
        let account = Account {
            id: AccountId(g.accounts.len() as i64 + 1),
            username: new.username,
            password_hash: new.password_hash,
            role: new.role,
            created: new.created,
            disabled: false,
        };
        g.accounts.push(account.clone());
        ready(Ok(account))
    }

    fn find_account(&self, id: AccountId) -> RepoFuture<'_, Option<Account>> {
        let g = self.inner.lock();
        ready(Ok(g.accounts.iter().find(|a| a.id == id).cloned()))
    }

    fn find_account_by_username<'a>(
        &'a self,
        username: &'a str,
    ) -> RepoFuture<'a, Option<Account>> {
        let g = self.inner.lock();
        ready(Ok(g
            .accounts
            .iter()
            .find(|a| a.username == username)
            .cloned()))
    }

    fn count_accounts(&self) -> RepoFuture<'_, u64> {
        ready(Ok(self.inner.lock().accounts.len() as u64))
    }

    fn list_accounts(&self) -> RepoFuture<'_, Vec<Account>> {
        let mut all = self.inner.lock().accounts.clone();
        all.sort_by(|a, b| a.username.cmp(&b.username));
        ready(Ok(all))
    }

    fn update_account(&self, id: AccountId, change: AccountChange) -> RepoFuture<'_, ()> {
        let mut g = self.inner.lock();
        let other_admin = g
            .accounts
            .iter()
            .any(|a| a.id != id && a.role == Role::Admin && !a.disabled);
        let Some(a) = g.accounts.iter_mut().find(|a| a.id == id) else {
            return ready(Err(RepoError::NotFound));
        };
        let removes_admin = a.role == Role::Admin
            && match &change {
                AccountChange::Role(r) => *r != Role::Admin,
                AccountChange::Disabled { disabled, .. } => *disabled,
                AccountChange::Password(_) => false,
            };
        if removes_admin && !other_admin {
            return ready(Err(RepoError::Conflict(LAST_ADMIN.into())));
        }
        match change {
            AccountChange::Role(r) => a.role = r,
            AccountChange::Disabled { disabled, .. } => a.disabled = disabled,
            AccountChange::Password(h) => a.password_hash = h,
        }
        ready(Ok(()))
    }
}

impl SessionRepo for MemoryRepos {
    fn create_session(&self, session: Session) -> RepoFuture<'_, ()> {
        let mut g = self.inner.lock();
        g.sessions.insert(session.id_hash.clone(), session);
        ready(Ok(()))
    }

    fn find_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, Option<Session>> {
        ready(Ok(self.inner.lock().sessions.get(id_hash).cloned()))
    }

    fn touch_session<'a>(
        &'a self,
        id_hash: &'a str,
        last_seen: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> RepoFuture<'a, ()> {
        if let Some(s) = self.inner.lock().sessions.get_mut(id_hash) {
            s.last_seen = last_seen;
            s.expires = expires;
        }
        ready(Ok(()))
    }

    fn delete_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, ()> {
        self.inner.lock().sessions.remove(id_hash);
        ready(Ok(()))
    }

    fn delete_account_sessions(&self, account: AccountId) -> RepoFuture<'_, ()> {
        self.inner
            .lock()
            .sessions
            .retain(|_, s| s.account != account);
        ready(Ok(()))
    }
}

impl ApiTokenRepo for MemoryRepos {
    fn create_token(&self, mut token: ApiToken) -> RepoFuture<'_, ApiToken> {
        let mut g = self.inner.lock();
        token.id = TokenId(g.tokens.iter().map(|t| t.id.0).max().unwrap_or(0) + 1);
        g.tokens.push(token.clone());
        ready(Ok(token))
    }

    fn find_token_by_hash<'a>(&'a self, hash: &'a str) -> RepoFuture<'a, Option<ApiToken>> {
        let g = self.inner.lock();
        ready(Ok(g.tokens.iter().find(|t| t.hash == hash).cloned()))
    }

    fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> RepoFuture<'_, ()> {
        if let Some(t) = self.inner.lock().tokens.iter_mut().find(|t| t.id == id) {
            t.last_used = Some(at);
        }
        ready(Ok(()))
    }

    fn find_token(&self, id: TokenId) -> RepoFuture<'_, Option<ApiToken>> {
        let g = self.inner.lock();
        ready(Ok(g.tokens.iter().find(|t| t.id == id).cloned()))
    }

    fn list_tokens(&self) -> RepoFuture<'_, Vec<ApiToken>> {
        ready(Ok(self.inner.lock().tokens.clone()))
    }

    fn revoke_token(&self, id: TokenId) -> RepoFuture<'_, bool> {
        let mut g = self.inner.lock();
        let before = g.tokens.len();
        g.tokens.retain(|t| t.id != id);
        ready(Ok(g.tokens.len() < before))
    }
}

impl AuditRepo for MemoryRepos {
    fn append_audit(&self, event: AuditEvent) -> RepoFuture<'_, ()> {
        self.inner.lock().audit.push(event);
        ready(Ok(()))
    }

    fn list_audit(&self, limit: usize) -> RepoFuture<'_, Vec<AuditEvent>> {
        let g = self.inner.lock();
        ready(Ok(g.audit.iter().rev().take(limit).cloned().collect()))
    }
}

impl ConnectionRepo for MemoryRepos {
    fn list_connections(&self) -> RepoFuture<'_, Vec<Connection>> {
        let g = self.inner.lock();
        ready(Ok(g.connections.values().map(|(c, _)| c.clone()).collect()))
    }

    fn find_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<Connection>> {
        let g = self.inner.lock();
        ready(Ok(g.connections.get(name).map(|(c, _)| c.clone())))
    }

    fn save_connection(
        &self,
        conn: Connection,
        key: PrivateKeySecret,
    ) -> RepoFuture<'_, Connection> {
        let sealed = match self.seal(&conn.name, &key) {
            Ok(s) => s,
            Err(e) => return ready(Err(e)),
        };
        let mut g = self.inner.lock();
        if g.connections.contains_key(&conn.name) {
            return ready(Err(RepoError::Conflict(conn.name)));
        }
        g.connections
            .insert(conn.name.clone(), (conn.clone(), sealed));
        ready(Ok(conn))
    }

    fn replace_key<'a>(
        &'a self,
        name: &'a str,
        key_id: Option<String>,
        thumbprint: String,
        at: DateTime<Utc>,
        key: PrivateKeySecret,
    ) -> RepoFuture<'a, Connection> {
        let sealed = match self.seal(name, &key) {
            Ok(s) => s,
            Err(e) => return ready(Err(e)),
        };
        let mut g = self.inner.lock();
        let Some((conn, stored)) = g.connections.get_mut(name) else {
            return ready(Err(RepoError::NotFound));
        };
        conn.key_id = key_id;
        conn.key_thumbprint = thumbprint;
        conn.key_created = at;
        *stored = sealed;
        ready(Ok(conn.clone()))
    }

    fn private_key<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<PrivateKeySecret>> {
        let sealed = self
            .inner
            .lock()
            .connections
            .get(name)
            .map(|(_, k)| k.clone());
        ready(match sealed {
            None => Ok(None),
            Some(s) => self.open(name, &s).map(Some),
        })
    }

    fn delete_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, bool> {
        ready(Ok(self.inner.lock().connections.remove(name).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okta_client::DpopMode;

    #[tokio::test]
    async fn keys_round_trip_encrypted() {
        let r = MemoryRepos::new().expect("repos");
        let now = Utc::now();
        let conn = Connection {
            name: "okta".into(),
            domain: "acme.okta.com".into(),
            client_id: "0oa1".into(),
            key_id: Some("k".into()),
            dpop: DpopMode::Auto,
            key_thumbprint: "t".into(),
            created: now,
            key_created: now,
        };
        let key = PrivateKeySecret::new(Secret::new("{\"d\":\"top-secret\"}"));
        r.save_connection(conn.clone(), key).await.expect("save");
        let sealed = r.inner.lock().connections["okta"].1.clone();
        assert!(!String::from_utf8_lossy(&sealed).contains("top-secret"));
        let back = r.private_key("okta").await.expect("read").expect("some");
        assert_eq!(back.expose(), "{\"d\":\"top-secret\"}");
        assert!(matches!(
            r.save_connection(conn, back).await,
            Err(RepoError::Conflict(_))
        ));
        assert!(r.delete_connection("okta").await.expect("delete"));
        assert!(r.private_key("okta").await.expect("read").is_none());
    }
}
