//! The persistence seam: what the web app stores, as small object-safe async traits.
//!
//! [`crate::memory::MemoryRepos`] implements them for tests and the demo; the sqlx store
//! implements them later. The futures are boxed (`RepoFuture`) so that the traits work
//! behind `Arc<dyn …>` without the `async-trait` crate.
//!
//! Secrets never come back out of a repository by accident: session ids and API tokens are
//! stored as SHA-256 hashes, passwords as argon2id hashes, and a connection's private key
//! is only returned by [`ConnectionRepo::private_key`], which the doctor and sync use.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use okta_client::DpopMode;
use serde::Serialize;

use crate::secret::{PasswordHashString, Secret};

/// What every repository method returns.
pub type RepoFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RepoError>> + Send + 'a>>;

/// A storage failure. The web maps `NotFound` to 404, `Conflict` to 409 and `Backend` to 500
/// (whose cause goes to the log only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// The object does not exist.
    #[error("not found")]
    NotFound,
    /// A unique name is taken.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database (or the key encryption) failed.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What an account (or an API token) may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read, and approve access requests.
    Approver,
    /// Everything, including settings, connections, accounts and tokens.
    Admin,
}

impl Role {
    /// `viewer`, `approver`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// Whether this role includes `needed` (admin ⊇ approver ⊇ viewer).
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "approver" => Ok(Role::Approver),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role \"{}\": use admin, approver or viewer",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// An account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AccountId(pub i64);

/// A person who signs in.
#[derive(Clone, Debug)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Unique, compared case-insensitively (stored lowercase).
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: PasswordHashString,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// A disabled account can't sign in and its sessions and tokens stop working.
    pub disabled: bool,
}

/// A new account (the repository assigns the id).
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Lowercase user name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: PasswordHashString,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// Accounts.
pub trait AccountRepo: Send + Sync {
    /// Creates an account; `Conflict` when the user name is taken.
    fn create_account(&self, new: NewAccount) -> RepoFuture<'_, Account>;
    /// The account with this id.
    fn find_account(&self, id: AccountId) -> RepoFuture<'_, Option<Account>>;
    /// The account with this (lowercase) user name.
    fn find_account_by_username<'a>(&'a self, username: &'a str)
    -> RepoFuture<'a, Option<Account>>;
    /// How many accounts exist (first run: zero).
    fn count_accounts(&self) -> RepoFuture<'_, u64>;
    /// Every account, by user name.
    fn list_accounts(&self) -> RepoFuture<'_, Vec<Account>>;
    /// Applies `change` to account `id`: `NotFound` when there is none, and `Conflict` when
    /// the change would leave no enabled admin (checked atomically with the change).
    fn update_account(&self, id: AccountId, change: AccountChange) -> RepoFuture<'_, ()>;
}

/// A change to an account.
#[derive(Clone)]
pub enum AccountChange {
    /// A new role.
    Role(Role),
    /// Disabled (`true`, as of `at`) or enabled again.
    Disabled {
        /// Disabled or not.
        disabled: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// A new password (argon2id PHC string).
    Password(PasswordHashString),
}

impl fmt::Debug for AccountChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountChange::Role(r) => f.debug_tuple("Role").field(r).finish(),
            AccountChange::Disabled { disabled, at } => f
                .debug_struct("Disabled")
                .field("disabled", disabled)
                .field("at", at)
                .finish(),
            AccountChange::Password(_) => f.write_str("Password(<redacted>)"),
        }
    }
}

/// The refusal of a change that would leave no enabled admin.
pub const LAST_ADMIN: &str =
    "the last enabled admin can't be demoted or disabled: make another account admin first";

/// A signed-in browser. The cookie holds the random id; only its SHA-256 is stored.
#[derive(Clone, Debug)]
pub struct Session {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    /// Who.
    pub account: AccountId,
    /// The per-session CSRF token embedded in forms (random 256-bit).
    pub csrf: Secret,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Expiry (sliding: moved forward on use).
    pub expires: DateTime<Utc>,
    /// Last request.
    pub last_seen: DateTime<Utc>,
}

/// Sessions.
pub trait SessionRepo: Send + Sync {
    /// Stores a new session.
    fn create_session(&self, session: Session) -> RepoFuture<'_, ()>;
    /// The session with this id hash (expired ones included; the caller checks).
    fn find_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, Option<Session>>;
    /// Records use: new `last_seen` and `expires`.
    fn touch_session<'a>(
        &'a self,
        id_hash: &'a str,
        last_seen: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> RepoFuture<'a, ()>;
    /// Deletes one session (logout).
    fn delete_session<'a>(&'a self, id_hash: &'a str) -> RepoFuture<'a, ()>;
    /// Deletes every session of `account` (signed out everywhere).
    fn delete_account_sessions(&self, account: AccountId) -> RepoFuture<'_, ()>;
}

/// An API token id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TokenId(pub i64);

/// An API token (`stw_…`), shown once at creation; only its SHA-256 is stored.
#[derive(Clone, Debug, Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: TokenId,
    /// What it is for (e.g. "terraform").
    pub name: String,
    /// Role; requests with it act with this role.
    pub role: Role,
    /// Hex SHA-256 of the token.
    #[serde(skip)]
    pub hash: String,
    /// The admin who created it.
    pub created_by: AccountId,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last request made with it.
    pub last_used: Option<DateTime<Utc>>,
}

/// API tokens.
pub trait ApiTokenRepo: Send + Sync {
    /// Stores a token (the `id` given is ignored; the stored one is returned).
    fn create_token(&self, token: ApiToken) -> RepoFuture<'_, ApiToken>;
    /// The token with this hash.
    fn find_token_by_hash<'a>(&'a self, hash: &'a str) -> RepoFuture<'a, Option<ApiToken>>;
    /// Records use.
    fn touch_token(&self, id: TokenId, at: DateTime<Utc>) -> RepoFuture<'_, ()>;
    /// The token with this id.
    fn find_token(&self, id: TokenId) -> RepoFuture<'_, Option<ApiToken>>;
    /// Every token, oldest first.
    fn list_tokens(&self) -> RepoFuture<'_, Vec<ApiToken>>;
    /// Deletes a token: requests with it fail from now on. `false` if there was none.
    fn revoke_token(&self, id: TokenId) -> RepoFuture<'_, bool>;
}

/// One audit record: who did what to what, when.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// `user:<name>`, `token:<name>` or `system`.
    pub actor: String,
    /// Dotted verb, e.g. `connection.create`, `session.login_failed`.
    pub action: String,
    /// The object, e.g. the connection name.
    pub target: String,
    /// Free text; never secrets.
    pub detail: String,
}

/// The audit trail (append-only).
pub trait AuditRepo: Send + Sync {
    /// Appends a record.
    fn append_audit(&self, event: AuditEvent) -> RepoFuture<'_, ()>;
    /// The newest `limit` records, newest first.
    fn list_audit(&self, limit: usize) -> RepoFuture<'_, Vec<AuditEvent>>;
}

/// An Okta connection as the web shows it. Holds no key material.
#[derive(Clone, Debug, Serialize)]
pub struct Connection {
    /// Unique name (e.g. `okta`).
    pub name: String,
    /// The org domain as parsed (`company.okta.com`, or `127.0.0.1:PORT` for the simulator).
    pub domain: String,
    /// The API Services app's Client ID.
    pub client_id: String,
    /// The `kid` sent in client assertions.
    pub key_id: Option<String>,
    /// The DPoP setting.
    #[serde(serialize_with = "ser_dpop")]
    pub dpop: DpopMode,
    /// RFC 7638 thumbprint of the public key.
    pub key_thumbprint: String,
    /// When the connection was created.
    pub created: DateTime<Utc>,
    /// When the current key was set (creation or last rotation).
    pub key_created: DateTime<Utc>,
}

fn ser_dpop<S: serde::Serializer>(d: &DpopMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}

/// A connection's private key (the JWK text). Redacted `Debug`; the repository encrypts it
/// at rest.
#[derive(Clone)]
pub struct PrivateKeySecret(Secret);

impl PrivateKeySecret {
    /// Wraps the key text (JWK or PEM).
    pub fn new(text: Secret) -> Self {
        PrivateKeySecret(text)
    }

    /// The key text. Only for the doctor and sync (and the repository's encryption).
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for PrivateKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeySecret(<redacted>)")
    }
}

/// Okta connections.
pub trait ConnectionRepo: Send + Sync {
    /// All connections, by name.
    fn list_connections(&self) -> RepoFuture<'_, Vec<Connection>>;
    /// One connection.
    fn find_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<Connection>>;
    /// Creates a connection with its key (encrypted at rest); `Conflict` if the name is taken.
    fn save_connection(
        &self,
        conn: Connection,
        key: PrivateKeySecret,
    ) -> RepoFuture<'_, Connection>;
    /// Replaces the key (rotation): the old key is deleted. `NotFound` if no such connection.
    fn replace_key<'a>(
        &'a self,
        name: &'a str,
        key_id: Option<String>,
        thumbprint: String,
        at: DateTime<Utc>,
        key: PrivateKeySecret,
    ) -> RepoFuture<'a, Connection>;
    /// The decrypted private key: the one explicit accessor, for the doctor and sync.
    fn private_key<'a>(&'a self, name: &'a str) -> RepoFuture<'a, Option<PrivateKeySecret>>;
    /// Deletes the connection and its key; `false` if there was none.
    fn delete_connection<'a>(&'a self, name: &'a str) -> RepoFuture<'a, bool>;
}

/// Every repository the web needs, each behind an `Arc<dyn …>`.
#[derive(Clone)]
pub struct Repos {
    /// Accounts.
    pub accounts: Arc<dyn AccountRepo>,
    /// Sessions.
    pub sessions: Arc<dyn SessionRepo>,
    /// API tokens.
    pub tokens: Arc<dyn ApiTokenRepo>,
    /// Audit trail.
    pub audit: Arc<dyn AuditRepo>,
    /// Okta connections.
    pub connections: Arc<dyn ConnectionRepo>,
}

impl Repos {
    /// One object implementing every trait (e.g. [`crate::memory::MemoryRepos`]).
    pub fn from_one<R>(r: Arc<R>) -> Self
    where
        R: AccountRepo + SessionRepo + ApiTokenRepo + AuditRepo + ConnectionRepo + 'static,
    {
        Repos {
            accounts: r.clone(),
            sessions: r.clone(),
            tokens: r.clone(),
            audit: r.clone(),
            connections: r,
        }
    }

    /// In-memory repositories (tests, demo).
    pub fn memory() -> Result<Self, RepoError> {
        Ok(Self::from_one(Arc::new(crate::memory::MemoryRepos::new()?)))
    }
}

impl fmt::Debug for Repos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Repos")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let key = PrivateKeySecret::new(Secret::new("{\"d\":\"private-bits\"}"));
        assert!(!format!("{key:?}").contains("private-bits"));
        let now = Utc::now();
        let s = Session {
            id_hash: "h".into(),
            account: AccountId(1),
            csrf: Secret::new("csrf-value-123"),
            created: now,
            expires: now,
            last_seen: now,
        };
        assert!(!format!("{s:?}").contains("csrf-value-123"));
        assert!(Role::Admin.allows(Role::Approver) && !Role::Viewer.allows(Role::Approver));
        assert_eq!("Approver".parse::<Role>(), Ok(Role::Approver));
    }
}
