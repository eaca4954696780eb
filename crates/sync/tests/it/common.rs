//! Shared fixtures: a simulator, a client for it, a syncer over a MemoryStore, the truth.

use std::sync::Arc;
use std::time::Duration;

use okta_client::{ClientId, OktaClient, OktaConfig, OktaDomain, PrivateKeyInput};
use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use steward_inventory::InventoryStore;
use steward_sync::testing::{MemoryStore, diff, snapshot};
use steward_sync::{SyncConfig, Syncer, SystemClock};

pub const CONN: i64 = 1;

/// A simulator with `users` users, `groups` groups and `apps` apps, 7 days of log.
pub async fn sim(users: usize, groups: usize, apps: usize) -> RunningSim {
    let config = SimConfig {
        users,
        groups,
        apps,
        log_days: 7,
        ..SimConfig::default()
    };
    RunningSim::start(config).await.expect("simulator")
}

/// A client for `sim` with quick retries.
pub fn client(sim: &RunningSim) -> OktaClient {
    let c = &sim.credentials;
    let key = PrivateKeyInput::parse(&c.private_key_jwk.to_string(), None).expect("key");
    let domain = OktaDomain::parse(&c.domain, true).expect("domain");
    let id = ClientId::parse(&c.client_id).expect("client id");
    let mut config = OktaConfig::new(domain, id, key);
    config.scopes = c.scopes.clone();
    config.transport.backoff_base = Duration::from_millis(10);
    config.transport.backoff_max = Duration::from_millis(100);
    config.transport.max_retries = 6;
    config.transport.max_rate_limit_wait = Duration::from_secs(3);
    // The simulator's (possibly compressed) rate-limit window, as Okta's would be 60 s.
    let window_ms = sim.state.limits.config().window_ms();
    config.transport.rate_limit_window = Duration::from_millis(window_ms.unsigned_abs());
    OktaClient::new(config).expect("client")
}

/// A syncer over `store` with 7 days of log.
pub fn syncer<S: InventoryStore>(sim: &RunningSim, store: S) -> Syncer<S> {
    let client = client(sim);
    let config = SyncConfig {
        log_days: 7,
        ..SyncConfig::for_client(&client)
    };
    Syncer::new(client, store, CONN, config, Arc::new(SystemClock))
}

/// The simulator's ground truth.
pub fn truth(sim: &RunningSim) -> Value {
    okta_sim::control::truth::snapshot_of(&sim.state.org.read())
}

/// Asserts the store holds exactly what the simulator holds.
pub fn assert_equal(sim: &RunningSim, store: &MemoryStore) {
    assert_snapshot_equal(&truth(sim), &snapshot(store, CONN));
}

pub fn assert_snapshot_equal(expected: &Value, actual: &Value) {
    let d = diff(expected, actual);
    assert!(d.is_empty(), "store differs from Okta:\n{}", d.join("\n"));
}

/// Number of SSO events the simulator's log holds since `since`.
pub fn sso_events_since(sim: &RunningSim, since: chrono::DateTime<chrono::Utc>) -> usize {
    let org = sim.state.org.read();
    org.log
        .iter()
        .filter(|e| e.event_type == "user.authentication.sso" && e.published >= since)
        .count()
}

/// `POST {base}/__sim/{path}` with `body`.
pub async fn control(sim: &RunningSim, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/__sim/{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .expect("control call");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("control JSON")
}

/// SSO events in the log since 7 days before the first run's start, and in the store.
pub fn sso_counts(sim: &RunningSim, store: &MemoryStore) -> (usize, usize) {
    let first = store.runs().first().expect("a run").started_at;
    let since = first - chrono::TimeDelta::days(7);
    (sso_events_since(sim, since), store.sso_events(CONN).len())
}

/// Applies `count` random mutations.
pub async fn mutate(sim: &RunningSim, count: u32, seed: u64) {
    let r = control(
        sim,
        "mutations/random",
        json!({"count": count, "seed": seed}),
    )
    .await;
    let applied = r["applied"].as_array().map_or(0, Vec::len);
    assert!(applied > count as usize / 2, "mutations applied: {r}");
}
