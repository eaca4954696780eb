//! The write path of the inventory on SQLite: one dedicated connection, taken in turn, with
//! group commit.
//!
//! SQLite runs one writer at a time. With every pooled connection writing, concurrent sync
//! listings met `SQLITE_BUSY` and waited in SQLite's busy handler, which sleeps in growing
//! steps (1, 2, 5, 10 … 100 ms) whether or not the lock has been released meanwhile. Here
//! writers queue on a fair async mutex instead and take over the moment the previous one is
//! done. The dedicated connection also keeps the page cache that writes fill in one place.
//!
//! **Group commit.** A commit costs far more than the rows of a page: SQLite writes every
//! page the transaction dirtied to the WAL (a page of 1,000 memberships touches hundreds of
//! index pages spread over the whole index), then walks its page cache. So the writes of
//! concurrent callers share transactions:
//! - a write runs inside the open *batch* transaction (its own `begin_write_tx` becomes a
//!   savepoint there, so a failing write is rolled back alone);
//! - when it succeeds and other writers are queued, it leaves the batch open and waits for
//!   the batch's commit; the last writer of the queue (or the batch reaching
//!   [`MAX_BATCH_WRITES`] or [`MAX_BATCH_AGE`]) commits;
//! - a failing write commits the batch at once (SQLite may have rolled the whole
//!   transaction back on some errors, e.g. a full disk; the commit then fails and every
//!   waiting writer gets the error).
//!
//! No write returns before its transaction committed, so a caller reads its own writes on
//! any connection. Transactions commit in the order the writes ran, so a crash keeps a
//! prefix of the writes: a sync checkpoint saved after a page's rows never survives without
//! them. A batch whose writers were all cancelled is committed by a task spawned when the
//! first writer started waiting, so no transaction stays open holding SQLite's write lock.
//!
//! **Deferred commits** ([`crate::Store::with_deferred_commits`], what a sync uses): a
//! write through such a handle returns as soon as it ran inside the batch, and the batch
//! commits when it holds [`MAX_BATCH_WRITES`] writes, is [`MAX_DEFERRED_AGE`] old (a timer
//! commits it if nobody else does), when a write that waits for its commit ends it, or on
//! [`SqliteWriter::flush`]. Transactions then hold thousands of rows instead of one page:
//! the indexes keyed at random (memberships by user, users by name and email) are rewritten
//! into the WAL once per commit, so commit size, not row count, set the sync's write rate.
//! The order argument above still holds (a checkpoint never outlives its rows). A handle
//! flushes before each of its reads, so it still reads its own writes. A commit that fails
//! with deferred writes in it is reported to every deferring handle by its next write or
//! flush, so a sync never finishes believing lost writes were kept.
//!
//! An in-memory database has a single connection (the pool's) that readers share, so there
//! the mutex only orders the writers, and each write is its own transaction.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePoolOptions};
use sqlx::{Connection as _, Postgres, Sqlite, SqlitePool, Transaction};
use steward_inventory::StoreError;
use tokio::sync::{Mutex, MutexGuard, watch};

use crate::db::db_err;

/// Writes one batch transaction takes at most before it commits.
const MAX_BATCH_WRITES: usize = 1024;
/// How long a batch stays open at most (bounds how long a write waits for its commit).
const MAX_BATCH_AGE: Duration = Duration::from_millis(250);
/// How long a batch with deferred writes stays open at most.
const MAX_DEFERRED_AGE: Duration = Duration::from_secs(2);

/// The SQLite writer: the dedicated connection with group commit (file databases) or the
/// pool's one connection (in memory).
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    inner: Arc<Inner>,
    /// Set on a handle whose writes do not wait for their commit.
    deferring: Option<Arc<Deferring>>,
}

/// A handle's view of failed commits of deferred writes.
struct Deferring {
    /// `Batcher::failed_deferred` when this handle last looked.
    seen_failures: AtomicU64,
}

enum Inner {
    Batched(Arc<Batcher>),
    Pooled(Mutex<()>),
}

pub(crate) struct Batcher {
    /// A pool of exactly one connection: the writer's.
    pool: SqlitePool,
    /// The open batch, if any; holding the lock is the right to write.
    batch: Mutex<Option<Batch>>,
    /// Writers waiting for the lock (not counting those waiting for a commit).
    queued: AtomicUsize,
    /// Commits that failed with deferred writes in them.
    failed_deferred: AtomicU64,
}

/// An open transaction shared by consecutive writes.
pub(crate) struct Batch {
    tx: Transaction<'static, Sqlite>,
    writes: usize,
    started: Instant,
    /// Set to the commit's outcome once the batch is committed.
    done: Arc<watch::Sender<Option<Outcome>>>,
    committer_spawned: bool,
    timer_spawned: bool,
    /// Whether a write returned before this batch committed.
    deferred: bool,
}

type Outcome = Result<(), Arc<str>>;

impl SqliteWriter {
    /// A writer with its own connection made from `options`, or on the pool when `None`.
    pub(crate) async fn open(options: Option<&SqliteConnectOptions>) -> Result<Self, sqlx::Error> {
        let inner = match options {
            Some(o) => {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    // A connection whose transaction state is unknown (a failed commit or
                    // rollback) is replaced rather than reused.
                    .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
                    .connect_with(o.clone())
                    .await?;
                Inner::Batched(Arc::new(Batcher {
                    pool,
                    batch: Mutex::new(None),
                    queued: AtomicUsize::new(0),
                    failed_deferred: AtomicU64::new(0),
                }))
            }
            None => Inner::Pooled(Mutex::new(())),
        };
        Ok(SqliteWriter {
            inner: Arc::new(inner),
            deferring: None,
        })
    }

    /// A handle on the same writer whose writes return before they are committed (see the
    /// module documentation). In memory, writes commit at once as before.
    pub(crate) fn deferring(&self) -> SqliteWriter {
        let Inner::Batched(b) = &*self.inner else {
            return self.clone();
        };
        SqliteWriter {
            inner: Arc::clone(&self.inner),
            deferring: Some(Arc::new(Deferring {
                seen_failures: AtomicU64::new(b.failed_deferred.load(Ordering::SeqCst)),
            })),
        }
    }

    /// Commits what this handle wrote and has not seen committed; fails if a commit with
    /// its deferred writes failed since it last looked.
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        let (Inner::Batched(b), Some(_)) = (&*self.inner, &self.deferring) else {
            return Ok(());
        };
        let mut guard = b.batch.lock().await;
        if guard.as_ref().is_some_and(|batch| batch.deferred) {
            // Its failure is counted and reported just below.
            let _ = b.commit(&mut guard).await;
        }
        drop(guard);
        self.check_failures(b)
    }

    fn check_failures(&self, b: &Batcher) -> Result<(), StoreError> {
        let Some(d) = &self.deferring else {
            return Ok(());
        };
        let failed = b.failed_deferred.load(Ordering::SeqCst);
        if d.seen_failures.swap(failed, Ordering::SeqCst) < failed {
            return Err(StoreError::Database(
                "a batch of earlier writes failed to commit and was rolled back".into(),
            ));
        }
        Ok(())
    }

    /// Commits the open batch, if any, and closes the dedicated connection.
    pub(crate) async fn close(&self) {
        if let Inner::Batched(b) = &*self.inner {
            let mut guard = b.batch.lock().await;
            if guard.is_some()
                && let Err(e) = b.commit(&mut guard).await
            {
                tracing::warn!(error = %e, "committing the last SQLite write batch");
            }
            drop(guard);
            b.pool.close().await;
        }
    }

    /// Waits for the turn to write and returns the connection to write on.
    pub(crate) async fn lock<'a>(&'a self, pool: &SqlitePool) -> Result<WriteConn<'a>, StoreError> {
        match &*self.inner {
            Inner::Pooled(order) => {
                let guard = order.lock().await;
                let pooled = pool.acquire().await.map_err(db_err)?;
                Ok(WriteConn::Pooled(pooled, guard))
            }
            Inner::Batched(b) => {
                self.check_failures(b)?;
                let mut guard = {
                    let _queued = Queued::enter(&b.queued);
                    b.batch.lock().await
                };
                if guard.is_none() {
                    let tx = b.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
                    *guard = Some(Batch {
                        tx,
                        writes: 0,
                        started: Instant::now(),
                        done: Arc::new(watch::Sender::new(None)),
                        committer_spawned: false,
                        timer_spawned: false,
                        deferred: false,
                    });
                }
                Ok(WriteConn::Batched(b, guard, self.deferring.is_some()))
            }
        }
    }
}

/// Counts a writer waiting for the lock for as long as it exists (cancellation included).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Queued(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Batcher {
    /// Commits the open batch and tells its waiting writers.
    async fn commit(&self, guard: &mut MutexGuard<'_, Option<Batch>>) -> Result<(), StoreError> {
        let Some(batch) = guard.take() else {
            return Ok(());
        };
        let outcome: Outcome = batch
            .tx
            .commit()
            .await
            .map_err(|e| Arc::from(format!("committing a write batch: {e}")));
        if outcome.is_err() && batch.deferred {
            self.failed_deferred.fetch_add(1, Ordering::SeqCst);
        }
        batch.done.send_replace(Some(outcome.clone()));
        outcome.map_err(|e| StoreError::Database(e.to_string()))
    }

    /// Commits the batch behind `done` unless it is committed already.
    async fn commit_if_open(self: Arc<Self>, done: Arc<watch::Sender<Option<Outcome>>>) {
        let mut guard = self.batch.lock().await;
        if guard.as_ref().is_some_and(|b| Arc::ptr_eq(&b.done, &done))
            && let Err(e) = self.commit(&mut guard).await
        {
            tracing::warn!(error = %e, "SQLite write batch");
        }
    }
}

/// A connection that is the only writer while held. End it with [`WriteConn::finish`].
pub(crate) enum WriteConn<'a> {
    /// The batcher, the lock, and whether the write may return before its commit.
    Batched(&'a Arc<Batcher>, MutexGuard<'a, Option<Batch>>, bool),
    Pooled(
        PoolConnection<Sqlite>,
        #[allow(dead_code)] MutexGuard<'a, ()>,
    ),
}

impl WriteConn<'_> {
    /// Ends a write with its `result`: returns once the write is committed (or failed).
    pub(crate) async fn finish<T>(self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let WriteConn::Batched(batcher, mut guard, defer) = self else {
            return result;
        };
        let Some(batch) = guard.as_mut() else {
            return result;
        };
        let commit_now = match &result {
            Ok(_) => {
                batch.writes += 1;
                if defer
                    && batch.writes < MAX_BATCH_WRITES
                    && batch.started.elapsed() < MAX_DEFERRED_AGE
                {
                    batch.deferred = true;
                    if !batch.timer_spawned {
                        batch.timer_spawned = true;
                        let (batcher, done) = (Arc::clone(batcher), Arc::clone(&batch.done));
                        let due = batch.started + MAX_DEFERRED_AGE;
                        tokio::spawn(async move {
                            tokio::time::sleep_until(due.into()).await;
                            batcher.commit_if_open(done).await;
                        });
                    }
                    return result;
                }
                batcher.queued.load(Ordering::SeqCst) == 0
                    || batch.writes >= MAX_BATCH_WRITES
                    || batch.started.elapsed() >= MAX_BATCH_AGE
            }
            Err(_) => true,
        };
        if commit_now {
            let committed = batcher.commit(&mut guard).await;
            return result.and_then(|v| committed.map(|()| v));
        }
        let mut done = batch.done.subscribe();
        if !batch.committer_spawned {
            batch.committer_spawned = true;
            // Queued behind the writers waiting now: commits after them unless the last
            // of them did. Also covers writers cancelled while they waited.
            tokio::spawn(Arc::clone(batcher).commit_if_open(Arc::clone(&batch.done)));
        }
        drop(guard);
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Database("the SQLite write batch was dropped".into()))?
            .clone();
        match outcome {
            Some(Ok(())) => result,
            Some(Err(e)) => Err(StoreError::Database(e.to_string())),
            None => unreachable!("waited for an outcome"),
        }
    }
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
    /// `BEGIN IMMEDIATE`, or a savepoint inside the writer's batch transaction.
    async fn begin_write_tx(&mut self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        if self.is_in_transaction() {
            self.begin().await.map_err(db_err)
        } else {
            self.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)
        }
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
            WriteConn::Batched(_, g, _) => &g.as_ref().expect("an open write batch").tx,
            WriteConn::Pooled(c, _) => c,
        }
    }
}

impl DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            WriteConn::Batched(_, g, _) => &mut g.as_mut().expect("an open write batch").tx,
            WriteConn::Pooled(c, _) => c,
        }
    }
}

/// Runs `$body` with `$c` bound to a connection to write on: the SQLite writer's
/// (`&mut SqliteConnection`, held alone, inside a batch transaction) or one of the
/// PostgreSQL pool's (`&mut PgConnection`; PostgreSQL takes concurrent writers). On SQLite
/// it returns once the write is committed.
macro_rules! on_writer {
    ($store:expr, $c:ident => $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite(p) => {
                let mut held = $store.sqlite_writer().lock(p).await?;
                let result = {
                    let $c: &mut sqlx::SqliteConnection = &mut held;
                    async { $body }.await
                };
                held.finish(result).await
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
