//! The web app's accounts, sessions and API tokens.
//!
//! Only what a database dump may safely hold is stored: argon2id hashes of passwords and
//! hex SHA-256 of session ids and API tokens (hashing happens in the web crate; this module
//! never sees a bearer secret). A session's CSRF token is stored as is: forms must embed it,
//! and it is useless without the session cookie. `Debug` of every row type hides the hash
//! and the CSRF token.
//!
//! Every change takes the [`NewAuditEvent`] that records it and appends it in the change's
//! own write transaction (see [`crate::audit`]): a change that fails (a taken user name,
//! the last admin, an id that does not exist) writes no event, and a failed append undoes
//! the change. Bookkeeping (`touch_session`, `touch_api_token`, `delete_expired_sessions`)
//! is not audited.

use std::fmt;

use chrono::{DateTime, Utc};
use steward_inventory::StoreError;

use crate::audit::{AuditTx, NewAuditEvent};
use crate::connections::AccountError;
use crate::db::{Backend, BeginWrite, RowExt, Store, db_err, on_pool};
use crate::time::{from_ms, ms, opt_from_ms};

/// A change to an account ([`Store::update_account`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AccountUpdate<'a> {
    /// A new role (`admin`, `approver`, `viewer`).
    Role(&'a str),
    /// Disable as of this time: the account can't sign in; its sessions are deleted and its
    /// tokens stop.
    Disable(DateTime<Utc>),
    /// Enable again.
    Enable,
    /// A new argon2id PHC string; the account's sessions are deleted (signed out everywhere).
    PasswordHash(&'a str),
}

impl fmt::Debug for AccountUpdate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountUpdate::Role(r) => f.debug_tuple("Role").field(r).finish(),
            AccountUpdate::Disable(at) => f.debug_tuple("Disable").field(at).finish(),
            AccountUpdate::Enable => f.write_str("Enable"),
            AccountUpdate::PasswordHash(_) => f.write_str("PasswordHash(<redacted>)"),
        }
    }
}

/// What [`Store::update_account`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountUpdated {
    /// Changed.
    Done,
    /// No account with that id.
    NotFound,
    /// Refused: the account is the last enabled admin.
    LastAdmin,
}

/// An account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Lower-case user name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `admin`, `approver` or `viewer`.
    pub role: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was disabled, if it is.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A browser session as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    /// The account.
    pub account_id: i64,
    /// The session's CSRF token.
    pub csrf: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
}

impl fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRow")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An API token as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Role.
    pub role: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The account that created it.
    pub created_by: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for ApiTokenRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokenRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_COLUMNS: &str = "id, username, password_hash, role, created_at, disabled_at";
const SESSION_COLUMNS: &str = "id_hash, account_id, csrf, created_at, expires_at, last_seen_at";
const TOKEN_COLUMNS: &str = "id, name, role, token_hash, created_by, created_at, last_used_at";

fn account_from_row(r: &impl RowExt) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: r.int("id")?,
        username: r.text("username")?,
        password_hash: r.text("password_hash")?,
        role: r.text("role")?,
        created_at: from_ms(r.int("created_at")?)?,
        disabled_at: opt_from_ms(r.opt_int("disabled_at")?)?,
    })
}

fn session_from_row(r: &impl RowExt) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id_hash: r.text("id_hash")?,
        account_id: r.int("account_id")?,
        csrf: r.text("csrf")?,
        created_at: from_ms(r.int("created_at")?)?,
        expires_at: from_ms(r.int("expires_at")?)?,
        last_seen_at: from_ms(r.int("last_seen_at")?)?,
    })
}

fn token_from_row(r: &impl RowExt) -> Result<ApiTokenRow, StoreError> {
    Ok(ApiTokenRow {
        id: r.int("id")?,
        name: r.text("name")?,
        role: r.text("role")?,
        token_hash: r.text("token_hash")?,
        created_by: r.int("created_by")?,
        created_at: from_ms(r.int("created_at")?)?,
        last_used_at: opt_from_ms(r.opt_int("last_used_at")?)?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Creates an account and records `audit` with it; [`AccountError::AlreadyExists`] when
    /// the user name is taken. The event's `target.id` is set to the new account's id.
    pub async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        role: &str,
        created_at: DateTime<Utc>,
        audit: &NewAuditEvent,
    ) -> Result<AccountRow, AccountError> {
        let key = self.audit_key()?;
        let sql = format!(
            "INSERT INTO accounts (username, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {ACCOUNT_COLUMNS}"
        );
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let inserted = sqlx::query(&sql)
                .bind(username)
                .bind(password_hash)
                .bind(role)
                .bind(ms(created_at))
                .fetch_one(&mut *tx)
                .await;
            let account = match inserted {
                Ok(r) => account_from_row(&r)?,
                Err(e) => {
                    tx.rollback().await.map_err(db_err)?;
                    if is_unique_violation(&e) {
                        return Err(AccountError::AlreadyExists(format!("account {username:?}")));
                    }
                    return Err(db_err(e).into());
                }
            };
            let mut audit = audit.clone();
            audit.target.id = account.id.to_string();
            tx.commit_audited(&key, &audit).await?;
            Ok(account)
        })
    }

    /// The account with this id.
    pub async fn find_account(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| account_from_row(&r)).transpose()
        })
    }

    /// The account with this (lower-case) user name.
    pub async fn find_account_by_username(
        &self,
        username: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(username).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| account_from_row(&r)).transpose()
        })
    }

    /// How many accounts exist.
    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        on_pool!(self, p => {
            sqlx::query("SELECT COUNT(*) AS n FROM accounts")
                .fetch_one(p)
                .await
                .map_err(db_err)?
                .int("n")
        })
    }

    /// Every account, by user name.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY username");
        on_pool!(self, p => {
            let rows = sqlx::query(&sql).fetch_all(p).await.map_err(db_err)?;
            rows.iter().map(account_from_row).collect()
        })
    }

    /// Applies `change` to account `id` and records `audit` with it. `Disable` and
    /// `PasswordHash` also delete the account's sessions in the same transaction (a reset
    /// password or a disabled account is signed out everywhere).
    ///
    /// A change that would leave no enabled admin (demoting or disabling the last one) is
    /// refused ([`AccountUpdated::LastAdmin`], no event). The guard is race-free: the
    /// transaction first locks every enabled admin row (`FOR UPDATE` on PostgreSQL, where
    /// under READ COMMITTED two admins demoting each other at once would otherwise both see
    /// the other still admin and both succeed; SQLite's `BEGIN IMMEDIATE` already serializes
    /// writers), then updates with the guard in the statement.
    pub async fn update_account(
        &self,
        id: i64,
        change: AccountUpdate<'_>,
        audit: &NewAuditEvent,
    ) -> Result<AccountUpdated, StoreError> {
        // Both guards read "the account is not an admin, or another enabled admin exists".
        const SET_ROLE: &str = "UPDATE accounts SET role = $2 WHERE id = $1 \
             AND (role <> 'admin' OR $2 = 'admin' OR EXISTS (SELECT 1 FROM accounts o \
             WHERE o.role = 'admin' AND o.disabled_at IS NULL AND o.id <> $1))";
        const DISABLE: &str = "UPDATE accounts SET disabled_at = $2 WHERE id = $1 \
             AND (role <> 'admin' OR EXISTS (SELECT 1 FROM accounts o \
             WHERE o.role = 'admin' AND o.disabled_at IS NULL AND o.id <> $1))";
        const LOCK_ADMINS: &str =
            "SELECT id FROM accounts WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE";
        let key = self.audit_key()?;
        let guarded = matches!(change, AccountUpdate::Role(_) | AccountUpdate::Disable(_));
        let signs_out = matches!(
            change,
            AccountUpdate::Disable(_) | AccountUpdate::PasswordHash(_)
        );
        let postgres = self.backend() == Backend::Postgres;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if guarded && postgres {
                sqlx::query(LOCK_ADMINS).fetch_all(&mut *tx).await.map_err(db_err)?;
            }
            let q = match change {
                AccountUpdate::Role(role) => sqlx::query(SET_ROLE).bind(id).bind(role),
                AccountUpdate::Disable(at) => sqlx::query(DISABLE).bind(id).bind(ms(at)),
                AccountUpdate::Enable => {
                    sqlx::query("UPDATE accounts SET disabled_at = NULL WHERE id = $1").bind(id)
                }
                AccountUpdate::PasswordHash(hash) => {
                    sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                        .bind(id)
                        .bind(hash)
                }
            };
            let affected = q.execute(&mut *tx).await.map_err(db_err)?.rows_affected();
            if affected == 0 {
                let exists = sqlx::query("SELECT 1 FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .is_some();
                tx.rollback().await.map_err(db_err)?;
                return Ok(if exists {
                    AccountUpdated::LastAdmin
                } else {
                    AccountUpdated::NotFound
                });
            }
            if signs_out {
                sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit_audited(&key, audit).await?;
            Ok(AccountUpdated::Done)
        })
    }

    /// Stores a session (a sign-in) and records `audit` with it.
    pub async fn create_session(
        &self,
        s: &SessionRow,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let key = self.audit_key()?;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "INSERT INTO sessions (id_hash, account_id, csrf, created_at, expires_at, \
                 last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&s.id_hash)
            .bind(s.account_id)
            .bind(&s.csrf)
            .bind(ms(s.created_at))
            .bind(ms(s.expires_at))
            .bind(ms(s.last_seen_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit_audited(&key, audit).await?;
        });
        Ok(())
    }

    /// The session with this id hash (expired ones included).
    pub async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(id_hash).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| session_from_row(&r)).transpose()
        })
    }

    /// Records a session's use.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(ms(last_seen_at))
                .bind(ms(expires_at))
                .execute(p)
                .await
                .map_err(db_err)?;
        });
        Ok(())
    }

    /// Deletes a session (logout) and records `audit` with it; `false` (and no event) when
    /// there was no such session.
    pub async fn delete_session(
        &self,
        id_hash: &str,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let key = self.audit_key()?;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await.map_err(db_err)?;
                return Ok(false);
            }
            tx.commit_audited(&key, audit).await?;
            Ok(true)
        })
    }

    /// Deletes sessions that expired before `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            Ok(sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(ms(now))
                .execute(p)
                .await
                .map_err(db_err)?
                .rows_affected())
        })
    }

    /// Stores an API token (by its hash), records `audit` with it, and returns it with its
    /// id. The event's `target.id` is set to the new token's id.
    pub async fn create_api_token(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        created_by: i64,
        created_at: DateTime<Utc>,
        audit: &NewAuditEvent,
    ) -> Result<ApiTokenRow, AccountError> {
        let key = self.audit_key()?;
        let sql = format!(
            "INSERT INTO api_tokens (name, role, token_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
        );
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let inserted = sqlx::query(&sql)
                .bind(name)
                .bind(role)
                .bind(token_hash)
                .bind(created_by)
                .bind(ms(created_at))
                .fetch_one(&mut *tx)
                .await;
            let token = match inserted {
                Ok(r) => token_from_row(&r)?,
                Err(e) => {
                    tx.rollback().await.map_err(db_err)?;
                    if is_unique_violation(&e) {
                        return Err(AccountError::AlreadyExists("API token".into()));
                    }
                    return Err(db_err(e).into());
                }
            };
            let mut audit = audit.clone();
            audit.target.id = token.id.to_string();
            tx.commit_audited(&key, &audit).await?;
            Ok(token)
        })
    }

    /// The API token with this hash.
    pub async fn find_api_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(token_hash).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| token_from_row(&r)).transpose()
        })
    }

    /// The API token with this id.
    pub async fn find_api_token(&self, id: i64) -> Result<Option<ApiTokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| token_from_row(&r)).transpose()
        })
    }

    /// Every API token, oldest first.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        on_pool!(self, p => {
            let rows = sqlx::query(&sql).fetch_all(p).await.map_err(db_err)?;
            rows.iter().map(token_from_row).collect()
        })
    }

    /// Deletes (revokes) an API token and records `audit` with it; `false` (and no event)
    /// if there was none with this id.
    pub async fn delete_api_token(
        &self,
        id: i64,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let key = self.audit_key()?;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            if deleted == 0 {
                tx.rollback().await.map_err(db_err)?;
                return Ok(false);
            }
            tx.commit_audited(&key, audit).await?;
            Ok(true)
        })
    }

    /// Records an API token's use.
    pub async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(ms(at))
                .execute(p)
                .await
                .map_err(db_err)?;
        });
        Ok(())
    }
}
