//! How to reach a connection's org besides its domain: an extra trusted CA certificate and
//! whether plain http on loopback is allowed. Kept apart from [`crate::Connection`] (columns
//! added by migration 0003) so that the connection type stays unchanged; a new connection
//! gets it in [`crate::NewConnection`], and `sync` reads it to build the same client the
//! doctor tested.

use serde::Serialize;
use sqlx::Row as _;
use steward_inventory::{ConnectionId, StoreError};

use crate::audit::{AuditTx, NewAuditEvent};
use crate::connections::changed_in;
use crate::db::{BeginWrite, RowExt, Store, db_err, on_pool};
use crate::time::ms;

/// Transport settings of a connection. Nothing here is secret (a CA certificate is public).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionTransport {
    /// Extra trusted CA certificate (PEM text), e.g. a TLS simulator's. `None`: the system's
    /// trusted roots only.
    pub ca_cert_pem: Option<String>,
    /// Accept `127.0.0.1:PORT` / `localhost:PORT` over plain http (simulator and tests only).
    pub allow_insecure_loopback: bool,
}

impl Store {
    /// Stores the transport settings of connection `id` and records `audit` with them.
    pub async fn set_connection_transport(
        &self,
        id: ConnectionId,
        transport: &ConnectionTransport,
        audit: &NewAuditEvent,
    ) -> Result<(), StoreError> {
        let key = self.audit_key()?;
        let now = ms(self.now());
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row = sqlx::query(
                "UPDATE okta_connections SET ca_cert_pem = $2, allow_insecure_loopback = $3, \
                 updated_at = $4 WHERE id = $1 RETURNING workspace_id",
            )
            .bind(id)
            .bind(transport.ca_cert_pem.as_deref())
            .bind(transport.allow_insecure_loopback)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            let workspace = row.map(|r| r.int("workspace_id")).transpose()?;
            if let Err(e) = changed_in(id, workspace, audit) {
                tx.rollback().await.map_err(db_err)?;
                return Err(e);
            }
            tx.commit_audited(&key, audit).await?;
            Ok(())
        })
    }

    /// The transport settings of connection `id` (defaults for a connection that never had
    /// any set).
    pub async fn connection_transport(
        &self,
        id: ConnectionId,
    ) -> Result<ConnectionTransport, StoreError> {
        on_pool!(self, p => {
            let row = sqlx::query(
                "SELECT ca_cert_pem, allow_insecure_loopback FROM okta_connections WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("connection {id}")))?;
            Ok(ConnectionTransport {
                ca_cert_pem: row.opt_text("ca_cert_pem")?,
                allow_insecure_loopback: row
                    .try_get::<bool, _>("allow_insecure_loopback")
                    .map_err(|e| StoreError::Corrupt(format!("column allow_insecure_loopback: {e}")))?,
            })
        })
    }
}
