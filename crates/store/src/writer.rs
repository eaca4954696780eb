//! The write path of the inventory on SQLite: one dedicated connection, taken in turn.
//!
//! SQLite runs one writer at a time. With every pooled connection writing, concurrent sync
//! listings met `SQLITE_BUSY` and waited in SQLite's busy handler, which sleeps in growing
//! steps (1, 2, 5, 10 … 100 ms) whether or not the lock has been released meanwhile: most of
//! a sync's time went to those sleeps. Here writers queue on a fair async mutex instead and
//! take over the moment the previous transaction commits. The dedicated connection also
//! keeps the page cache that writes fill in one place (each pooled connection has its own
//! cache, so eight writers meant up to eight full caches).
//!
//! An in-memory database has a single connection (the pool's), so there the mutex only
//! orders the writers and each write acquires the pool's connection.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _, Postgres, Sqlite, SqlitePool, Transaction};
use steward_inventory::StoreError;
use tokio::sync::{Mutex, MutexGuard};

use crate::db::db_err;

/// The SQLite writer: the dedicated connection (file databases) or none (in memory).
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    conn: Arc<Mutex<Option<SqliteConnection>>>,
}

impl SqliteWriter {
    /// A writer with its own connection made from `options`, or on the pool when `None`.
    pub(crate) async fn open(options: Option<&SqliteConnectOptions>) -> Result<Self, sqlx::Error> {
        let conn = match options {
            Some(o) => Some(o.connect().await?),
            None => None,
        };
        Ok(SqliteWriter {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Closes the dedicated connection (after the writes under way); later writes go to
    /// the pool, closed too by then.
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take()
            && let Err(e) = conn.close().await
        {
            tracing::warn!(error = %e, "closing the SQLite writer connection");
        }
    }

    /// Waits for the turn to write and returns the connection to write on.
    pub(crate) async fn lock(&self, pool: &SqlitePool) -> Result<WriteConn<'_>, StoreError> {
        let guard = self.conn.lock().await;
        if guard.is_some() {
            return Ok(WriteConn::Dedicated(guard));
        }
        let pooled = pool.acquire().await.map_err(db_err)?;
        Ok(WriteConn::Pooled(pooled, guard))
    }
}

/// A connection that is the only writer while held.
pub(crate) enum WriteConn<'a> {
    Dedicated(MutexGuard<'a, Option<SqliteConnection>>),
    Pooled(
        PoolConnection<Sqlite>,
        #[allow(dead_code)] MutexGuard<'a, Option<SqliteConnection>>,
    ),
}

/// Opens a write transaction on a connection (see [`crate::db::BeginWrite`]).
pub(crate) trait BeginWriteTx {
    type Db: sqlx::Database;
    fn begin_write_tx(
        &mut self,
    ) -> impl Future<Output = Result<Transaction<'_, Self::Db>, StoreError>> + Send;
}

impl BeginWriteTx for SqliteConnection {
    type Db = Sqlite;
    async fn begin_write_tx(&mut self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        self.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)
    }
}

impl BeginWriteTx for PgConnection {
    type Db = Postgres;
    async fn begin_write_tx(&mut self) -> Result<Transaction<'_, Postgres>, StoreError> {
        self.begin().await.map_err(db_err)
    }
}

impl Deref for WriteConn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self {
            WriteConn::Dedicated(g) => g.as_ref().expect("dedicated writer connection"),
            WriteConn::Pooled(c, _) => c,
        }
    }
}

impl DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            WriteConn::Dedicated(g) => g.as_mut().expect("dedicated writer connection"),
            WriteConn::Pooled(c, _) => c,
        }
    }
}

/// Runs `$body` with `$c` bound to a connection to write on: the SQLite writer's
/// (`&mut SqliteConnection`, held alone) or one of the PostgreSQL pool's
/// (`&mut PgConnection`; PostgreSQL takes concurrent writers).
macro_rules! on_writer {
    ($store:expr, $c:ident => $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite(p) => {
                let mut held = $store.sqlite_writer().lock(p).await?;
                let $c: &mut sqlx::SqliteConnection = &mut held;
                $body
            }
            $crate::db::Pool::Postgres(p) => {
                let mut held = p.acquire().await.map_err($crate::db::db_err)?;
                let $c: &mut sqlx::PgConnection = &mut held;
                $body
            }
        }
    };
}
pub(crate) use on_writer;
