//! End-to-end against okta-sim.

use std::collections::HashSet;

use okta_client::{DpopMode, OktaClient, OktaConfig, PrivateKeyInput};
use okta_sim::{RunningSim, SimConfig};
use serde_json::Value;

async fn sim(dpop: okta_sim::DpopMode) -> RunningSim {
    let mut config = SimConfig::small();
    config.dpop = dpop;
    RunningSim::start(config).await.expect("simulator")
}

fn client(sim: &RunningSim, mode: DpopMode) -> OktaClient {
    let c = &sim.credentials;
    let key = PrivateKeyInput::parse(&c.private_key_jwk.to_string(), None).expect("key");
    let base = crate::client_for(&c.domain, &c.client_id, key);
    let mut config: OktaConfig = base.config().clone();
    config.dpop = mode;
    config.scopes = c.scopes.clone();
    OktaClient::new(config).expect("client")
}

fn token_requests(sim: &RunningSim) -> (usize, usize) {
    let reqs = sim.state.requests.since(0);
    let token: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.uri.starts_with("/oauth2/v1/token"))
        .collect();
    (
        token.len(),
        token.iter().filter(|r| r.status == 200).count(),
    )
}

#[tokio::test]
async fn dpop_required_with_nonce_challenge() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let c = client(&sim, DpopMode::Auto);
    let t = c.token().await.expect("token");
    assert_eq!(t.token_type, okta_client::auth::TokenType::Dpop);
    let users: Vec<Value> = c.get_json("/api/v1/users?limit=5").await.expect("users");
    assert!(!users.is_empty());
}

#[tokio::test]
async fn bearer_when_dpop_optional() {
    let sim = sim(okta_sim::DpopMode::Optional).await;
    let c = client(&sim, DpopMode::Off);
    let t = c.token().await.expect("token");
    assert_eq!(t.token_type, okta_client::auth::TokenType::Bearer);
    let _: Vec<Value> = c.get_json("/api/v1/groups").await.expect("groups");
}

#[tokio::test]
async fn fifty_concurrent_calls_one_token() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let c = client(&sim, DpopMode::Auto);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.get_json::<Value>("/api/v1/users?limit=2").await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("call");
    }
    let (_, ok) = token_requests(&sim);
    assert_eq!(ok, 1, "exactly one successful token request");
    let jtis: Vec<String> = sim
        .state
        .requests
        .since(0)
        .into_iter()
        .filter_map(|r| r.dpop_jti)
        .collect();
    assert_eq!(
        jtis.iter().collect::<HashSet<_>>().len(),
        jtis.len(),
        "no DPoP jti sent twice"
    );
}

/// A user looked up by login, with the `@` percent-encoded by the caller: the request goes
/// out with the canonical path and the proof's `htu` matches it, so a DPoP-bound call
/// succeeds (the failure okta-sdk-python#541 reports against real Okta).
#[tokio::test]
async fn login_with_at_sign_over_dpop() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let c = client(&sim, DpopMode::Auto);
    let login = {
        let org = sim.state.org.read();
        org.users
            .iter()
            .find(|u| !u.deleted)
            .expect("a user")
            .profile
            .login
            .clone()
    };
    let encoded = login.replace('@', "%40");
    let user: Value = c
        .get_json(&format!("/api/v1/users/{encoded}"))
        .await
        .expect("user by login");
    assert_eq!(user["profile"]["login"], login.as_str());
    let last = sim.state.requests.since(0).pop().expect("request");
    assert!(last.uri.contains(&login), "sent as {}", last.uri);
}
