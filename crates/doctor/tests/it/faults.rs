//! Transient trouble the doctor must ride out: rate limits, 5xx bursts, nonce rotation.

use serde_json::json;
use steward_doctor::Status;

use crate::{ctl, default_input, expect, expect_all_pass, sim};

#[tokio::test]
async fn rate_limit_storm_on_users_is_waited_out() {
    let sim = sim().await;
    ctl(
        &sim,
        "POST",
        "/faults",
        json!({"kind": "rate_limit_burst", "path": "/api/v1/users", "count": 3, "reset_secs": 1}),
    )
    .await;
    let report = steward_doctor::run(&default_input(&sim)).await;
    expect_all_pass(&report);
    let limited = sim
        .state
        .requests
        .since(0)
        .into_iter()
        .filter(|r| r.status == 429 && r.uri.starts_with("/api/v1/users"))
        .count();
    assert_eq!(limited, 3);
}

#[tokio::test]
async fn endless_rate_limiting_is_reported_clearly() {
    let sim = sim().await;
    ctl(
        &sim,
        "POST",
        "/faults",
        json!({"kind": "rate_limit_burst", "path": "/api/v1/users", "reset_secs": 1}),
    )
    .await;
    let mut i = default_input(&sim);
    i.transport.max_retries = 1;
    let report = steward_doctor::run(&i).await;
    let c = expect(&report, "role:read_only_admin", Status::Fail);
    assert!(c.detail.contains("rate limited"), "{c:#?}");
    assert!(
        c.fix.as_deref().unwrap_or_default().contains("rate limits"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn server_error_bursts_are_retried() {
    let sim = sim().await;
    for path in [
        "/api/v1/",
        "/oauth2/v1/token",
        "/.well-known/okta-organization",
    ] {
        ctl(
            &sim,
            "POST",
            "/faults",
            json!({"kind": "status", "status": 503, "path": path, "count": 3}),
        )
        .await;
    }
    let report = steward_doctor::run(&default_input(&sim)).await;
    expect_all_pass(&report);
    let errors = sim
        .state
        .requests
        .since(0)
        .into_iter()
        .filter(|r| r.status == 503)
        .count();
    assert_eq!(errors, 9);
}

#[tokio::test]
async fn nonce_rotated_between_steps() {
    let sim = sim().await;
    let state = sim.state.clone();
    let report = steward_doctor::run_with_progress(&default_input(&sim), |c| {
        // After the token checks, before the role checks get their token: the shared nonce
        // is now stale and the token endpoint challenges again.
        if c.id == "scope:okta.logs.read" {
            okta_sim::auth::nonce::rotate_hard(&state);
        }
    })
    .await;
    expect_all_pass(&report);
    let challenges = sim
        .state
        .requests
        .since(0)
        .into_iter()
        .filter(|r| r.status == 400 && r.uri.starts_with("/oauth2/v1/token"))
        .count();
    // One challenge for the first token request, one after the rotation.
    assert_eq!(challenges, 2);
}
