//! A sync killed mid-way resumes its run from the checkpoints and ends equal, without
//! duplicates.

use std::time::Duration;

use serde_json::json;
use steward_sync::testing::MemoryStore;

use crate::common::*;

/// The store fails after N writes (a database outage): the run stays open and the next
/// sync resumes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_then_resume() {
    let sim = sim(1_500, 50, 12).await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    for budget in [40, 90] {
        store.fail_writes_after(Some(budget));
        let err = s.full().await.expect_err("the store fails");
        assert!(err.is_resumable(), "{err}");
        store.fail_writes_after(None);
    }
    let report = s.full().await.expect("resumed sync");
    assert!(report.resumed);
    assert_eq!(store.runs().len(), 1, "one run, resumed twice");
    assert_equal(&sim, &store);
    let (in_log, stored) = sso_counts(&sim, &store);
    assert_eq!(in_log, stored);
}

/// The sync future is dropped mid-way (a killed process): the next call resumes the run and
/// reads fewer pages than a fresh sync would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_sync_resumes() {
    let sim = sim(2_000, 60, 12).await;
    control(
        &sim,
        "faults",
        json!({"path": "/api/v1/", "kind": "latency", "ms": 25}),
    )
    .await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    // Kill the sync once it has sent 30 requests: deterministic whatever the machine's speed
    // (a full sync of this org needs over 90).
    let running = {
        let s = syncer(&sim, store.clone());
        tokio::spawn(async move { s.full().await })
    };
    while sim.state.requests.total() < 30 {
        assert!(
            !running.is_finished(),
            "the sync ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.abort();
    assert!(
        running.await.is_err_and(|e| e.is_cancelled()),
        "the sync was killed mid-way"
    );
    let pages_before = sim.state.requests.since(0).len();
    let report = s.full().await.expect("resumed sync");
    assert!(report.resumed);
    assert_eq!(store.runs().len(), 1);
    assert_equal(&sim, &store);
    let (in_log, stored) = sso_counts(&sim, &store);
    assert_eq!(in_log, stored);
    assert!(
        pages_before > 10,
        "the first attempt got somewhere: {pages_before}"
    );
}

/// Killed during an incremental sync: the rerun resumes it and ends equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_incremental_resumes() {
    let sim = sim(1_000, 40, 10).await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    s.full().await.expect("full");
    mutate(&sim, 150, 11).await;
    store.fail_writes_after(Some(8));
    s.incremental().await.expect_err("store fails");
    store.fail_writes_after(None);
    let report = s.incremental().await.expect("resumed incremental");
    assert!(report.resumed);
    assert_equal(&sim, &store);
}
