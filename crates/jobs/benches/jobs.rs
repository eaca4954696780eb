//! Jobs per second through the runner: claim, run a no-op, complete.
//!
//! `cargo bench -p steward-jobs --bench jobs`. Enqueues `STEWARD_BENCH_JOBS` jobs (default
//! 20,000; not timed), then times `run_until_idle` on a SQLite file with one runner and, when
//! `STEWARD_TEST_POSTGRES_URL` is set, on PostgreSQL with one and with three runners (three
//! stores, as three instances would have).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures::StreamExt as _;
use sqlx::Connection as _;
use sqlx::Executor as _;
use steward_jobs::{Registry, Runner, RunnerConfig, handler_fn};
use steward_store::Store;
use steward_store::jobs::NewJob;

fn jobs() -> usize {
    std::env::var("STEWARD_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn config(i: usize) -> RunnerConfig {
    RunnerConfig {
        holder: format!("bench-{i}"),
        concurrency: 64,
        lease: TimeDelta::seconds(30),
        heartbeat: Duration::from_secs(10),
        poll_interval: Duration::from_millis(100),
        backoff_base: Duration::from_secs(2),
        backoff_max: Duration::from_secs(600),
    }
}

async fn enqueue(store: &Store, n: usize) {
    let now = store.now();
    futures::stream::iter(0..n)
        .map(|i| {
            let store = store.clone();
            async move {
                let job = NewJob {
                    kind: "noop".into(),
                    payload: serde_json::json!({ "i": i }),
                    run_at: now,
                    max_attempts: 3,
                    dedup_key: None,
                };
                store.enqueue_job(&job).await.unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
}

/// Times the runners (one per store) draining `n` jobs; returns jobs per second.
async fn drain(stores: &[Store], n: usize) -> f64 {
    enqueue(&stores[0], n).await;
    let runners: Vec<Runner> = stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let registry = Registry::new().with("noop", handler_fn(|_job| async { Ok(()) }));
            Runner::new(s.clone(), registry, config(i))
        })
        .collect();
    let started = Instant::now();
    let summaries = futures::future::join_all(runners.iter().map(|r| async move {
        // Each runner on its own task, as separate instances would be.
        r.run_until_idle().await.unwrap()
    }))
    .await;
    let elapsed = started.elapsed();
    let done: u64 = summaries.iter().map(|s| s.succeeded).sum();
    assert_eq!(done as usize, n, "every job succeeded once");
    n as f64 / elapsed.as_secs_f64()
}

struct PgSchema {
    base: String,
    schema: String,
}

impl PgSchema {
    async fn create(base: &str) -> PgSchema {
        let schema = format!("steward_jobs_bench_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(base).await.unwrap();
        c.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        PgSchema {
            base: base.to_owned(),
            schema,
        }
    }
    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.base, self.schema
        )
    }
    async fn drop_schema(self) {
        let mut c = sqlx::PgConnection::connect(&self.base).await.unwrap();
        c.execute(format!("DROP SCHEMA {} CASCADE", self.schema).as_str())
            .await
            .unwrap();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = jobs();
    let mut rows = Vec::new();

    let dir = std::env::temp_dir().join(format!(
        "steward-jobs-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("jobs.db").display());
    let store = Store::connect(&url).await.unwrap();
    rows.push((
        "sqlite file",
        1,
        drain(std::slice::from_ref(&store), n).await,
    ));
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    if let Some(base) = std::env::var("STEWARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        for runners in [1usize, 3] {
            let schema = PgSchema::create(&base).await;
            let mut stores = Vec::new();
            for _ in 0..runners {
                stores.push(Store::connect(&schema.url()).await.unwrap());
            }
            rows.push(("postgres", runners, drain(&stores, n).await));
            for s in &stores {
                s.close().await;
            }
            schema.drop_schema().await;
        }
    } else {
        eprintln!("STEWARD_TEST_POSTGRES_URL not set: PostgreSQL skipped");
    }

    println!("{n} no-op jobs, concurrency 64 per runner");
    println!("{:<12} {:>7} {:>10}", "backend", "runners", "jobs/s");
    for (backend, runners, rate) in rows {
        println!("{backend:<12} {runners:>7} {rate:>10.0}");
    }
}
