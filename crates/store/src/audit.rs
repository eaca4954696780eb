//! The audit trail (append-only), sync leases, and the key date of a connection.

use chrono::{DateTime, Utc};
use steward_inventory::{ConnectionId, StoreError};

use crate::db::{RowExt, Store, db_err, on_pool};
use crate::time::{from_ms, ms, opt_from_ms};

/// One audit record. Never holds secrets (the web writes only names and figures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub at: DateTime<Utc>,
    /// `user:<name>`, `token:<name>` or `system`.
    pub actor: String,
    /// Dotted verb.
    pub action: String,
    /// The object.
    pub target: String,
    /// Free text.
    pub detail: String,
}

impl Store {
    /// Appends an audit record.
    pub async fn append_audit(&self, e: &AuditRow) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO audit_events (at, actor, action, target, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(ms(e.at))
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.detail)
            .execute(p)
            .await
            .map_err(db_err)?;
        });
        Ok(())
    }

    /// The newest `limit` audit records, newest first.
    pub async fn list_audit(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT at, actor, action, target, detail FROM audit_events \
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRow {
                        at: from_ms(r.int("at")?)?,
                        actor: r.text("actor")?,
                        action: r.text("action")?,
                        target: r.text("target")?,
                        detail: r.text("detail")?,
                    })
                })
                .collect()
        })
    }

    /// Records when connection `id`'s current key was set (creation or rotation).
    pub async fn set_connection_key_created(
        &self,
        id: ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE okta_connections SET key_created_at = $2 WHERE id = $1")
                .bind(id)
                .bind(ms(at))
                .execute(p)
                .await
                .map_err(db_err)?;
        });
        Ok(())
    }

    /// When connection `id`'s current key was set, if recorded.
    pub async fn connection_key_created(
        &self,
        id: ConnectionId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT key_created_at FROM okta_connections WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            match row {
                Some(r) => opt_from_ms(r.opt_int("key_created_at")?),
                None => Ok(None),
            }
        })
    }
}
