//! Sync locks: one sync per connection at a time, across processes sharing a database, held
//! by a lock that dies with its holder.
//!
//! A lease with an expiry (what this replaced) outlives a holder killed with `kill -9` until
//! it expires, so the sync an operator starts right after is refused for minutes. These
//! locks are released by the operating system or the database server as soon as the process
//! holding them is gone, and by [`SyncLock::release`] or drop otherwise:
//!
//! - **PostgreSQL**: a session-level advisory lock, `pg_try_advisory_lock(k1, k2)`, held by
//!   a connection taken out of the pool (detached: it is never returned to the pool, so no
//!   other code can inherit the lock). The server drops the lock when that session ends,
//!   which it notices when the client's socket closes (a killed process's sockets are closed
//!   by its kernel). Advisory locks live in one key space per *database*, while deployments
//!   and tests may put several Steward schemas in one database, so the key is
//!   `k1 = hashtext('steward.sync:' || current_schema())`, `k2 = connection id` (the
//!   two-`int4` key space, which PostgreSQL keeps apart from the single-`bigint` one sqlx's
//!   migration lock uses). Who holds it is recorded in `sync_locks` together with the
//!   holder's backend pid; a row counts only while that backend holds the lock (checked in
//!   `pg_locks`), so a row left by a dead holder is ignored and overwritten by the next taker.
//! - **SQLite file**: an exclusive OS file lock (`flock` on Unix, `LockFileEx` on Windows)
//!   on `<database path>.sync-<connection id>.lock` (mode 0600), kept open by the
//!   [`SyncLock`]; the kernel releases it when the file is closed, which a dying process's
//!   files are. The holder writes who it is into the file. Lock files stay in place after
//!   release: deleting one would let a process still opening the old file lock a different
//!   file than the next taker. Two [`Store`]s on one file in the same process exclude each
//!   other as two processes do (`flock` locks belong to the open file, not the process). A
//!   database on a network file system gets whatever locking that file system offers.
//! - **SQLite in memory**: the database lives only in this process, so the lock is a map
//!   shared by the clones of its [`Store`].
//!
//! Reading the holder never takes the lock in a way that could make a concurrent taker fail
//! for good: the file is probed with a shared lock for an instant, and a taker refused while
//! it could not see who holds the lock looks again a few times (see
//! [`Store::try_lock_sync`]).

use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};
use steward_inventory::{ConnectionId, StoreError};

use crate::db::{Pool, RowExt, Store, db_err};
use crate::time::{from_ms, ms};

/// Who holds a sync lock: for the error a refused sync prints and for the UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// What took it, as the taker named itself (e.g. `steward-cli`, `steward-web`).
    pub holder: String,
    /// The holder's process id (on `host`).
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
    /// When it was taken, by the holder's store clock.
    pub since: DateTime<Utc>,
}

/// Held for the duration of a sync; released by [`SyncLock::release`], on drop, and by the
/// operating system or the database server if the process dies.
///
/// Dropping it without `release` (an error path, a panic): the file and in-memory locks are
/// free when `drop` returns; on PostgreSQL a task is spawned that unlocks and closes the
/// lock's connection (bounded by [`PG_UNLOCK_TIMEOUT`]), or, outside a Tokio runtime, the
/// connection is closed at once, which makes the server end the session and its lock.
pub struct SyncLock {
    conn: ConnectionId,
    holder: LockHolder,
    /// `None` once released (so `Drop` has nothing to do).
    held: Option<Held>,
}

/// What keeps a [`SyncLock`] held.
enum Held {
    /// The in-process map of an in-memory database.
    Memory(Arc<Mutex<HashMap<ConnectionId, LockHolder>>>),
    /// The open, exclusively locked lock file.
    File(File),
    /// The detached session holding the advisory lock, and its `k2`.
    Postgres(PgConnection, i32),
}

/// How long a dropped PostgreSQL lock's unlock may take before its connection is closed
/// instead (which releases the lock just as well once the server notices).
pub const PG_UNLOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times a taker refused while the holder is unknown looks again, and how long it
/// waits in between. The holder is unknown only for an instant: between a taker's lock and
/// its record, or while a reader probes a lock file (see the module doc).
const UNKNOWN_HOLDER_ATTEMPTS: u32 = 5;
const UNKNOWN_HOLDER_PAUSE: Duration = Duration::from_millis(10);

/// Where a [`Store`]'s sync locks live (chosen by [`Store::connect`] from the URL).
#[derive(Clone)]
pub(crate) enum LockSpace {
    /// In-memory SQLite: locks shared by the clones of the store.
    Memory(Arc<Mutex<HashMap<ConnectionId, LockHolder>>>),
    /// SQLite file: lock files next to this database file.
    Files(Arc<Path>),
    /// PostgreSQL: advisory locks through the store's pool.
    Postgres,
}

impl LockSpace {
    /// Locks of an in-memory SQLite database.
    pub(crate) fn in_process() -> LockSpace {
        LockSpace::Memory(Arc::default())
    }

    /// Locks next to the SQLite database file `db` (made absolute and, as it exists once
    /// connected, free of symlinks, so every process names the same lock files).
    pub(crate) fn next_to(db: &Path) -> LockSpace {
        let path = std::fs::canonicalize(db)
            .or_else(|_| std::path::absolute(db))
            .unwrap_or_else(|_| db.to_path_buf());
        LockSpace::Files(path.into())
    }

    /// Locks of a PostgreSQL database.
    pub(crate) fn postgres() -> LockSpace {
        LockSpace::Postgres
    }
}

/// The advisory lock's `k1` (see the module doc), as SQL.
macro_rules! pg_k1 {
    () => {
        "hashtext('steward.sync:' || coalesce(current_schema(), ''))"
    };
}

impl Store {
    /// Takes the sync lock of `conn` for `holder` (a short name such as `steward-cli`; the
    /// lock also records this process's pid and host and the time).
    ///
    /// `Ok(Ok(lock))` when taken; `Ok(Err(holder))` when it is held, by anyone, this process
    /// included, with who holds it if that could be read (`None` only when the holder did
    /// not record itself within a few tries, e.g. an older version). `Err` on database or
    /// I/O failures.
    pub async fn try_lock_sync(
        &self,
        conn: ConnectionId,
        holder: &str,
    ) -> Result<Result<SyncLock, Option<LockHolder>>, StoreError> {
        let me = LockHolder {
            holder: holder.to_owned(),
            pid: std::process::id(),
            host: host_name().to_owned(),
            since: self.now(),
        };
        for attempt in 1..=UNKNOWN_HOLDER_ATTEMPTS {
            if let Some(lock) = self.take_sync_lock(conn, &me).await? {
                return Ok(Ok(lock));
            }
            if let Some(current) = self.sync_lock_holder(conn).await? {
                return Ok(Err(Some(current)));
            }
            if attempt < UNKNOWN_HOLDER_ATTEMPTS {
                tokio::time::sleep(UNKNOWN_HOLDER_PAUSE).await;
            }
        }
        Ok(Err(None))
    }

    /// Who holds the sync lock of `conn` now, if anyone (or `None` if the holder has not
    /// recorded itself yet, for an instant after taking it).
    pub async fn sync_lock_holder(
        &self,
        conn: ConnectionId,
    ) -> Result<Option<LockHolder>, StoreError> {
        match &self.sync_locks {
            LockSpace::Memory(map) => Ok(lock_map(map).get(&conn).cloned()),
            LockSpace::Files(db) => {
                let path = lock_file_path(db, conn);
                blocking(move || read_file_holder(&path)).await
            }
            LockSpace::Postgres => {
                let Pool::Postgres(p) = &self.pool else {
                    unreachable!("a PostgreSQL lock space has a PostgreSQL pool")
                };
                let k2 = pg_k2(conn)?;
                let row = sqlx::query(concat!(
                    "SELECT s.holder, s.pid, s.host, s.since FROM sync_locks s \
                     JOIN pg_locks l ON l.pid = s.backend_pid \
                     WHERE s.connection_id = $1 AND l.locktype = 'advisory' AND l.granted \
                     AND l.database = (SELECT oid FROM pg_database \
                                       WHERE datname = current_database()) \
                     AND l.classid = (",
                    pg_k1!(),
                    ")::oid AND l.objid = ($2::int4)::oid AND l.objsubid = 2"
                ))
                .bind(conn)
                .bind(k2)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
                row.map(|r| {
                    Ok(LockHolder {
                        holder: r.text("holder")?,
                        pid: u32::try_from(r.int("pid")?)
                            .map_err(|e| StoreError::Corrupt(format!("column pid: {e}")))?,
                        host: r.text("host")?,
                        since: from_ms(r.int("since")?)?,
                    })
                })
                .transpose()
            }
        }
    }

    /// One attempt at the lock: `None` when it is held.
    async fn take_sync_lock(
        &self,
        conn: ConnectionId,
        me: &LockHolder,
    ) -> Result<Option<SyncLock>, StoreError> {
        let held = match &self.sync_locks {
            LockSpace::Memory(map) => {
                let mut locks = lock_map(map);
                if locks.contains_key(&conn) {
                    return Ok(None);
                }
                locks.insert(conn, me.clone());
                Held::Memory(Arc::clone(map))
            }
            LockSpace::Files(db) => {
                let path = lock_file_path(db, conn);
                let me = me.clone();
                match blocking(move || lock_file(&path, &me)).await? {
                    Some(file) => Held::File(file),
                    None => return Ok(None),
                }
            }
            LockSpace::Postgres => {
                let Pool::Postgres(p) = &self.pool else {
                    unreachable!("a PostgreSQL lock space has a PostgreSQL pool")
                };
                match lock_pg(p, conn, me).await? {
                    Some((c, k2)) => Held::Postgres(c, k2),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(SyncLock {
            conn,
            holder: me.clone(),
            held: Some(held),
        }))
    }
}

impl SyncLock {
    /// The connection whose syncs this lock excludes.
    pub fn connection(&self) -> ConnectionId {
        self.conn
    }

    /// Who holds it (this process).
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// Whether the lock is still held. Only a PostgreSQL lock can be lost while its
    /// [`SyncLock`] lives: when the session holding it ends (the server restarted, an admin
    /// terminated it, the network dropped it). This pings that session, which also keeps
    /// it from looking idle; a long sync checks it now and then (as it used to renew its
    /// lease) and stops when it returns `false`.
    pub async fn is_held(&mut self) -> bool {
        match &mut self.held {
            Some(Held::Postgres(c, _)) => c.ping().await.is_ok(),
            Some(Held::Memory(_) | Held::File(_)) => true,
            None => false,
        }
    }

    /// Gives the lock back; it is free when this returns. On PostgreSQL an error still
    /// closes the lock's connection, which frees the lock once the server notices.
    pub async fn release(mut self) -> Result<(), StoreError> {
        match self.held.take() {
            Some(Held::Memory(map)) => {
                lock_map(&map).remove(&self.conn);
                Ok(())
            }
            Some(Held::File(file)) => {
                // Closing the file releases the lock too; unlocking first reports failures.
                let result = file
                    .unlock()
                    .map_err(|e| StoreError::Database(format!("unlocking the sync lock: {e}")));
                drop(file);
                result
            }
            Some(Held::Postgres(c, k2)) => unlock_pg(c, self.conn, k2).await,
            None => Ok(()),
        }
    }
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        match self.held.take() {
            Some(Held::Memory(map)) => {
                lock_map(&map).remove(&self.conn);
            }
            // Closing the file releases the lock.
            Some(Held::File(file)) => drop(file),
            Some(Held::Postgres(c, k2)) => {
                let conn = self.conn;
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => {
                        // If the runtime shuts down before this runs, the task (and with it
                        // the connection) is dropped, which closes the session as well.
                        rt.spawn(async move {
                            let unlocked =
                                tokio::time::timeout(PG_UNLOCK_TIMEOUT, unlock_pg(c, conn, k2))
                                    .await;
                            if !matches!(unlocked, Ok(Ok(()))) {
                                tracing::warn!(
                                    connection = conn,
                                    "a dropped sync lock did not unlock cleanly; its \
                                     connection was closed, which frees it"
                                );
                            }
                        });
                    }
                    // No runtime to talk to the server: close the socket, which makes the
                    // server end the session and release the lock.
                    Err(_) => drop(c),
                }
            }
            None => {}
        }
    }
}

impl fmt::Debug for SyncLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.held {
            Some(Held::Memory(_)) => "in-process",
            Some(Held::File(_)) => "lock file",
            Some(Held::Postgres(..)) => "advisory lock",
            None => "released",
        };
        f.debug_struct("SyncLock")
            .field("connection", &self.conn)
            .field("holder", &self.holder)
            .field("kind", &kind)
            .finish()
    }
}

/// The in-memory lock map; a panic while it was locked cannot leave it inconsistent (every
/// change is one insert or remove), so a poisoned map is used as is.
fn lock_map(
    map: &Mutex<HashMap<ConnectionId, LockHolder>>,
) -> std::sync::MutexGuard<'_, HashMap<ConnectionId, LockHolder>> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

/// This host's name, for [`LockHolder::host`]: the kernel's on Linux, else `HOSTNAME` /
/// `COMPUTERNAME`, else `unknown` (read once; std has no portable call for it).
fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    })
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Database(format!("sync lock task failed: {e}")))?
}

/// `<db>.sync-<conn>.lock`.
fn lock_file_path(db: &Path, conn: ConnectionId) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(format!(".sync-{conn}.lock"));
    PathBuf::from(name)
}

fn file_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Database(format!("{what} the sync lock file {}: {e}", path.display()))
}

/// Opens (creating, mode 0600) and exclusively locks the lock file, then records `me` in
/// it; `None` when another open file holds the lock.
fn lock_file(path: &Path, me: &LockHolder) -> Result<Option<File>, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| file_err(path, "opening", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(file_err(path, "locking", e)),
    }
    // Not truncated on open: that would erase the current holder's record when refused.
    let record = serde_json::to_vec(me)
        .map_err(|e| StoreError::Database(format!("encoding the sync lock holder: {e}")))?;
    file.set_len(0)
        .and_then(|()| file.write_all(&record))
        .map_err(|e| file_err(path, "writing", e))?;
    Ok(Some(file))
}

/// The holder recorded in the lock file, if the file is locked. Probes with a shared lock:
/// it fails while a holder has the exclusive one.
fn read_file_holder(path: &Path) -> Result<Option<LockHolder>, StoreError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_err(path, "opening", e)),
    };
    match file.try_lock_shared() {
        // Free (and freed again when `file` closes).
        Ok(()) => return Ok(None),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(file_err(path, "probing", e)),
    }
    let mut record = Vec::new();
    file.read_to_end(&mut record)
        .map_err(|e| file_err(path, "reading", e))?;
    // Empty or partial: the holder is between taking the lock and recording itself.
    Ok(serde_json::from_slice(&record).ok())
}

/// The advisory lock's `k2`: the connection id, which must fit the `int4` key.
fn pg_k2(conn: ConnectionId) -> Result<i32, StoreError> {
    i32::try_from(conn).map_err(|_| {
        StoreError::Database(format!(
            "connection id {conn} does not fit a PostgreSQL advisory lock key"
        ))
    })
}

/// Takes the advisory lock on a connection detached from the pool, and records `me`;
/// `None` (the connection closed) when another session holds it.
///
/// Detached before the lock is tried, so that if this future is dropped halfway (after the
/// server granted the lock but before the answer arrived) the connection is closed, never
/// returned to the pool still holding the lock.
async fn lock_pg(
    pool: &sqlx::PgPool,
    conn: ConnectionId,
    me: &LockHolder,
) -> Result<Option<(PgConnection, i32)>, StoreError> {
    let k2 = pg_k2(conn)?;
    let mut c = pool.acquire().await.map_err(db_err)?.detach();
    let locked: bool = sqlx::query(concat!(
        "SELECT pg_try_advisory_lock(",
        pg_k1!(),
        ", $1) AS locked"
    ))
    .bind(k2)
    .fetch_one(&mut c)
    .await
    .map_err(db_err)?
    .try_get("locked")
    .map_err(db_err)?;
    if !locked {
        let _ = c.close().await;
        return Ok(None);
    }
    // On error `c` is dropped, closing the session and its lock.
    sqlx::query(
        "INSERT INTO sync_locks (connection_id, holder, pid, host, since, backend_pid) \
         VALUES ($1, $2, $3, $4, $5, pg_backend_pid()) \
         ON CONFLICT (connection_id) DO UPDATE SET holder = excluded.holder, \
         pid = excluded.pid, host = excluded.host, since = excluded.since, \
         backend_pid = excluded.backend_pid",
    )
    .bind(conn)
    .bind(&me.holder)
    .bind(i64::from(me.pid))
    .bind(&me.host)
    .bind(ms(me.since))
    .execute(&mut c)
    .await
    .map_err(db_err)?;
    Ok(Some((c, k2)))
}

/// Removes our record, unlocks, and closes the lock's connection (closed on error too).
async fn unlock_pg(mut c: PgConnection, conn: ConnectionId, k2: i32) -> Result<(), StoreError> {
    let result = async {
        sqlx::query(
            "DELETE FROM sync_locks WHERE connection_id = $1 AND backend_pid = pg_backend_pid()",
        )
        .bind(conn)
        .execute(&mut c)
        .await?;
        sqlx::query(concat!("SELECT pg_advisory_unlock(", pg_k1!(), ", $1)"))
            .bind(k2)
            .execute(&mut c)
            .await?;
        Ok::<(), sqlx::Error>(())
    }
    .await
    .map_err(db_err);
    let _ = c.close().await;
    result
}
