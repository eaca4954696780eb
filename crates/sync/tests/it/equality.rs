//! The store equals Okta after full and incremental syncs; repeated syncs change nothing.

use steward_inventory::SyncKind;
use steward_sync::testing::{MemoryStore, snapshot};

use crate::common::*;

/// The required scale: 10k users, 300 groups, 50 apps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_10k_users_equal_okta() {
    let sim = sim(10_000, 300, 50).await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());

    let full = s.full().await.expect("full sync");
    assert_eq!(full.kind, SyncKind::Full);
    assert_equal(&sim, &store);
    let (in_log, stored) = sso_counts(&sim, &store);
    assert_eq!(in_log, stored, "every SSO event of the window, once");
    assert_eq!(full.stats.rate_limited, 0);
    println!("full: {:?}", full.stats);

    mutate(&sim, 200, 42).await;
    let pages: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>> =
        Default::default();
    let sink = std::sync::Arc::clone(&pages);
    let s = s.with_progress(std::sync::Arc::new(move |p| {
        sink.lock().expect("lock").insert(p.resource, p.requests);
    }));
    let inc = s.incremental().await.expect("incremental sync");
    println!("incremental pages: {:?}", pages.lock().expect("lock"));
    assert_eq!(inc.kind, SyncKind::Incremental);
    assert_equal(&sim, &store);
    println!("incremental: {:?}", inc.stats);
    assert!(
        inc.stats.requests * 5 < full.stats.requests,
        "incremental used {} requests, full {}",
        inc.stats.requests,
        full.stats.requests
    );
    let (in_log, stored) = sso_counts(&sim, &store);
    assert_eq!(in_log, stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_syncs_change_nothing() {
    let sim = sim(1_500, 60, 15).await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    s.full().await.expect("full");
    let first = snapshot(&store, CONN);
    let sso = store.sso_events(CONN).len();

    let again = s.full().await.expect("second full");
    assert!(!again.resumed);
    assert_eq!(
        snapshot(&store, CONN),
        first,
        "a second full sync changed the store"
    );
    let inc = s.incremental().await.expect("incremental");
    assert_eq!(inc.kind, SyncKind::Incremental);
    assert_eq!(
        snapshot(&store, CONN),
        first,
        "an idle incremental changed the store"
    );
    assert_eq!(store.sso_events(CONN).len(), sso);
    // Nothing changed: users/groups listings, apps, and one log page.
    assert!(inc.stats.requests <= 6, "idle incremental: {:?}", inc.stats);
    assert_equal(&sim, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_incrementals_track_mutations() {
    let sim = sim(1_000, 40, 12).await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    s.full().await.expect("full");
    for seed in 1..=3 {
        mutate(&sim, 150, seed).await;
        s.incremental().await.expect("incremental");
        assert_equal(&sim, &store);
    }
    let reconcile = s.reconcile().await.expect("reconcile");
    assert_eq!(reconcile.kind, SyncKind::Reconcile);
    assert_equal(&sim, &store);
    let (in_log, stored) = sso_counts(&sim, &store);
    assert_eq!(in_log, stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_without_baseline_runs_full() {
    let sim = sim(300, 10, 5).await;
    let store = MemoryStore::new();
    let report = syncer(&sim, store.clone())
        .incremental()
        .await
        .expect("sync");
    assert_eq!(report.kind, SyncKind::Full);
    assert_equal(&sim, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_reported_per_resource() {
    use std::sync::{Arc, Mutex};
    let sim = sim(500, 20, 6).await;
    let seen: Arc<Mutex<Vec<steward_sync::Progress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let s = syncer(&sim, MemoryStore::new()).with_progress(Arc::new(move |p| {
        sink.lock().expect("lock").push(p.clone());
    }));
    let report = s.full().await.expect("full");
    let seen = seen.lock().expect("lock");
    for r in [
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "logs",
    ] {
        assert!(seen.iter().any(|p| p.resource == r), "no progress for {r}");
    }
    let last = seen
        .iter()
        .rfind(|p| p.resource == "memberships")
        .expect("memberships");
    assert_eq!(last.estimated_remaining, Some(0));
    let pages: u64 = [
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "logs",
    ]
    .iter()
    .filter_map(|r| seen.iter().rfind(|p| p.resource == *r))
    .map(|p| p.requests)
    .sum();
    // Every request is one page here (no retries without faults).
    assert_eq!(pages as i64, report.stats.requests);
    assert_eq!(report.stats.items.get("users").copied(), Some(500));
}
