//! Several runners on one database: every job runs exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use steward_jobs::{JobError, Registry, RunSummary, Runner, handler_fn};
use steward_store::Store;
use steward_store::jobs::{JobFilter, JobState};

use crate::common::{config, new_job, postgres, sqlite_file};

const JOBS: i64 = 3_000;

type Runs = Arc<Mutex<HashMap<i64, u32>>>;

fn counting_registry(runs: &Runs) -> Registry {
    let runs = runs.clone();
    Registry::new().with(
        "count",
        handler_fn(move |job| {
            let runs = runs.clone();
            async move {
                // Give the other runners a chance to interleave.
                tokio::task::yield_now().await;
                *runs.lock().unwrap().entry(job.id.0).or_default() += 1;
                Ok::<(), JobError>(())
            }
        }),
    )
}

async fn enqueue_all(store: &Store) {
    let now = store.now();
    futures::stream::iter(0..JOBS)
        .map(|n| {
            let store = store.clone();
            async move {
                store
                    .enqueue_job(&new_job("count", n, now, 3))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Runs three runners (one per store) until idle and checks every job ran once.
async fn three_runners(name: &str, stores: [Store; 3]) {
    enqueue_all(&stores[0]).await;
    let runs: Runs = Arc::default();
    let runners: Vec<Runner> = stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Runner::new(
                s.clone(),
                counting_registry(&runs),
                config(&format!("r{i}")),
            )
        })
        .collect();
    let summaries: Vec<RunSummary> =
        futures::future::join_all(runners.iter().map(|r| r.run_until_idle()))
            .await
            .into_iter()
            .map(|s| s.unwrap())
            .collect();
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len() as i64, JOBS, "{name}: jobs lost");
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{name}: jobs run more than once: {twice:?}"
    );
    let succeeded: u64 = summaries.iter().map(|s| s.succeeded).sum();
    assert_eq!(succeeded as i64, JOBS, "{name}: {summaries:?}");
    assert!(
        summaries.iter().filter(|s| s.succeeded > 0).count() >= 2,
        "{name}: the work was not shared: {summaries:?}"
    );
    let done = stores[0]
        .list_jobs(&JobFilter {
            states: vec![JobState::Succeeded],
            kind: None,
            limit: JOBS * 2,
        })
        .await
        .unwrap();
    assert_eq!(done.len() as i64, JOBS, "{name}");
    assert!(
        done.iter().all(|j| j.attempts == 1),
        "{name}: a job was claimed twice"
    );
    let live = stores[0]
        .list_jobs(&JobFilter {
            states: vec![JobState::Pending, JobState::Running, JobState::Failed],
            kind: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(live.is_empty(), "{name}: {live:?}");
    eprintln!("{name}: {summaries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_runners_on_postgres_run_each_job_once() {
    let Some(db) = postgres().await else {
        eprintln!("skipped: STEWARD_TEST_POSTGRES_URL not set");
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Store::connect(&db.url).await.unwrap());
    }
    three_runners("postgres", stores.try_into().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_runners_sharing_a_sqlite_store_run_each_job_once() {
    let db = sqlite_file();
    let store = Store::connect(&db.url).await.unwrap();
    three_runners("sqlite shared", [store.clone(), store.clone(), store]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_sqlite_handles_on_one_file_run_each_job_once() {
    let db = sqlite_file();
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Store::connect(&db.url).await.unwrap());
    }
    three_runners("sqlite handles", stores.try_into().unwrap()).await;
}
