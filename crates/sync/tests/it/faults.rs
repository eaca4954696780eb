//! Injected faults: the sync still ends equal to Okta.

use serde_json::json;
use steward_sync::testing::MemoryStore;

use crate::common::*;

async fn fault(sim: &okta_sim::RunningSim, spec: serde_json::Value) {
    control(sim, "faults", spec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_resets_and_latency() {
    let sim = sim(1_500, 50, 12).await;
    fault(&sim, json!({"path": "/api/v1/", "kind": "status", "status": 500, "probability": 0.08, "seed": 7})).await;
    fault(&sim, json!({"path": "/api/v1/", "kind": "status", "status": 503, "probability": 0.04, "seed": 8})).await;
    fault(
        &sim,
        json!({"path": "/api/v1/", "kind": "reset", "probability": 0.05, "seed": 9}),
    )
    .await;
    fault(
        &sim,
        json!({"path": "/api/v1/", "kind": "latency", "ms": 30, "probability": 0.2, "seed": 10}),
    )
    .await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    let report = s.full().await.expect("full sync through faults");
    assert!(report.stats.errors > 0, "faults fired: {:?}", report.stats);
    assert_equal(&sim, &store);
    mutate(&sim, 100, 3).await;
    s.incremental().await.expect("incremental through faults");
    assert_equal(&sim, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_mid_page() {
    let sim = sim(1_000, 30, 8).await;
    // Every listing's second page is cut half-way once.
    fault(
        &sim,
        json!({"path": "/api/v1/users", "kind": "reset", "after": 1, "count": 2}),
    )
    .await;
    fault(&sim, json!({"pattern": "/api/v1/groups/*/users", "kind": "reset", "after": 3, "count": 2, "after_bytes": 100})).await;
    let store = MemoryStore::new();
    syncer(&sim, store.clone()).full().await.expect("full sync");
    assert_equal(&sim, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_bursts() {
    let sim = sim(1_000, 30, 8).await;
    fault(&sim, json!({"path": "/api/v1/", "kind": "rate_limit_burst", "reset_secs": 1, "after": 5, "count": 3})).await;
    fault(
        &sim,
        json!({"path": "/api/v1/logs", "kind": "rate_limit_burst", "reset_secs": 1, "count": 1}),
    )
    .await;
    let store = MemoryStore::new();
    let report = syncer(&sim, store.clone()).full().await.expect("full sync");
    assert_eq!(report.stats.rate_limited, 4, "{:?}", report.stats);
    assert!(
        report.stats.rate_limit_wait_ms >= 1000,
        "{:?}",
        report.stats
    );
    assert_equal(&sim, &store);
}

/// Tokens revoked and the DPoP nonce hard-rotated while the sync runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoked_and_nonce_rotated_mid_sync() {
    let sim = sim(2_000, 60, 12).await;
    // Slow requests down so the revocations land mid-sync.
    fault(
        &sim,
        json!({"path": "/api/v1/", "kind": "latency", "ms": 15}),
    )
    .await;
    let store = MemoryStore::new();
    let s = syncer(&sim, store.clone());
    let disrupt = async {
        for i in 0..4 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if i % 2 == 0 {
                control(&sim, "tokens/revoke", json!({})).await;
            } else {
                control(&sim, "dpop-nonce/rotate", json!({"hard": true})).await;
            }
        }
    };
    let (report, ()) = tokio::join!(s.full(), disrupt);
    report.expect("full sync");
    assert_equal(&sim, &store);
}

/// Real Okta limits (compressed 60x): the governor paces, the sync still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_rate_limits_paced() {
    let mut config = okta_sim::SimConfig {
        users: 1_000,
        groups: 30,
        apps: 8,
        log_days: 7,
        ..okta_sim::SimConfig::default()
    };
    config.rate_limits = okta_sim::ratelimit::RateLimitConfig::okta_workforce();
    config.rate_limits.time_compression = 60.0;
    let sim = okta_sim::RunningSim::start(config).await.expect("sim");
    let store = MemoryStore::new();
    let report = syncer(&sim, store.clone()).full().await.expect("full sync");
    assert_equal(&sim, &store);
    println!("paced: {:?}", report.stats);
}
