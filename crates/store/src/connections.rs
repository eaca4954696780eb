//! Workspaces (tenants) and their Okta connections.
//!
//! A connection's private key is stored only sealed (AES-256-GCM, see [`MasterKey`]); the
//! associated data is the workspace id, connection id, domain and client id, so a sealed key
//! copied onto another row does not open. Domain and client id are therefore fixed for the
//! life of a connection. [`Connection`] carries no key material; the only way to read the key
//! back is [`Store::connection_private_key`].
//!
//! Every change takes the [`NewAuditEvent`] that records it and appends it in the change's
//! own write transaction (see [`crate::audit`]); the event must belong to the workspace of
//! the connection it changes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;
use steward_inventory::{ConnectionId, StoreError};
use zeroize::Zeroizing;

use crate::audit::{AuditTx, NewAuditEvent};
use crate::connection_transport::ConnectionTransport;
use crate::db::{BeginWrite, RowExt, Store, db_err, on_pool};
use crate::secret::MasterKey;
use crate::time::{from_ms, ms};

/// Database id of a workspace.
pub type WorkspaceId = i64;

/// A tenant: the unit that owns connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Workspace {
    /// Id.
    pub id: WorkspaceId,
    /// Unique name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// What [`Store::create_connection`] needs. `Debug` omits the private key.
pub struct NewConnection {
    /// Name, unique within the workspace.
    pub name: String,
    /// Okta org domain (`acme.okta.com`).
    pub domain: String,
    /// OAuth client id of the service app.
    pub client_id: String,
    /// `kid` of the key registered with the app, if any.
    pub key_id: Option<String>,
    /// DPoP mode: `auto`, `on` or `off`.
    pub dpop_mode: String,
    /// The private key: PEM (PKCS#8, PKCS#1 or SEC1) or a private JWK as JSON.
    pub private_key_pem: Zeroizing<String>,
    /// How to reach the org (extra CA certificate, plain http on loopback).
    pub transport: ConnectionTransport,
    /// Initial status (e.g. [`NEW_CONNECTION_STATUS`], or `ok` after a passing doctor).
    pub status: String,
}

impl fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewConnection")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("dpop_mode", &self.dpop_mode)
            .field("private_key_pem", &"<hidden>")
            .field("transport", &self.transport)
            .field("status", &self.status)
            .finish()
    }
}

/// A stored connection, without its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Id (the `conn` of every inventory call).
    pub id: ConnectionId,
    /// Owning workspace.
    pub workspace_id: WorkspaceId,
    /// Name, unique within the workspace.
    pub name: String,
    /// Okta org domain.
    pub domain: String,
    /// OAuth client id.
    pub client_id: String,
    /// `kid` of the key.
    pub key_id: Option<String>,
    /// `auto`, `on` or `off`.
    pub dpop_mode: String,
    /// Free-form status set by the caller (`new` at creation; e.g. `ok`, `failing`).
    pub status: String,
    /// RFC 7638 thumbprint of the public key, to match it with the key registered in Okta.
    pub key_thumbprint: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Status of a connection just created and not yet tested.
pub const NEW_CONNECTION_STATUS: &str = "new";

/// Failures of the workspace and connection API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The database failed, or the workspace / connection does not exist
    /// ([`StoreError::NotFound`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A workspace or connection with this name already exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The private key could not be parsed (the reason never quotes the key).
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// The stored key does not open: wrong master key, or the row was altered.
    #[error("cannot decrypt the private key of connection {0}: wrong master key or altered row")]
    Decrypt(ConnectionId),
    /// Sealing failed (should not happen).
    #[error("cannot encrypt the private key")]
    Encrypt,
}

/// The associated data sealing a connection's key: every field length-prefixed, so no two
/// different rows give the same bytes.
fn key_aad(workspace: WorkspaceId, id: ConnectionId, domain: &str, client_id: &str) -> Vec<u8> {
    let mut aad = b"steward/okta-connection-key/v1".to_vec();
    for field in [
        workspace.to_string().as_bytes(),
        id.to_string().as_bytes(),
        domain.as_bytes(),
        client_id.as_bytes(),
    ] {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field);
    }
    aad
}

/// The public key's thumbprint; also checks that the text is a usable private key.
fn thumbprint(private_key: &str) -> Result<String, AccountError> {
    let trimmed = private_key.trim_start();
    let key = if trimmed.starts_with('{') {
        // (A parsed JSON value cannot be zeroized; it lives only for this call.)
        let json: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|_| AccountError::InvalidPrivateKey("not a PEM key or JSON JWK".into()))?;
        steward_jose::PrivateKey::from_jwk(&json)
    } else {
        steward_jose::PrivateKey::from_pem(private_key)
    };
    key.map(|k| k.thumbprint())
        .map_err(|e| AccountError::InvalidPrivateKey(e.to_string()))
}

/// Refuses an event meant for another workspace's chain than the change's.
pub(crate) fn same_workspace(
    audit: &NewAuditEvent,
    workspace: WorkspaceId,
) -> Result<(), StoreError> {
    if audit.workspace == workspace {
        return Ok(());
    }
    Err(StoreError::Database(format!(
        "audit event for workspace {} on a change in workspace {workspace}",
        audit.workspace
    )))
}

/// After an `UPDATE … RETURNING workspace_id` of connection `id`: not found, or the event's
/// workspace is not the connection's.
pub(crate) fn changed_in(
    id: ConnectionId,
    workspace: Option<WorkspaceId>,
    audit: &NewAuditEvent,
) -> Result<(), StoreError> {
    match workspace {
        None => Err(StoreError::NotFound(format!("connection {id}"))),
        Some(ws) => same_workspace(audit, ws),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

const CONNECTION_COLUMNS: &str = "id, workspace_id, name, domain, client_id, key_id, dpop_mode, \
     status, key_thumbprint, created_at, updated_at";

fn connection_from_row(r: &impl RowExt) -> Result<Connection, StoreError> {
    Ok(Connection {
        id: r.int("id")?,
        workspace_id: r.int("workspace_id")?,
        name: r.text("name")?,
        domain: r.text("domain")?,
        client_id: r.text("client_id")?,
        key_id: r.opt_text("key_id")?,
        dpop_mode: r.text("dpop_mode")?,
        status: r.text("status")?,
        key_thumbprint: r.opt_text("key_thumbprint")?,
        created_at: from_ms(r.int("created_at")?)?,
        updated_at: from_ms(r.int("updated_at")?)?,
    })
}

fn workspace_from_row(r: &impl RowExt) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        id: r.int("id")?,
        name: r.text("name")?,
        created_at: from_ms(r.int("created_at")?)?,
    })
}

/// Tables holding a connection's inventory and sync state, deleted with it.
const CONNECTION_TABLES: &[&str] = &[
    "memberships",
    "app_users",
    "app_groups",
    "app_usage",
    "sso_events",
    "users",
    "groups",
    "apps",
    "sync_checkpoints",
    "sync_runs",
];

impl Store {
    /// Creates a workspace.
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace, AccountError> {
        let now = ms(self.now());
        let result = on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) \
                 RETURNING id, name, created_at",
            )
            .bind(name)
            .bind(now)
            .fetch_one(p)
            .await
            .map(|r| workspace_from_row(&r))
        });
        match result {
            Ok(w) => Ok(w?),
            Err(e) if is_unique_violation(&e) => {
                Err(AccountError::AlreadyExists(format!("workspace {name:?}")))
            }
            Err(e) => Err(db_err(e).into()),
        }
    }

    /// The workspace named `name`, if any.
    pub async fn find_workspace_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Workspace>, StoreError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT id, name, created_at FROM workspaces WHERE name = $1")
                .bind(name)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            row.map(|r| workspace_from_row(&r)).transpose()
        })
    }

    /// The workspace named `name`, created if missing.
    pub async fn ensure_workspace(&self, name: &str) -> Result<Workspace, AccountError> {
        if let Some(w) = self.find_workspace_by_name(name).await? {
            return Ok(w);
        }
        match self.create_workspace(name).await {
            // Created concurrently since the lookup.
            Err(AccountError::AlreadyExists(_)) => self
                .find_workspace_by_name(name)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("workspace {name:?}")).into()),
            other => other,
        }
    }

    /// Every workspace, by name.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT id, name, created_at FROM workspaces ORDER BY name")
                .fetch_all(p)
                .await
                .map_err(db_err)?;
            rows.iter().map(workspace_from_row).collect()
        })
    }

    /// Stores a new connection in `workspace` with its transport settings and initial
    /// status, its private key sealed under `master` (key date: now), and records `audit`
    /// with it, in one transaction. The key is parsed first (its thumbprint is stored), so
    /// a connection never holds a key that cannot sign. The event's `target.id` is set to
    /// the new connection's id.
    pub async fn create_connection(
        &self,
        workspace: WorkspaceId,
        new: &NewConnection,
        master: &MasterKey,
        audit: &NewAuditEvent,
    ) -> Result<Connection, AccountError> {
        let key = self.audit_key()?;
        same_workspace(audit, workspace)?;
        let thumbprint = thumbprint(&new.private_key_pem)?;
        let now = ms(self.now());
        let sql = format!(
            "INSERT INTO okta_connections (workspace_id, name, domain, client_id, key_id, \
             dpop_mode, status, private_key_ciphertext, private_key_nonce, key_thumbprint, \
             created_at, updated_at, key_created_at, ca_cert_pem, allow_insecure_loopback) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $10, $10, $11, $12) \
             RETURNING {CONNECTION_COLUMNS}"
        );
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let exists = sqlx::query("SELECT 1 FROM workspaces WHERE id = $1")
                .bind(workspace)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if exists.is_none() {
                tx.rollback().await.map_err(db_err)?;
                return Err(StoreError::NotFound(format!("workspace {workspace}")).into());
            }
            // Inserted with an empty key first: the AAD needs the row id.
            let inserted = sqlx::query(&sql)
                .bind(workspace)
                .bind(&new.name)
                .bind(&new.domain)
                .bind(&new.client_id)
                .bind(new.key_id.as_deref())
                .bind(&new.dpop_mode)
                .bind(&new.status)
                .bind(Vec::<u8>::new())
                .bind(&thumbprint)
                .bind(now)
                .bind(new.transport.ca_cert_pem.as_deref())
                .bind(new.transport.allow_insecure_loopback)
                .fetch_one(&mut *tx)
                .await;
            let connection = match inserted {
                Ok(row) => connection_from_row(&row)?,
                Err(e) => {
                    // Rolled back here rather than on drop: a dropped transaction is rolled
                    // back only when its connection is next used, keeping its locks meanwhile.
                    tx.rollback().await.map_err(db_err)?;
                    if is_unique_violation(&e) {
                        return Err(AccountError::AlreadyExists(format!("connection {:?}", new.name)));
                    }
                    return Err(db_err(e).into());
                }
            };
            let aad = key_aad(workspace, connection.id, &new.domain, &new.client_id);
            let (sealed, nonce) = master
                .seal(&aad, new.private_key_pem.as_bytes())
                .map_err(|_| AccountError::Encrypt)?;
            sqlx::query(
                "UPDATE okta_connections SET private_key_ciphertext = $2, private_key_nonce = $3 \
                 WHERE id = $1",
            )
            .bind(connection.id)
            .bind(sealed)
            .bind(nonce)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut audit = audit.clone();
            audit.target.id = connection.id.to_string();
            tx.commit_audited(&key, &audit).await?;
            tracing::info!(
                connection = connection.id,
                workspace,
                name = %connection.name,
                "stored a new Okta connection"
            );
            Ok(connection)
        })
    }

    /// The connection with this id, if any.
    pub async fn find_connection(
        &self,
        id: ConnectionId,
    ) -> Result<Option<Connection>, StoreError> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM okta_connections WHERE id = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| connection_from_row(&r)).transpose()
        })
    }

    /// The connection named `name` in `workspace`, if any.
    pub async fn find_connection_by_name(
        &self,
        workspace: WorkspaceId,
        name: &str,
    ) -> Result<Option<Connection>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM okta_connections \
             WHERE workspace_id = $1 AND name = $2"
        );
        on_pool!(self, p => {
            let row = sqlx::query(&sql)
                .bind(workspace)
                .bind(name)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            row.map(|r| connection_from_row(&r)).transpose()
        })
    }

    /// The connections of `workspace`, by name.
    pub async fn list_connections(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<Connection>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM okta_connections WHERE workspace_id = $1 \
             ORDER BY name"
        );
        on_pool!(self, p => {
            let rows = sqlx::query(&sql)
                .bind(workspace)
                .fetch_all(p)
                .await
                .map_err(db_err)?;
            rows.iter().map(connection_from_row).collect()
        })
    }

    /// The private key of connection `id`, decrypted with `master`. The one accessor of key
    /// material; keep the result no longer than needed (it is zeroized on drop).
    pub async fn connection_private_key(
        &self,
        id: ConnectionId,
        master: &MasterKey,
    ) -> Result<Zeroizing<String>, AccountError> {
        let row = on_pool!(self, p => {
            let row = sqlx::query(
                "SELECT workspace_id, domain, client_id, private_key_ciphertext, \
                 private_key_nonce FROM okta_connections WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(db_err)?;
            match row {
                Some(r) => Some((
                    r.int("workspace_id")?,
                    r.text("domain")?,
                    r.text("client_id")?,
                    r.bytes("private_key_ciphertext")?,
                    r.bytes("private_key_nonce")?,
                )),
                None => None,
            }
        });
        let (workspace, domain, client_id, sealed, nonce) =
            row.ok_or_else(|| StoreError::NotFound(format!("connection {id}")))?;
        let aad = key_aad(workspace, id, &domain, &client_id);
        let mut plain = master
            .open(&aad, &nonce, &sealed)
            .map_err(|_| AccountError::Decrypt(id))?;
        let text = String::from_utf8(std::mem::take(&mut *plain)).map_err(|e| {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            AccountError::Decrypt(id)
        })?;
        Ok(Zeroizing::new(text))
    }

    /// Replaces a connection's private key (rotation): seals `private_key_pem` under
    /// `master`, stores its thumbprint, the new `key_id` and the key date (now), and records
    /// `audit`, in one transaction.
    pub async fn replace_connection_key(
        &self,
        id: ConnectionId,
        private_key_pem: &Zeroizing<String>,
        key_id: Option<&str>,
        master: &MasterKey,
        audit: &NewAuditEvent,
    ) -> Result<Connection, AccountError> {
        let key = self.audit_key()?;
        let thumbprint = thumbprint(private_key_pem)?;
        let now = ms(self.now());
        let select = format!("SELECT {CONNECTION_COLUMNS} FROM okta_connections WHERE id = $1");
        let update = format!(
            "UPDATE okta_connections SET private_key_ciphertext = $2, private_key_nonce = $3, \
             key_thumbprint = $4, key_id = $5, updated_at = $6, key_created_at = $6 \
             WHERE id = $1 RETURNING {CONNECTION_COLUMNS}"
        );
        let updated = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            // Read in the write transaction: the sealed key's AAD binds the domain and
            // client id, which must not change between the read and the write.
            let row = sqlx::query(&select)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            let Some(connection) = row.map(|r| connection_from_row(&r)).transpose()? else {
                tx.rollback().await.map_err(db_err)?;
                return Err(StoreError::NotFound(format!("connection {id}")).into());
            };
            if let Err(e) = same_workspace(audit, connection.workspace_id) {
                tx.rollback().await.map_err(db_err)?;
                return Err(e.into());
            }
            let aad = key_aad(
                connection.workspace_id,
                id,
                &connection.domain,
                &connection.client_id,
            );
            let (sealed, nonce) = master
                .seal(&aad, private_key_pem.as_bytes())
                .map_err(|_| AccountError::Encrypt)?;
            let row = sqlx::query(&update)
                .bind(id)
                .bind(sealed)
                .bind(nonce)
                .bind(&thumbprint)
                .bind(key_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            let updated = connection_from_row(&row)?;
            tx.commit_audited(&key, audit).await?;
            updated
        });
        tracing::info!(
            connection = id,
            "replaced the private key of an Okta connection"
        );
        Ok(updated)
    }

    /// Sets a connection's status and records `audit` with it.
    pub async fn update_connection_status(
        &self,
        id: ConnectionId,
        status: &str,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let key = self.audit_key()?;
        let now = ms(self.now());
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row = sqlx::query(
                "UPDATE okta_connections SET status = $2, updated_at = $3 WHERE id = $1 \
                 RETURNING workspace_id",
            )
            .bind(id)
            .bind(status)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            if let Err(e) = changed_in(id, row.as_ref().map(|r| r.int("workspace_id")).transpose()?, audit) {
                tx.rollback().await.map_err(db_err)?;
                return Err(e);
            }
            tx.commit_audited(&key, audit).await?;
            Ok(())
        })
    }

    /// Deletes a connection, its sealed key, and all its inventory, usage and sync state,
    /// and records `audit`, in one transaction.
    pub async fn delete_connection(
        &self,
        id: ConnectionId,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let key = self.audit_key()?;
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM okta_connections WHERE id = $1 RETURNING workspace_id")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            let workspace = deleted.map(|r| r.int("workspace_id")).transpose()?;
            if let Err(e) = changed_in(id, workspace, audit) {
                tx.rollback().await.map_err(db_err)?;
                return Err(e);
            }
            for table in CONNECTION_TABLES {
                sqlx::query(&format!("DELETE FROM {table} WHERE connection_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit_audited(&key, audit).await?;
            tracing::info!(connection = id, "deleted an Okta connection and its inventory");
            Ok(())
        })
    }

    /// Runs one statement and returns the rows it changed. For tests that must alter rows
    /// by hand (tampering checks); not part of the API.
    #[doc(hidden)]
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()).map_err(db_err)
        })
    }

    /// The first column of the first row of `sql` with `$1` bound to `bind`, as an integer.
    /// For tests; not part of the API.
    #[doc(hidden)]
    pub async fn raw_scalar(&self, sql: &str, bind: i64) -> Result<i64, StoreError> {
        on_pool!(self, p => {
            let row = sqlx::query(sql).bind(bind).fetch_one(p).await.map_err(db_err)?;
            row.try_get::<i64, _>(0).map_err(db_err)
        })
    }
}
