//! The doctor against okta-sim, one test per misconfiguration: each asserts the check, the
//! setup step and the fix the doctor names.

mod faults;
mod misconfig;

use std::time::Duration;

use okta_sim::credentials::{ServiceAppSpec, create_service_app};
use okta_sim::{RunningSim, SimConfig};
use serde_json::Value;
use steward_doctor::{Check, ConnectionInput, Report, SetupStep, Status};
use steward_jose::PrivateKey;
use zeroize::Zeroizing;

/// A small org; `tweak` adjusts the config.
pub async fn sim_with(tweak: impl FnOnce(&mut SimConfig)) -> RunningSim {
    let mut config = SimConfig::small();
    config.users = 30;
    config.groups = 6;
    config.apps = 3;
    config.log_days = 1;
    tweak(&mut config);
    RunningSim::start(config).await.expect("okta-sim starts")
}

pub async fn sim() -> RunningSim {
    sim_with(|_| {}).await
}

/// The doctor's input for `client_id` with `key_text`, fast retries.
pub fn input(sim: &RunningSim, client_id: &str, key_text: &str) -> ConnectionInput {
    let mut i = ConnectionInput::new(
        &sim.credentials.domain,
        client_id,
        Zeroizing::new(key_text.to_owned()),
    );
    i.allow_insecure_loopback = true;
    i.transport.backoff_base = Duration::from_millis(10);
    i.transport.backoff_max = Duration::from_millis(50);
    i
}

/// The input for the simulator's default app (Okta's JWK copy of the key).
pub fn default_input(sim: &RunningSim) -> ConnectionInput {
    input(
        sim,
        &sim.credentials.client_id,
        &sim.credentials.private_key_jwk.to_string(),
    )
}

/// A new API Services app with the given scopes and roles; returns its id and key.
pub fn app(sim: &RunningSim, scopes: &[&str], roles: &[&str]) -> (String, PrivateKey) {
    let created = create_service_app(
        &sim.state,
        ServiceAppSpec {
            label: "Steward test".into(),
            public_keys: Vec::new(),
            client_secret: false,
            dpop: okta_sim::DpopMode::Required,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
            application_type: "service".into(),
        },
    )
    .expect("app");
    (created.client_id, created.generated_key.expect("key"))
}

/// Calls the simulator's control API.
pub async fn ctl(sim: &RunningSim, method: &str, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            format!("{}/__sim{path}", sim.base_url),
        )
        .json(&body)
        .send()
        .await
        .expect("control call");
    assert!(
        resp.status().is_success(),
        "control {method} {path}: {}",
        resp.status()
    );
    resp.json().await.unwrap_or(Value::Null)
}

/// The check `id`, asserting its status (the report is printed on failure).
#[track_caller]
pub fn expect<'a>(report: &'a Report, id: &str, status: Status) -> &'a Check {
    let c = report
        .check(id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#?}"));
    assert_eq!(c.status, status, "check {id}: {c:#?}\nreport: {report:#?}");
    match status {
        Status::Pass => assert!(c.fix.is_none(), "{c:#?}"),
        _ => assert!(c.fix.as_deref().is_some_and(|f| !f.is_empty()), "{c:#?}"),
    }
    c
}

/// Asserts the step of a check.
#[track_caller]
pub fn expect_step(c: &Check, step: SetupStep) {
    assert_eq!(c.step, step, "{c:#?}");
}

/// Every check passes.
#[track_caller]
pub fn expect_all_pass(report: &Report) {
    for c in &report.checks {
        assert_eq!(c.status, Status::Pass, "{c:#?}\nreport: {report:#?}");
    }
    assert!(report.ok);
}

/// Nothing in the report quotes the private key.
#[track_caller]
pub fn expect_no_secret(report: &Report, key: &PrivateKey) {
    let text = serde_json::to_string(&report.to_json()).expect("json");
    let jwk = key.to_private_jwk();
    let d = jwk["d"].as_str().expect("d");
    assert!(!text.contains(d), "private key material in the report");
    assert!(!text.contains("PRIVATE KEY"));
    assert!(
        !text.contains("eyJ"),
        "a JWT (token, assertion or proof) in the report"
    );
}

#[tokio::test]
async fn happy_path_all_pass_and_changes_nothing() {
    let sim = sim().await;
    let before = ctl(&sim, "GET", "/snapshot", Value::Null).await;
    let report = steward_doctor::run(&default_input(&sim)).await;
    expect_all_pass(&report);
    assert!(report.dpop);
    assert_eq!(
        report.granted_scopes.len(),
        5,
        "{:?}",
        report.granted_scopes
    );
    assert_eq!(report.checks.len(), 13);
    let gma = expect(&report, "role:group_membership_admin", Status::Pass);
    assert!(
        gma.detail.contains("DELETE /api/v1/groups/"),
        "{}",
        gma.detail
    );
    assert!(gma.detail.contains("not a member"), "{}", gma.detail);
    let after = ctl(&sim, "GET", "/snapshot", Value::Null).await;
    assert_eq!(before, after, "the doctor changed the org");
    let key = PrivateKey::from_jwk(&sim.credentials.private_key_jwk).expect("key");
    expect_no_secret(&report, &key);
    // Same with the PEM copy of the key (single key on the app: no kid needed).
    let pem = input(
        &sim,
        &sim.credentials.client_id,
        &sim.credentials.private_key_pem,
    );
    expect_all_pass(&steward_doctor::run(&pem).await);
}

#[tokio::test]
async fn checks_are_reported_in_order_as_they_complete() {
    let sim = sim().await;
    let mut seen = Vec::new();
    let report =
        steward_doctor::run_with_progress(&default_input(&sim), |c| seen.push(c.id.clone())).await;
    let ids: Vec<String> = report.checks.iter().map(|c| c.id.clone()).collect();
    assert_eq!(seen, ids);
    assert_eq!(
        &ids[..6],
        [
            "org",
            "client_id",
            "client_auth",
            "private_key",
            "dpop",
            "clock"
        ]
    );
    assert_eq!(ids[6], "scope:okta.users.read");
    assert_eq!(ids[11], "role:read_only_admin");
    assert_eq!(ids[12], "role:group_membership_admin");
}
