//! [`Store`]: the pool of either backend, connecting and migrations.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Postgres, Row, Sqlite, Transaction};
use steward_inventory::{ConnectionId, StoreError};

use crate::audit::AuditKey;
use crate::locks::LockSpace;
use crate::url::{database_url_from_env, redact_url};
use crate::writer::SqliteWriter;

/// Where "now" comes from (usage windows, `created_at` stamps). Tests and the simulator
/// inject their own; the default is the system clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite://path?mode=rwc`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://…`, `postgresql://…`).
    Postgres,
}

impl Backend {
    /// The backend a URL names, if any.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// The pool of one backend. Code that runs SQL matches on it with [`on_pool!`] and writes
/// the body once; each arm is then compiled against the concrete driver.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the concrete pool (`&SqlitePool` or `&PgPool`).
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The database: a connection pool on SQLite or PostgreSQL, migrated on connect. Cheap to
/// clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    clock: Clock,
    redacted_url: Arc<str>,
    /// Per connection: the number of live users, with the stamp of the connection's latest
    /// finished sync run it was counted under (see `Store::list_users`).
    pub(crate) live_user_totals: Arc<Mutex<HashMap<ConnectionId, (RunStamp, i64)>>>,
    /// SQLite: the inventory's write path (see [`crate::writer`]).
    writer: Option<SqliteWriter>,
    /// Where this database's sync locks live (see [`crate::locks`]).
    pub(crate) sync_locks: LockSpace,
    /// Seals audit events (see [`crate::audit`]); set by [`Store::with_audit_key`].
    pub(crate) audit_key: Option<Arc<AuditKey>>,
}

/// A finished sync run: `(id, finished_at ms)`. Only sync runs write the inventory, so
/// while a connection's latest run is this one and finished, its live users do not change.
pub(crate) type RunStamp = (i64, i64);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("url", &self.redacted_url)
            .finish_non_exhaustive()
    }
}

/// Maps a driver error. The text never holds a password: sqlx does not echo the URL.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl Store {
    /// Connects to `url` and brings the schema up to date.
    ///
    /// - `sqlite://path/to/steward.db?mode=rwc` (created if missing): WAL journal,
    ///   `synchronous=NORMAL`, foreign keys on, 10 s busy timeout.
    /// - `sqlite::memory:`: a private in-memory database held by a single pooled connection
    ///   (which never expires), for tests.
    /// - `postgres://user@host/db` (`?options=-c%20search_path%3Dschema` selects a schema).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let redacted: Arc<str> = redact_url(url).into();
        let (pool, writer, sync_locks) = match Backend::from_url(url) {
            Some(Backend::Sqlite) => {
                let (pool, writer) = connect_sqlite(url, &redacted).await?;
                let locks = if sqlite_in_memory(url) {
                    LockSpace::in_process()
                } else {
                    LockSpace::next_to(&sqlite_file(url, &redacted)?)
                };
                (Pool::Sqlite(pool), Some(writer), locks)
            }
            Some(Backend::Postgres) => (
                Pool::Postgres(connect_postgres(url, &redacted).await?),
                None,
                LockSpace::postgres(),
            ),
            None => {
                return Err(StoreError::Database(format!(
                    "unsupported database URL {redacted}: expected sqlite://… or postgres://…"
                )));
            }
        };
        let store = Store {
            pool,
            clock: Arc::new(Utc::now),
            redacted_url: redacted,
            live_user_totals: Arc::default(),
            writer,
            sync_locks,
            audit_key: None,
        };
        store.migrate().await?;
        tracing::debug!(url = %store.redacted_url, "database ready");
        Ok(store)
    }

    /// [`Store::connect`] to [`database_url_from_env`]: `STEWARD_DATABASE_URL`, or the SQLite
    /// file `{STEWARD_DATA_DIR or ./steward-data}/steward.db`.
    pub async fn from_env() -> Result<Store, StoreError> {
        Store::connect(&database_url_from_env()?).await
    }

    /// Replaces the clock (see [`Clock`]).
    pub fn with_clock(mut self, clock: Clock) -> Store {
        self.clock = clock;
        self
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// A handle on the same database whose inventory writes return before they are
    /// committed, so that consecutive writes share large transactions (see
    /// [`crate::writer`]); for syncs. Its reads flush first, so it reads its own writes;
    /// [`InventoryStore::flush`] commits what is pending. Other handles see the writes once
    /// committed (within a second). PostgreSQL commits each write as before.
    pub fn with_deferred_commits(&self) -> Store {
        let mut store = self.clone();
        store.writer = self.writer.as_ref().map(SqliteWriter::deferring);
        store
    }

    /// Commits the writes this handle deferred (a no-op on other handles).
    pub(crate) async fn flush_deferred(&self) -> Result<(), StoreError> {
        match &self.writer {
            Some(w) => w.flush().await,
            None => Ok(()),
        }
    }

    /// The SQLite writer (only called on the SQLite arm of [`crate::writer::on_writer`]).
    pub(crate) fn sqlite_writer(&self) -> &SqliteWriter {
        self.writer.as_ref().expect("a SQLite store has a writer")
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL connected to, password masked.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        on_pool!(self, p => p.close().await)
    }

    /// Applies pending migrations (done by [`Store::connect`]; idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = Migrator::new(Embedded(self.backend()))
            .await
            .map_err(|e| StoreError::Database(format!("loading migrations: {e}")))?;
        let result = on_pool!(self, p => migrator.run(p).await);
        result.map_err(|e| StoreError::Database(format!("migrating the database: {e}")))?;
        self.optimize(false).await
    }

    /// The cached live-user total of `conn`, if counted under `stamp`.
    pub(crate) fn cached_live_users(&self, conn: ConnectionId, stamp: RunStamp) -> Option<i64> {
        let cache = self
            .live_user_totals
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache
            .get(&conn)
            .filter(|(s, _)| *s == stamp)
            .map(|(_, n)| *n)
    }

    /// Caches the live-user total of `conn` counted under `stamp`.
    pub(crate) fn cache_live_users(&self, conn: ConnectionId, stamp: RunStamp, total: i64) {
        let mut cache = self
            .live_user_totals
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache.insert(conn, (stamp, total));
    }

    /// Forgets the cached live-user total of `conn` (this process wrote users).
    pub(crate) fn forget_live_users(&self, conn: ConnectionId) {
        let mut cache = self
            .live_user_totals
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache.remove(&conn);
    }

    /// Keeps the query planner's statistics current; the list and search queries depend on
    /// them (without them SQLite may read every user through the wrong index: seconds per
    /// page at 100k users).
    ///
    /// - SQLite, `full` (after a full or reconcile sync), or a database never analyzed:
    ///   `ANALYZE` (~90 ms for 100k users). Not bounded by `analysis_limit`: a sample of the
    ///   first rows of an index sees a single `connection_id` and misleads the planner
    ///   (measured: 170 ms p95 searches and 480 ms lists instead of a few ms).
    /// - SQLite otherwise (on connect, after an incremental sync): `PRAGMA optimize=0x10002`,
    ///   which re-analyzes only the tables whose size changed a lot since (0x10000: all
    ///   tables, not only those this connection queried); usually nothing.
    /// - PostgreSQL: `ANALYZE` when `full` (about a second at 100k users); otherwise
    ///   autovacuum's auto-analyze keeps the statistics current.
    ///
    /// Called on connect (after migrations) and by the store when a sync run succeeds.
    pub async fn optimize(&self, full: bool) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let analyzed = sqlx::query(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
                )
                .fetch_optional(p)
                .await
                .map_err(db_err)?
                .is_some();
                let analyzed = analyzed
                    && sqlx::query("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'users' LIMIT 1")
                        .fetch_optional(p)
                        .await
                        .map_err(db_err)?
                        .is_some();
                let sql = if full || !analyzed {
                    "ANALYZE"
                } else {
                    "PRAGMA optimize = 0x10002"
                };
                sqlx::query(sql).execute(p).await.map_err(db_err)?;
                // A connection reads the statistics when it loads the schema, and ANALYZE on
                // one connection leaves the other pooled connections with what they loaded
                // (measured: those kept walking the whole login index for a search, 180 ms
                // instead of 0.1 ms at 100k users, the long tail of the search pages). A
                // schema change makes every connection reload schema and statistics before
                // its next statement (SQLite re-prepares cached statements itself). Another
                // process on the file (`steward serve` and `steward sync`) may run this at the
                // same time and drop the table first: its drop changed the schema just as well.
                for ddl in [
                    "CREATE TABLE IF NOT EXISTS steward_reload_stats (x INTEGER)",
                    "DROP TABLE IF EXISTS steward_reload_stats",
                ] {
                    sqlx::query(ddl).execute(p).await.map_err(db_err)?;
                }
            }
            Pool::Postgres(p) => {
                if full {
                    sqlx::query("ANALYZE").execute(p).await.map_err(db_err)?;
                }
            }
        }
        Ok(())
    }
}

/// The SQLite writer's page cache: 64 MiB (negative: KiB). Not more: SQLite scans the
/// whole page cache's hash table at every commit (`pcache1TruncateUnsafe`), which at
/// 128 MiB cost more than the re-reads it saved.
const WRITER_CACHE_SIZE: &str = "-65536";
/// Pages of WAL before the writer checkpoints it (about 64 MiB).
const WRITER_WAL_AUTOCHECKPOINT: &str = "16384";

async fn connect_sqlite(
    url: &str,
    redacted: &str,
) -> Result<(SqlitePool, SqliteWriter), StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("invalid database URL {redacted}: {e}")))?
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .synchronous(SqliteSynchronous::Normal)
        // 16 MiB page cache per connection (default 2 MiB), allocated as used: the
        // inventory indexes of a 100k-user org are tens of MiB.
        .pragma("cache_size", "-16384");
    let in_memory = sqlite_in_memory(url);
    let pool = if in_memory {
        // An in-memory database lives as long as a connection to it: keep exactly one, forever.
        // (Several connections would need a shared cache, whose table locks bypass
        // busy_timeout.)
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().journal_mode(SqliteJournalMode::Memory))
            .await
    } else {
        // WAL: readers never block the writer; SQLite serializes writers (busy_timeout).
        SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone().journal_mode(SqliteJournalMode::Wal))
            .await
    };
    let open_err = |e: sqlx::Error| StoreError::Database(format!("cannot open {redacted}: {e}"));
    let pool = pool.map_err(open_err)?;
    let writer = if in_memory {
        SqliteWriter::open(None).await
    } else {
        // After the pool: the database exists and is in WAL mode by now. The writer gets a
        // larger page cache (allocated as used): a full sync inserts at random places all
        // over the membership, event and user-search indexes (hundreds of MiB for a
        // 100k-user org), and with 16 MiB most of a sync went to re-reading evicted pages.
        // A larger WAL before each automatic checkpoint (default 1000 pages, 4 MiB) copies
        // a page rewritten by many transactions into the database once instead of each time.
        SqliteWriter::open(Some(
            &options
                .journal_mode(SqliteJournalMode::Wal)
                .pragma("cache_size", WRITER_CACHE_SIZE)
                .pragma("wal_autocheckpoint", WRITER_WAL_AUTOCHECKPOINT),
        ))
        .await
    };
    Ok((pool, writer.map_err(open_err)?))
}

/// Whether a SQLite URL names an in-memory database (`sqlite::memory:`, `mode=memory`).
fn sqlite_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The database file a SQLite URL names, as sqlx reads it (percent-decoded, relative to the
/// working directory).
fn sqlite_file(url: &str, redacted: &str) -> Result<std::path::PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("invalid database URL {redacted}: {e}")))?;
    Ok(options.get_filename().to_path_buf())
}

async fn connect_postgres(url: &str, redacted: &str) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Database(format!("invalid database URL {redacted}: {e}")))?;
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Database(format!("cannot connect to {redacted}: {e}")))
}

/// The migrations, embedded with `include_str!` and handed to sqlx's [`Migrator`] through a
/// custom [`MigrationSource`]: the `sqlx::migrate!` macro would need sqlx's `macros` feature
/// (a proc-macro build). sqlx still records them in `_sqlx_migrations` with checksums, and
/// takes an advisory lock on PostgreSQL while migrating.
///
/// Add each migration to both lists, in the same change.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (2, "web", include_str!("../migrations/sqlite/0002_web.sql")),
    (
        3,
        "connection_transport",
        include_str!("../migrations/sqlite/0003_connection_transport.sql"),
    ),
    (
        4,
        "user_list_indexes",
        include_str!("../migrations/sqlite/0004_user_list_indexes.sql"),
    ),
    (
        5,
        "user_search_indexes",
        include_str!("../migrations/sqlite/0005_user_search_indexes.sql"),
    ),
    (
        6,
        "sso_events_in_time_order",
        include_str!("../migrations/sqlite/0006_sso_events_in_time_order.sql"),
    ),
    (
        7,
        "jobs",
        include_str!("../migrations/sqlite/0007_jobs.sql"),
    ),
    (
        8,
        "audit_chain",
        include_str!("../migrations/sqlite/0008_audit_chain.sql"),
    ),
    (
        9,
        "sync_locks",
        include_str!("../migrations/sqlite/0009_sync_locks.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "web",
        include_str!("../migrations/postgres/0002_web.sql"),
    ),
    (
        3,
        "connection_transport",
        include_str!("../migrations/postgres/0003_connection_transport.sql"),
    ),
    (
        4,
        "user_list_indexes",
        include_str!("../migrations/postgres/0004_user_list_indexes.sql"),
    ),
    (
        5,
        "user_search_indexes",
        include_str!("../migrations/postgres/0005_user_search_indexes.sql"),
    ),
    (
        6,
        "sso_events_in_time_order",
        include_str!("../migrations/postgres/0006_sso_events_in_time_order.sql"),
    ),
    (
        7,
        "jobs",
        include_str!("../migrations/postgres/0007_jobs.sql"),
    ),
    (
        8,
        "audit_chain",
        include_str!("../migrations/postgres/0008_audit_chain.sql"),
    ),
    (
        9,
        "sync_locks",
        include_str!("../migrations/postgres/0009_sync_locks.sql"),
    ),
];

/// Migration `(version, description)` lists of a backend (the drift test compares them with
/// the directories).
#[doc(hidden)]
pub fn embedded_migrations(backend: Backend) -> Vec<(i64, &'static str)> {
    migration_list(backend)
        .iter()
        .map(|(v, d, _)| (*v, *d))
        .collect()
}

fn migration_list(backend: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    }
}

#[derive(Debug)]
struct Embedded(Backend);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = migration_list(self.0)
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Opens a write transaction. On SQLite `BEGIN IMMEDIATE` takes the write lock up front, so
/// a transaction that reads before it writes waits on `busy_timeout` instead of failing with
/// `SQLITE_BUSY` when another connection writes first.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, StoreError>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.begin().await.map_err(db_err)
    }
}

/// Opens a read transaction: one consistent snapshot for several statements. SQLite's
/// deferred transaction takes its snapshot at the first read; PostgreSQL needs
/// `REPEATABLE READ` (under the default `READ COMMITTED` each statement sees a new snapshot).
pub(crate) trait BeginRead {
    type Db: sqlx::Database;
    fn begin_read(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, StoreError>> + Send;
}

impl BeginRead for SqlitePool {
    type Db = Sqlite;
    async fn begin_read(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin().await.map_err(db_err)
    }
}

impl BeginRead for PgPool {
    type Db = Postgres;
    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_err)
    }
}

/// Typed column reads that map decode failures to [`StoreError::Corrupt`], implemented for
/// the row type of each backend so decoding functions are written once.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn bool(&self, col: &str) -> Result<bool, StoreError>;
    fn json(&self, col: &str) -> Result<Value, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;
}

fn corrupt(col: &str, e: sqlx::Error) -> StoreError {
    StoreError::Corrupt(format!("column {col}: {e}"))
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn bool(&self, col: &str) -> Result<bool, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn json(&self, col: &str) -> Result<Value, StoreError> {
                self.try_get::<sqlx::types::Json<Value>, _>(col)
                    .map(|j| j.0)
                    .map_err(|e| corrupt(col, e))
            }
            fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
        }
    };
}
impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);
