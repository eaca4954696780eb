//! [`SqlRepos`]: the repository traits on steward-store (SQLite or PostgreSQL).
//!
//! The SQL lives in the store (`steward_store::accounts`, `audit`, `connections`); this
//! module only maps rows to the web's types. Connections are the store's `okta_connections`
//! of one workspace ([`WEB_WORKSPACE`]), their keys sealed under the [`MasterKey`].

use std::str::FromStr;

use chrono::{DateTime, Utc};
use okta_client::DpopMode;
use steward_store::accounts::{AccountRow, AccountUpdate, AccountUpdated, ApiTokenRow, SessionRow};
use steward_store::audit::AuditRow;
use steward_store::{AccountError, MasterKey, NewConnection, Store, StoreError, WorkspaceId};
use zeroize::Zeroizing;

use crate::repo::*;
use crate::secret::{PasswordHashString, Secret};

/// The workspace the web app keeps its connections in.
pub const WEB_WORKSPACE: &str = "default";

/// Every repository on one [`Store`].
#[derive(Clone)]
pub struct SqlRepos {
    store: Store,
    master: MasterKey,
    workspace: WorkspaceId,
}

impl std::fmt::Debug for SqlRepos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlRepos")
            .field("store", &self.store)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> RepoError {
    RepoError::Backend(Box::new(e))
}

fn from_account_error(e: AccountError) -> RepoError {
    match e {
        AccountError::AlreadyExists(what) => RepoError::Conflict(what),
        AccountError::Store(StoreError::NotFound(_)) => RepoError::NotFound,
        other => backend(other),
    }
}

fn corrupt(what: String) -> RepoError {
    backend(StoreError::Corrupt(what))
}

impl SqlRepos {
    /// Repositories on `store`, with connection keys sealed under `master`.
    pub async fn new(store: Store, master: MasterKey) -> Result<Self, RepoError> {
        let ws = store
            .ensure_workspace(WEB_WORKSPACE)
            .await
            .map_err(from_account_error)?;
        Ok(SqlRepos {
            store,
            master,
            workspace: ws.id,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The workspace id.
    pub fn workspace(&self) -> WorkspaceId {
        self.workspace
    }

    /// The store's id of connection `name`.
    pub async fn connection_id(&self, name: &str) -> Result<Option<i64>, RepoError> {
        let c = self
            .store
            .find_connection_by_name(self.workspace, name)
            .await
            .map_err(backend)?;
        Ok(c.map(|c| c.id))
    }

    async fn to_web(&self, c: steward_store::Connection) -> Result<Connection, RepoError> {
        let key_created = self
            .store
            .connection_key_created(c.id)
            .await
            .map_err(backend)?
            .unwrap_or(c.created_at);
        Ok(Connection {
            dpop: DpopMode::from_str(&c.dpop_mode)
                .map_err(|_| corrupt(format!("dpop mode {:?}", c.dpop_mode)))?,
            name: c.name,
            domain: c.domain,
            client_id: c.client_id,
            key_id: c.key_id,
            key_thumbprint: c.key_thumbprint.unwrap_or_default(),
            created: c.created_at,
            key_created,
        })
    }
}

fn account(a: AccountRow) -> Result<Account, RepoError> {
    Ok(Account {
        id: AccountId(a.id),
        role: a.role.parse().map_err(corrupt)?,
        username: a.username,
        password_hash: PasswordHashString::from_stored(a.password_hash),
        created: a.created_at,
        disabled: a.disabled_at.is_some(),
    })
}

fn token(t: ApiTokenRow) -> Result<ApiToken, RepoError> {
    Ok(ApiToken {
        id: TokenId(t.id),
        role: t.role.parse().map_err(corrupt)?,
        name: t.name,
        hash: t.token_hash,
        created_by: AccountId(t.created_by),
        created: t.created_at,
        last_used: t.last_used_at,
    })
}

impl AccountRepo for SqlRepos {
    fn create_account(&self, new: NewAccount) -> RepoFuture<'_, Account> {
        Box::pin(async move {
            let row = self
                .store
                .create_account(
                    &new.username,
                    new.password_hash.as_str(),
                    new.role.as_str(),
                    new.created,
                )
                .await
                .map_err(from_account_error)?;
            account(row)
        })
    }

    fn find_account(&self, id: AccountId) -> RepoFuture<'_, Option<Account>> {
        Box::pin(async move {
            let row = self.store.find_account(id.0).await.map_err(backend)?;
            row.map(account).transpose()
        })
    }

    fn find_account_by_username<'a>(
        &'a self,
        username: &'a str,
    ) -> RepoFuture<'a, Option<Account>> {
        Box::pin(async move {
            let row = self
                .store
                .find_account_by_username(username)
                .await
                .map_err(backend)?;
            row.map(account).transpose()
        })
    }

    fn count_accounts(&self) -> RepoFuture<'_, u64> {
        Box::pin(async move {
            let n = self.store.count_accounts().await.map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn list_accounts(&self) -> RepoFuture<'_, Vec<Account>> {
        Box::pin(async move {
            let rows = self.store.list_accounts().await.map_err(backend)?;
            rows.into_iter().map(account).collect()
        })
    }

    fn update_account(&self, id: AccountId, change: AccountChange) -> RepoFuture<'_, ()> {
        Box::pin(async move {
            let update = match &change {
                AccountChange::Role(r) => AccountUpdate::Role(r.as_str()),
                AccountChange::Disabled { disabled: true, at } => AccountUpdate::Disable(*at),
                AccountChange::Disabled {
                    disabled: false, ..
                } => AccountUpdate::Enable,
                AccountChange::Password(h) => AccountUpdate::PasswordHash(h.as_str()),
            };
            match self
                .store
                .update_account(id.0, update)
                .await
                .map_err(backend)?
            {
                AccountUpdated::Done => Ok(()),
                AccountUpdated::NotFound => Err(RepoError::NotFound),
                AccountUpdated::LastAdmin => Err(RepoError::Conflict(LAST_ADMIN.into())),
            }
        })
    }
}

impl SessionRepo for SqlRepos {
    fn create_session(&self, s: Session) -> RepoFuture<'_, ()> {
        Box::pin(async move {
            let row = SessionRow {
                id_hash: s.id_hash,
                account_id: s.account.0,
                csrf: s.csrf.expose().to_owned(),
                created_at: s.created,
                expires_at: s.expires,
                last_seen_at: s.last_seen,
            };
            self.store.create_session(&row).await.map_err(backend)
        })
    }

    fn find_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, Option<Session>> {
        Box::pin(async move {
            let row = self.store.find_session(id_hash).await.map_err(backend)?;
            Ok(row.map(|r| Session {
                csrf: Secret::new(r.csrf),
                id_hash: r.id_hash,
                account: AccountId(r.account_id),
                created: r.created_at,
                expires: r.expires_at,
                last_seen: r.last_seen_at,
            }))
        })
    }

    fn touch_session<'a>(
        &'a self,
        id_hash: &'a str,
        last_seen: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> RepoFuture<'a, ()> {
        Box::pin(async move {
            self.store
                .touch_session(id_hash, last_seen, expires)
                .await
                .map_err(backend)
        })
    }

    fn delete_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, ()> {
        Box::pin(async move { self.store.delete_session(id_hash).await.map_err(backend) })
    }

    fn delete_account_sessions(&self, account: AccountId) -> RepoFuture<'_, ()> {
        Box::pin(async move {
            self.store
                .delete_account_sessions(account.0)
                .await
                .map(drop)
                .map_err(backend)
        })
    }
}

impl ApiTokenRepo for SqlRepos {
    fn create_token(&self, t: ApiToken) -> RepoFuture<'_, ApiToken> {
        Box::pin(async move {
            let row = self
                .store
                .create_api_token(&t.name, t.role.as_str(), &t.hash, t.created_by.0, t.created)
                .await
                .map_err(from_account_error)?;
            token(row)
        })
    }

    fn find_token_by_hash<'a>(&'a self, hash: &'a str) -> RepoFuture<'a, Option<ApiToken>> {
        Box::pin(async move {
            let row = self
                .store
                .find_api_token_by_hash(hash)
                .await
                .map_err(backend)?;
            row.map(token).transpose()
        })
    }

    fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> RepoFuture<'_, ()> {
        Box::pin(async move { self.store.touch_api_token(id.0, at).await.map_err(backend) })
    }

    fn find_token(&self, id: TokenId) -> RepoFuture<'_, Option<ApiToken>> {
        Box::pin(async move {
            let row = self.store.find_api_token(id.0).await.map_err(backend)?;
            row.map(token).transpose()
        })
    }

    fn list_tokens(&self) -> RepoFuture<'_, Vec<ApiToken>> {
        Box::pin(async move {
            let rows = self.store.list_api_tokens().await.map_err(backend)?;
            rows.into_iter().map(token).collect()
        })
    }

    fn revoke_token(&self, id: TokenId) -> RepoFuture<'_, bool> {
        Box::pin(async move { self.store.delete_api_token(id.0).await.map_err(backend) })
    }
}

impl AuditRepo for SqlRepos {
    fn append_audit(&self, e: AuditEvent) -> RepoFuture<'_, ()> {
        Box::pin(async move {
            let row = AuditRow {
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
            };
            self.store.append_audit(&row).await.map_err(backend)
        })
    }

    fn list_audit(&self, limit: usize) -> RepoFuture<'_, Vec<AuditEvent>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self.store.list_audit(limit).await.map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|r| AuditEvent {
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    target: r.target,
                    detail: r.detail,
                })
                .collect())
        })
    }
}

impl ConnectionRepo for SqlRepos {
    fn list_connections(&self) -> RepoFuture<'_, Vec<Connection>> {
        Box::pin(async move {
            let rows = self
                .store
                .list_connections(self.workspace)
                .await
                .map_err(backend)?;
            let mut out = Vec::with_capacity(rows.len());
            for c in rows {
                out.push(self.to_web(c).await?);
            }
            Ok(out)
        })
    }

    fn find_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<Connection>> {
        Box::pin(async move {
            let row = self
                .store
                .find_connection_by_name(self.workspace, name)
                .await
                .map_err(backend)?;
            match row {
                Some(c) => Ok(Some(self.to_web(c).await?)),
                None => Ok(None),
            }
        })
    }

    fn save_connection(
        &self,
        conn: Connection,
        key: PrivateKeySecret,
    ) -> RepoFuture<'_, Connection> {
        Box::pin(async move {
            let new = NewConnection {
                name: conn.name.clone(),
                domain: conn.domain.clone(),
                client_id: conn.client_id.clone(),
                key_id: conn.key_id.clone(),
                dpop_mode: conn.dpop.as_str().to_owned(),
                private_key_pem: Zeroizing::new(key.expose().to_owned()),
            };
            let saved = self
                .store
                .create_connection(self.workspace, &new, &self.master)
                .await
                .map_err(from_account_error)?;
            self.store
                .set_connection_key_created(saved.id, conn.key_created)
                .await
                .map_err(backend)?;
            self.to_web(saved).await
        })
    }

    fn replace_key<'a>(
        &'a self,
        name: &'a str,
        key_id: Option<String>,
        _thumbprint: String,
        at: DateTime<Utc>,
        key: PrivateKeySecret,
    ) -> RepoFuture<'a, Connection> {
        Box::pin(async move {
            let id = self.connection_id(name).await?.ok_or(RepoError::NotFound)?;
            // The store computes the thumbprint from the key itself.
            let text = Zeroizing::new(key.expose().to_owned());
            let updated = self
                .store
                .replace_connection_key(id, &text, key_id.as_deref(), &self.master)
                .await
                .map_err(from_account_error)?;
            self.store
                .set_connection_key_created(id, at)
                .await
                .map_err(backend)?;
            self.to_web(updated).await
        })
    }

    fn private_key<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<PrivateKeySecret>> {
        Box::pin(async move {
            let Some(id) = self.connection_id(name).await? else {
                return Ok(None);
            };
            let text = self
                .store
                .connection_private_key(id, &self.master)
                .await
                .map_err(from_account_error)?;
            Ok(Some(PrivateKeySecret::new(Secret::from(text))))
        })
    }

    fn delete_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, bool> {
        Box::pin(async move {
            let Some(id) = self.connection_id(name).await? else {
                return Ok(false);
            };
            match self.store.delete_connection(id).await {
                Ok(()) => Ok(true),
                Err(StoreError::NotFound(_)) => Ok(false),
                Err(e) => Err(backend(e)),
            }
        })
    }
}
