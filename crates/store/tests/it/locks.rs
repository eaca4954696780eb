//! Sync locks on every backend: in-memory SQLite, a SQLite file, PostgreSQL (when
//! configured); and a holder killed with SIGKILL, run as a child process of this binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use steward_store::{LockHolder, Store, SyncLock};

use crate::common::*;

const C: i64 = 1;

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("steward-locks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("steward.db")
    }

    fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.db().display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One backend: its store, the URL a second store (or process) connects to (`None` for
/// in-memory SQLite, which no one else can open), and what keeps it alive.
struct LockBackend {
    name: &'static str,
    store: Store,
    url: Option<String>,
    _dir: Option<TempDir>,
    _schema: Option<PgSchema>,
}

impl LockBackend {
    fn is_postgres(&self) -> bool {
        self.name == "postgres"
    }
}

/// In-memory SQLite, a SQLite file in a fresh directory, and PostgreSQL in a fresh schema
/// when `STEWARD_TEST_POSTGRES_URL` is set; clocks fixed at [`t0`].
async fn lock_backends() -> Vec<LockBackend> {
    let mut out = vec![LockBackend {
        name: "sqlite-memory",
        store: Store::connect("sqlite::memory:")
            .await
            .unwrap()
            .with_clock(fixed_clock(t0())),
        url: None,
        _dir: None,
        _schema: None,
    }];
    out.extend(file_backend().await);
    out.extend(postgres_backend().await);
    out
}

async fn file_backend() -> Option<LockBackend> {
    let dir = TempDir::new();
    let url = dir.url();
    let store = Store::connect(&url).await.unwrap();
    Some(LockBackend {
        name: "sqlite-file",
        store: store.with_clock(fixed_clock(t0())),
        url: Some(url),
        _dir: Some(dir),
        _schema: None,
    })
}

async fn postgres_backend() -> Option<LockBackend> {
    let schema = PgSchema::create(&postgres_url()?).await;
    let url = schema.url();
    let store = Store::connect(&url).await.unwrap();
    Some(LockBackend {
        name: "postgres",
        store: store.with_clock(fixed_clock(t0())),
        url: Some(url),
        _dir: None,
        _schema: Some(schema),
    })
}

/// Takes the lock, which must be free.
async fn take(store: &Store, holder: &str) -> SyncLock {
    match store.try_lock_sync(C, holder).await.unwrap() {
        Ok(lock) => lock,
        Err(h) => panic!("the lock should be free, held by {h:?}"),
    }
}

/// Tries the lock, which must be held; returns who holds it.
async fn refused(store: &Store) -> Option<LockHolder> {
    match store.try_lock_sync(C, "intruder").await.unwrap() {
        Ok(lock) => panic!("taken while held: {lock:?}"),
        Err(h) => h,
    }
}

/// Takes the lock, retrying every millisecond for up to `bound`: a PostgreSQL lock freed
/// by a drop or a dead client is free once the server has ended the session or run the
/// unlock, a moment later. Returns the lock and how many attempts it took.
async fn take_within(store: &Store, bound: Duration) -> (SyncLock, u32) {
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match store.try_lock_sync(C, "next").await.unwrap() {
            Ok(lock) => return (lock, attempts),
            Err(_) if start.elapsed() < bound => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(h) => panic!("still held after {bound:?}, by {h:?}"),
        }
    }
}

/// How long a freed lock may take to be free: at once on SQLite, after a round trip or two
/// on PostgreSQL.
fn free_bound(b: &LockBackend) -> Duration {
    if b.is_postgres() {
        Duration::from_secs(5)
    } else {
        Duration::ZERO
    }
}

#[tokio::test]
async fn a_second_taker_is_refused_with_the_holder_until_release() {
    for b in lock_backends().await {
        eprintln!("--- backend: {}", b.name);
        let store = &b.store;
        assert_eq!(store.sync_lock_holder(C).await.unwrap(), None);
        let lock = take(store, "steward-cli").await;
        assert_eq!(lock.connection(), C);
        let me = LockHolder {
            holder: "steward-cli".into(),
            pid: std::process::id(),
            host: lock.holder().host.clone(),
            since: t0(),
        };
        assert!(!me.host.is_empty());
        assert_eq!(lock.holder(), &me);
        assert_eq!(refused(store).await, Some(me.clone()));
        // The handle a sync writes through shares the lock.
        assert_eq!(
            store
                .with_deferred_commits()
                .try_lock_sync(C, "x")
                .await
                .unwrap()
                .err(),
            Some(Some(me.clone()))
        );
        assert_eq!(store.sync_lock_holder(C).await.unwrap(), Some(me));
        lock.release().await.unwrap();
        assert_eq!(store.sync_lock_holder(C).await.unwrap(), None);
        take(store, "again").await.release().await.unwrap();
    }
}

#[tokio::test]
async fn a_dropped_lock_is_free_even_after_a_panic() {
    for b in lock_backends().await {
        eprintln!("--- backend: {}", b.name);
        let store = &b.store;
        drop(take(store, "dropped").await);
        let (lock, attempts) = take_within(store, free_bound(&b)).await;
        eprintln!("free after drop: {attempts} attempt(s)");

        let sync = tokio::spawn(async move {
            let _held = lock;
            panic!("a sync fails while holding the lock");
        });
        assert!(sync.await.unwrap_err().is_panic());
        let (lock, attempts) = take_within(store, free_bound(&b)).await;
        eprintln!("free after panic: {attempts} attempt(s)");

        // Dropped where no runtime runs (PostgreSQL: the connection is closed instead).
        std::thread::spawn(move || drop(lock)).join().unwrap();
        let (lock, attempts) = take_within(store, free_bound(&b)).await;
        eprintln!("free after drop outside a runtime: {attempts} attempt(s)");
        lock.release().await.unwrap();
    }
}

#[tokio::test]
async fn locks_of_different_connections_are_independent() {
    for b in lock_backends().await {
        eprintln!("--- backend: {}", b.name);
        let store = &b.store;
        let one = take(store, "one").await;
        let two = match store.try_lock_sync(2, "two").await.unwrap() {
            Ok(lock) => lock,
            Err(h) => panic!("connection 2 is held by {h:?}"),
        };
        assert_eq!(two.connection(), 2);
        assert_eq!(
            store.sync_lock_holder(2).await.unwrap().map(|h| h.holder),
            Some("two".into())
        );
        assert_eq!(refused(store).await.map(|h| h.holder), Some("one".into()));
        two.release().await.unwrap();
        assert_eq!(store.sync_lock_holder(2).await.unwrap(), None);
        assert_eq!(refused(store).await.map(|h| h.holder), Some("one".into()));
        one.release().await.unwrap();
    }
}

/// Two stores on one database, as two processes would have.
#[tokio::test]
async fn two_stores_on_one_database_exclude_each_other() {
    for b in lock_backends().await {
        let Some(url) = &b.url else { continue };
        eprintln!("--- backend: {}", b.name);
        let other = Store::connect(url).await.unwrap();
        let lock = take(&b.store, "first").await;
        assert_eq!(
            refused(&other).await.map(|h| h.holder),
            Some("first".into())
        );
        assert_eq!(
            other.sync_lock_holder(C).await.unwrap().map(|h| h.holder),
            Some("first".into())
        );
        lock.release().await.unwrap();
        let lock = take(&other, "second").await;
        assert_eq!(
            refused(&b.store).await.map(|h| h.holder),
            Some("second".into())
        );
        lock.release().await.unwrap();
        other.close().await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_lock_file_is_private_and_names_the_holder() {
    use std::os::unix::fs::PermissionsExt as _;
    let b = file_backend().await.unwrap();
    let lock = take(&b.store, "steward-cli").await;
    let dir = b._dir.as_ref().unwrap();
    let mut path = dir.db().into_os_string();
    path.push(".sync-1.lock");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("steward-cli"), "{text}");
    assert!(text.contains(&std::process::id().to_string()), "{text}");
    lock.release().await.unwrap();
}

/// The advisory lock's key includes the schema: two Steward schemas in one database lock
/// the same connection id independently.
#[tokio::test]
async fn postgres_schemas_in_one_database_lock_independently() {
    let (Some(a), Some(b)) = (postgres_backend().await, postgres_backend().await) else {
        return;
    };
    let in_a = take(&a.store, "a").await;
    let in_b = take(&b.store, "b").await;
    assert_eq!(refused(&a.store).await.map(|h| h.holder), Some("a".into()));
    assert_eq!(refused(&b.store).await.map(|h| h.holder), Some("b".into()));
    in_a.release().await.unwrap();
    assert_eq!(a.store.sync_lock_holder(C).await.unwrap(), None);
    assert_eq!(refused(&b.store).await.map(|h| h.holder), Some("b".into()));
    in_b.release().await.unwrap();
}

/// A session that ends under a live holder (terminated by an admin, a server restart)
/// loses the lock: `is_held` says so, a stale record does not count, and the dead lock's
/// drop does not disturb the next holder.
#[tokio::test]
async fn a_postgres_lock_is_lost_with_its_session() {
    let Some(b) = postgres_backend().await else {
        return;
    };
    let mut lock = take(&b.store, "victim").await;
    assert!(lock.is_held().await);
    let mut admin = sqlx::PgConnection::connect(b.url.as_ref().unwrap())
        .await
        .unwrap();
    let terminated: bool = sqlx::query_scalar(
        "SELECT pg_terminate_backend(backend_pid) FROM sync_locks WHERE connection_id = $1",
    )
    .bind(C)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(terminated);
    let (next, _) = take_within(&b.store, Duration::from_secs(5)).await;
    assert!(!lock.is_held().await);
    drop(lock);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        b.store.sync_lock_holder(C).await.unwrap().map(|h| h.holder),
        Some("next".into())
    );
    let _ = admin.close().await;
    next.release().await.unwrap();
}

/// The env var that makes [`child_holds_a_sync_lock_until_killed`] run, with the URL.
const CHILD_URL_ENV: &str = "STEWARD_TEST_LOCK_CHILD_URL";
/// Its name for `--exact`.
const CHILD_TEST: &str = "locks::child_holds_a_sync_lock_until_killed";

/// Not a test by itself: the child process of [`a_sync_lock_dies_with_its_process`].
#[tokio::test]
#[ignore = "the child process of a_sync_lock_dies_with_its_process"]
async fn child_holds_a_sync_lock_until_killed() {
    let Ok(url) = std::env::var(CHILD_URL_ENV) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let lock = take(&store, "child").await;
    // Held until the parent kills this process; bounded so that an orphan goes away.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(lock);
}

/// `kill -9` of the holder: the lock is free at once (SQLite: the kernel closed the file;
/// PostgreSQL: the server ends the session when the socket closes).
#[tokio::test]
async fn a_sync_lock_dies_with_its_process() {
    for b in lock_backends().await {
        let Some(url) = &b.url else { continue };
        eprintln!("--- backend: {}", b.name);
        let store = &b.store;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
            .env(CHILD_URL_ENV, url)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(h) = store.sync_lock_holder(C).await.unwrap() {
                assert_eq!((h.holder.as_str(), h.pid), ("child", pid));
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited before taking the lock: {status}");
            }
            assert!(Instant::now() < deadline, "the child never took the lock");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(refused(store).await.map(|h| h.pid), Some(pid));

        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success());
        let killed = Instant::now();
        let (lock, attempts) = take_within(store, free_bound(&b)).await;
        let took = killed.elapsed();
        eprintln!(
            "{}: taken {took:?} after the holder was killed ({attempts} attempt(s))",
            b.name
        );
        if !b.is_postgres() {
            assert_eq!(attempts, 1, "free at once on SQLite");
        }
        lock.release().await.unwrap();
    }
}
