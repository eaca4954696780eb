//! Injected faults: status, latency, connection reset, 429 bursts; count / after / probability.

use crate::common::{self, date_secs, header_i64, sim_call, sim_get, sim_post};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DISCOVERY: &str = "/.well-known/openid-configuration";

async fn get(sim: &okta_sim::RunningSim, path: &str) -> reqwest::Response {
    common::http()
        .get(format!("{}{}", sim.base_url, path))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn status_503_twice_then_success() {
    let sim = common::start(None).await;
    let v = sim_post(
        &sim,
        "/faults",
        json!({"kind": "status", "status": 503, "path": DISCOVERY, "count": 2}),
    )
    .await;
    assert!(v["id"].is_string());
    for _ in 0..2 {
        let resp = get(&sim, DISCOVERY).await;
        assert_eq!(resp.status().as_u16(), 503);
        let h = resp.headers().clone();
        // The Python SDK needs Date and X-Rate-Limit-Reset on 503 (reference 10.7).
        assert!(header_i64(&h, "x-rate-limit-reset") >= date_secs(&h));
        assert!(h.get("x-rate-limit-limit").is_some());
        assert!(h.get("x-okta-request-id").is_some());
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["errorCode"], "E0000009");
        assert!(body["errorId"].is_string());
    }
    assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 200);
    assert_eq!(
        sim_get(&sim, "/faults").await["faults"],
        json!([]),
        "expired"
    );
    // The request log shows which requests a fault hit.
    let log = sim_get(&sim, "/requests").await;
    let statuses: Vec<(u64, bool)> = log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| (r["status"].as_u64().unwrap_or(0), r.get("faults").is_some()))
        .collect();
    assert_eq!(statuses, vec![(503, true), (503, true), (200, false)]);
}

#[tokio::test]
async fn after_skips_and_method_filters() {
    let sim = common::start(None).await;
    sim_post(
        &sim,
        "/faults",
        json!({"kind": "status", "status": 500, "method": "GET", "pattern": "/.well-known/*", "after": 1, "count": 1}),
    )
    .await;
    assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 200, "skipped");
    let resp = common::http()
        .post(format!("{}{}", sim.base_url, DISCOVERY))
        .send()
        .await
        .expect("POST");
    assert_ne!(resp.status().as_u16(), 500, "other method");
    assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 500);
    assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 200);
}

#[tokio::test]
async fn latency_delays_then_proceeds() {
    let sim = common::start(None).await;
    sim_post(
        &sim,
        "/faults",
        json!({"kind": "latency", "ms": 600, "path": DISCOVERY, "count": 1}),
    )
    .await;
    let started = Instant::now();
    let resp = get(&sim, DISCOVERY).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let started = Instant::now();
    get(&sim, DISCOVERY).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "expired after one"
    );
}

#[tokio::test]
async fn reset_drops_the_connection_mid_body() {
    let sim = common::start(None).await;
    sim_post(
        &sim,
        "/faults",
        json!({"kind": "reset", "path": DISCOVERY, "count": 1}),
    )
    .await;
    let resp = get(&sim, DISCOVERY).await;
    assert_eq!(resp.status().as_u16(), 200, "the headers arrive");
    let body = resp.bytes().await;
    assert!(
        body.is_err(),
        "the client must see a body error, got {body:?}"
    );
    // The next request works (on a new connection).
    let resp = common::http()
        .get(format!("{}{}", sim.base_url, DISCOVERY))
        .send()
        .await
        .expect("request on a new connection");
    let v: Value = resp.json().await.expect("full body");
    assert!(v["issuer"].is_string());
}

#[tokio::test]
async fn rate_limit_burst_gives_429_with_reset_in_n_seconds() {
    let sim = common::start(None).await;
    sim_post(
        &sim,
        "/faults",
        json!({"kind": "rate_limit_burst", "reset_secs": 7, "path": "/api/v1/", "count": 1}),
    )
    .await;
    let resp = get(&sim, "/api/v1/users").await;
    assert_eq!(resp.status().as_u16(), 429);
    let h = resp.headers().clone();
    assert_eq!(header_i64(&h, "x-rate-limit-remaining"), 0);
    let wait = header_i64(&h, "x-rate-limit-reset") - date_secs(&h);
    assert!((6..=7).contains(&wait), "Reset − Date = {wait}");
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["errorCode"], "E0000047");
    assert_ne!(get(&sim, "/api/v1/users").await.status().as_u16(), 429);
}

#[tokio::test]
async fn probability_faults_fire_some_of_the_time_and_can_be_deleted() {
    let sim = common::start(None).await;
    let v = sim_post(
        &sim,
        "/faults",
        json!({"kind": "status", "status": 502, "path": DISCOVERY, "probability": 0.5, "seed": 3}),
    )
    .await;
    let id = v["id"].as_str().expect("id").to_string();
    let mut hits = 0;
    for _ in 0..40 {
        if get(&sim, DISCOVERY).await.status().as_u16() == 502 {
            hits += 1;
        }
    }
    assert!((5..=35).contains(&hits), "{hits} of 40");
    let (status, _) = sim_call(
        &sim,
        reqwest::Method::DELETE,
        &format!("/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, v) = sim_call(
        &sim,
        reqwest::Method::DELETE,
        &format!("/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(v["error"].is_string());
    for _ in 0..10 {
        assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 200);
    }
    // Bad specs are refused with {"error"}.
    let (status, v) = sim_call(
        &sim,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"kind": "explode"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["error"].is_string());
    sim_post(&sim, "/faults", json!({"kind": "status", "status": 500})).await;
    let (status, v) = sim_call(&sim, reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!((status, v["cleared"].as_u64()), (200, Some(1)));
    assert_eq!(get(&sim, DISCOVERY).await.status().as_u16(), 200);
    // The control API itself is never faulted.
    sim_post(&sim, "/faults", json!({"kind": "status", "status": 500})).await;
    sim_get(&sim, "/faults").await;
}
