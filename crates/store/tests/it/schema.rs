//! Connecting, migrations and SQLite file settings.

use std::path::{Path, PathBuf};

use sqlx::Connection as _;
use sqlx::Row as _;
use steward_inventory::InventoryStore;
use steward_store::{Backend, Store, embedded_migrations};

use crate::common::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("steward-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn migration_files(dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let mut names: Vec<String> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_embed_every_migration_file() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert_eq!(sqlite, postgres, "add each migration to both directories");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let embedded: Vec<String> = embedded_migrations(backend)
            .iter()
            .map(|(v, d)| format!("{v:04}_{d}.sql"))
            .collect();
        assert_eq!(embedded, sqlite, "{backend:?}: embed each file in db.rs");
    }
}

#[tokio::test]
async fn sqlite_file_uses_wal_and_keeps_data_across_reconnects() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("steward.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.upsert_users(1, 1, &[user(1)]).await.unwrap();
    store.close().await;

    // Migrations are idempotent; data persists.
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.counts(1).await.unwrap().users(), 1);
    store.close().await;

    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let applied: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut raw)
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, embedded_migrations(Backend::Sqlite).len() as i64);
    raw.close().await.unwrap();
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_password_masked() {
    let err = Store::connect("mysql://root:pw123456@db/x")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("pw123456"), "{err}");
    assert!(err.to_string().contains("unsupported"), "{err}");
    let err = Store::connect("sqlite:///nonexistent-dir-xyz/a/b.db")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");
}

#[tokio::test]
async fn postgres_migrations_are_idempotent() {
    let Some(url) = postgres_url() else { return };
    let schema = PgSchema::create(&url).await;
    let a = Store::connect(&schema.url()).await.unwrap();
    a.upsert_users(1, 1, &[user(1)]).await.unwrap();
    let b = Store::connect(&schema.url()).await.unwrap();
    assert_eq!(b.backend(), Backend::Postgres);
    assert_eq!(b.counts(1).await.unwrap().users(), 1);
    a.close().await;
    b.close().await;
}

/// Two processes opening one SQLite file (`steward serve` and `steward sync`) both run
/// `optimize` (on connect, and when a sync succeeds); one's statistics-reload DDL must not
/// fail on the table the other just dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_optimize_on_one_sqlite_file_does_not_fail() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.0.join("steward.db").display());
    let a = Store::connect(&url).await.expect("first store");
    let b = Store::connect(&url).await.expect("second store");
    let run = |s: Store| {
        tokio::spawn(async move {
            for _ in 0..200 {
                s.optimize(false).await?;
            }
            Ok::<_, steward_inventory::StoreError>(())
        })
    };
    let (ra, rb) = (run(a.clone()), run(b.clone()));
    ra.await
        .expect("join")
        .expect("optimize in the first store");
    rb.await
        .expect("join")
        .expect("optimize in the second store");
    a.close().await;
    b.close().await;
}
