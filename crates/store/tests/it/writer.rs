//! The SQLite writer on a database file: group commit and deferred commits (in-memory
//! databases, which the other tests use, write without batches).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use steward_inventory::InventoryStore;
use steward_store::Store;

use crate::common::*;

const C: i64 = 1;

/// A SQLite file store in a directory of its own, removed on drop.
struct FileStore {
    store: Store,
    dir: PathBuf,
}

impl FileStore {
    async fn new() -> FileStore {
        let dir = std::env::temp_dir().join(format!(
            "steward-writer-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&steward_store::default_sqlite_url(&dir))
            .await
            .unwrap()
            .with_clock(fixed_clock(t0()));
        FileStore { store, dir }
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn committed_users(store: &Store) -> i64 {
    store
        .raw_scalar("SELECT COUNT(*) FROM users WHERE connection_id = $1", C)
        .await
        .unwrap()
}

#[tokio::test]
async fn concurrent_writes_share_transactions_and_all_land() {
    let fs = FileStore::new().await;
    let store = &fs.store;
    // 64 writers at once: each returns only once its rows are committed.
    let writes = (0..64).map(|w| async move {
        let users: Vec<_> = (w * 100..(w + 1) * 100).map(user).collect();
        store.upsert_users(C, 1, &users).await.unwrap();
        // Read back on another (pooled) connection: committed already.
        let id = uid(w * 100 + 99);
        let n = store
            .raw_scalar(
                &format!("SELECT COUNT(*) FROM users WHERE connection_id = $1 AND id = '{id}'"),
                C,
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "writer {w} returned before its commit");
    });
    futures::future::join_all(writes).await;
    assert_eq!(committed_users(store).await, 6400);
    store.close().await;
}

#[tokio::test]
async fn deferred_writes_are_read_back_flushed_and_committed_on_their_own() {
    let fs = FileStore::new().await;
    let sync = fs.store.with_deferred_commits();
    let users: Vec<_> = (0..500).map(user).collect();
    sync.upsert_users(C, 1, &users).await.unwrap();
    let members: Vec<_> = (0..500).map(uid).collect();
    sync.upsert_members(C, 1, &gid(1), &members).await.unwrap();
    // The deferring handle reads its own writes (a read flushes first).
    let counts = sync.counts(C).await.unwrap();
    assert_eq!(counts.users(), 500);
    assert_eq!(counts.memberships, 500);
    assert_eq!(committed_users(&fs.store).await, 500);

    // Without a flush, the batch commits by itself within MAX_DEFERRED_AGE (2 s).
    let more: Vec<_> = (500..600).map(user).collect();
    sync.upsert_users(C, 1, &more).await.unwrap();
    let started = Instant::now();
    while committed_users(&fs.store).await < 600 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "deferred writes were never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An explicit flush commits at once.
    let last: Vec<_> = (600..700).map(user).collect();
    sync.upsert_users(C, 1, &last).await.unwrap();
    sync.flush().await.unwrap();
    assert_eq!(committed_users(&fs.store).await, 700);
    fs.store.close().await;
}

#[tokio::test]
async fn close_commits_what_was_deferred() {
    let fs = FileStore::new().await;
    let sync = fs.store.with_deferred_commits();
    let users: Vec<_> = (0..300).map(user).collect();
    sync.upsert_users(C, 1, &users).await.unwrap();
    fs.store.close().await;
    let reopened = Store::connect(&steward_store::default_sqlite_url(&fs.dir))
        .await
        .unwrap();
    assert_eq!(committed_users(&reopened).await, 300);
    reopened.close().await;
}

#[tokio::test]
async fn a_deferring_and_a_waiting_writer_share_a_batch() {
    let fs = FileStore::new().await;
    let sync = fs.store.with_deferred_commits();
    let waiting = &fs.store;
    let (a, b) = futures::join!(
        async {
            for w in 0..20 {
                let users: Vec<_> = (w * 10..(w + 1) * 10).map(user).collect();
                sync.upsert_users(C, 1, &users).await.unwrap();
            }
        },
        async {
            let started = Instant::now();
            for w in 20..40 {
                let users: Vec<_> = (w * 10..(w + 1) * 10).map(user).collect();
                waiting.upsert_users(C, 1, &users).await.unwrap();
            }
            started.elapsed()
        }
    );
    let () = a;
    // A waiting write commits the batch it joined (deferred writes included) rather than
    // wait for the deferral timer of 2 s per write.
    assert!(
        b < Duration::from_secs(10),
        "waiting writes took {b:?}: they waited for the deferral timer"
    );
    assert!(committed_users(waiting).await >= 200);
    sync.flush().await.unwrap();
    assert_eq!(committed_users(waiting).await, 400);
    fs.store.close().await;
}
