//! Short lists for the UI: departments (the user filter) and sync runs (history).

use steward_inventory::{ConnectionId, StoreError, SyncRun};

use crate::db::{RowExt, Store, db_err, on_pool};
use crate::inventory::run_from_row;

impl Store {
    /// Departments of live users, sorted (for the user list's filter), at most 500.
    ///
    /// A skip scan of the partial index `users_live_department`: each step seeks the first
    /// department after the previous one, so the cost grows with the departments (tens), not
    /// with the users (a `SELECT DISTINCT` reads every index entry: ~200 ms at 100k users).
    pub async fn departments(&self, conn: ConnectionId) -> Result<Vec<String>, StoreError> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "WITH RECURSIVE d(department) AS ( \
                   SELECT MIN(department) FROM users WHERE connection_id = $1 \
                   AND removed_at IS NULL AND department IS NOT NULL \
                   UNION ALL \
                   SELECT (SELECT MIN(u.department) FROM users u WHERE u.connection_id = $1 \
                           AND u.removed_at IS NULL AND u.department IS NOT NULL \
                           AND u.department > d.department) \
                   FROM d WHERE d.department IS NOT NULL) \
                 SELECT department FROM d WHERE department IS NOT NULL \
                 ORDER BY department LIMIT 500",
            )
            .bind(conn)
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            rows.iter().map(|r| r.text("department")).collect()
        })
    }

    /// The newest `limit` sync runs of a connection (running ones included), newest first.
    pub async fn list_sync_runs(
        &self,
        conn: ConnectionId,
        limit: i64,
    ) -> Result<Vec<SyncRun>, StoreError> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, connection_id, kind, status, started_at, finished_at, stats, error \
                 FROM sync_runs WHERE connection_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(conn)
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            rows.iter().map(run_from_row).collect()
        })
    }
}
