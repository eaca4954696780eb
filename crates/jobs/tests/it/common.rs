//! Databases to run the runner on: in-memory SQLite, a SQLite file in a temporary directory,
//! and PostgreSQL in a schema of its own when `STEWARD_TEST_POSTGRES_URL` is set.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sqlx::Connection as _;
use sqlx::Executor as _;
use steward_jobs::RunnerConfig;
use steward_store::Store;
use steward_store::jobs::NewJob;

/// Env var with a PostgreSQL URL (`postgres://postgres@127.0.0.1:5432/test`).
pub const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// PostgreSQL URL from the environment, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty())
}

/// A PostgreSQL schema that lives as long as this guard.
pub struct PgSchema {
    base_url: String,
    schema: String,
}

impl PgSchema {
    pub async fn create(base_url: &str) -> PgSchema {
        let schema = format!("steward_jobs_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(base_url)
            .await
            .expect("connect to STEWARD_TEST_POSTGRES_URL");
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .expect("create schema");
        let _ = admin.close().await;
        PgSchema {
            base_url: base_url.to_owned(),
            schema,
        }
    }

    /// The URL selecting this schema (connections named after it, for teardown).
    pub fn url(&self) -> String {
        let base = &self.base_url;
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}options=-c%20search_path%3D{0}&application_name={0}",
            self.schema
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.base_url.clone();
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut c)
                    .await;
                    let _ = c.execute("SET lock_timeout = '20s'").await;
                    let _ = c
                        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
                        .await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database URL shared by several stores (or processes), and what keeps it alive.
pub struct SharedDb {
    pub name: &'static str,
    pub url: String,
    _pg: Option<PgSchema>,
    _dir: Option<TempDir>,
}

/// A SQLite file in a fresh temporary directory.
pub fn sqlite_file() -> SharedDb {
    let dir = std::env::temp_dir().join(format!("steward-jobs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("jobs.db").display());
    SharedDb {
        name: "sqlite-file",
        url,
        _pg: None,
        _dir: Some(TempDir(dir)),
    }
}

/// PostgreSQL in a fresh schema, when configured.
pub async fn postgres() -> Option<SharedDb> {
    let base = postgres_url()?;
    let schema = PgSchema::create(&base).await;
    Some(SharedDb {
        name: "postgres",
        url: schema.url(),
        _pg: Some(schema),
        _dir: None,
    })
}

/// A clock tests move by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(at.timestamp_millis())))
    }
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).expect("in range")
    }
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_millis(), Ordering::SeqCst);
    }
    pub fn clock(&self) -> steward_store::Clock {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// Backends with a manual clock at [`t0`]: in-memory SQLite, and PostgreSQL if configured.
/// The guard keeps the schema.
pub async fn clocked_backends() -> Vec<(&'static str, Store, ManualClock, Option<SharedDb>)> {
    let clock = ManualClock::new(t0());
    let mut out = vec![(
        "sqlite",
        Store::connect("sqlite::memory:")
            .await
            .expect("sqlite")
            .with_clock(clock.clock()),
        clock,
        None,
    )];
    if let Some(db) = postgres().await {
        let clock = ManualClock::new(t0());
        let store = Store::connect(&db.url)
            .await
            .expect("postgres")
            .with_clock(clock.clock());
        out.push(("postgres", store, clock, Some(db)));
    }
    out
}

/// A runner configuration for tests: short lease and fast polling.
pub fn config(holder: &str) -> RunnerConfig {
    RunnerConfig {
        holder: holder.to_owned(),
        concurrency: 8,
        lease: TimeDelta::seconds(2),
        heartbeat: Duration::from_millis(300),
        poll_interval: Duration::from_millis(50),
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(60),
    }
}

pub fn new_job(kind: &str, n: i64, run_at: DateTime<Utc>, max_attempts: u32) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        payload: serde_json::json!({ "n": n }),
        run_at,
        max_attempts,
        dedup_key: None,
    }
}
