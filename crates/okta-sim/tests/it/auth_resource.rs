//! Tokens at the management API (reference 2.4, 2.5, 10.3): scheme vs token type, DPoP proofs
//! on resource requests, expiry and revocation. Only the authentication outcome is asserted
//! (what the endpoint answers once authenticated belongs to the API tests).

use crate::common::{self, authkit::*};
use chrono::TimeDelta;
use okta_sim::RunningSim;
use serde_json::json;

const USERS: &str = "/api/v1/users";

fn users_url(sim: &RunningSim) -> String {
    format!("{}{USERS}", sim.base_url)
}

/// A refusal carrying `error` and `description` in a DPoP `WWW-Authenticate` challenge.
fn assert_dpop_refusal(r: &Resp, status: u16, error: &str, description: &str) {
    let www = www_authenticate(r);
    assert_eq!(r.status, status, "{www} {:?}", r.body);
    assert!(
        www.starts_with("DPoP algs=\"RS256 RS384 RS512 ES256 ES384 ES512\""),
        "{www}"
    );
    assert!(www.contains(&format!("error=\"{error}\"")), "{www}");
    assert!(
        www.contains(&format!("error_description=\"{description}\"")),
        "{www}"
    );
}

/// Authenticated: whatever the endpoint answers, it is not an authentication failure.
fn assert_authenticated(r: &Resp) {
    let www = www_authenticate(r);
    assert!(
        r.status != 400 && r.status != 401,
        "status {} {www} {:?}",
        r.status,
        r.body
    );
    assert!(!www.contains("error="), "{www}");
}

#[tokio::test]
async fn dpop_token_with_valid_proof() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let p = resource_proof(&sim, &key, "GET", &users_url(&sim), &token);
    assert_authenticated(&api_get(&sim, USERS, &format!("DPoP {token}"), &[&p]).await);
    // The query is not part of htu.
    let p = resource_proof(&sim, &key, "GET", &users_url(&sim), &token);
    assert_authenticated(
        &api_get(
            &sim,
            &format!("{USERS}?limit=2"),
            &format!("DPoP {token}"),
            &[&p],
        )
        .await,
    );
}

#[tokio::test]
async fn dpop_token_sent_as_bearer() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let p = resource_proof(&sim, &key, "GET", &users_url(&sim), &token);
    let r = api_get(&sim, USERS, &format!("Bearer {token}"), &[&p]).await;
    assert_dpop_refusal(
        &r,
        400,
        "invalid_request",
        "The resource request must use the DPoP authentication scheme when using a DPoP bound token.",
    );
    // Details live in the header; the body is empty, as reported for Okta.
    assert_eq!(r.len, 0);
    let www = www_authenticate(&r);
    let realm = sim.base_url.clone();
    assert!(
        www.contains(&format!(
            "authorization_uri=\"{realm}/oauth2/v1/authorize\", realm=\"{realm}\""
        )),
        "{www}"
    );
    assert!(www.ends_with(&format!("resource=\"{USERS}\"")), "{www}");
}

#[tokio::test]
async fn dpop_token_without_proof() {
    let sim = common::start(None).await;
    let (token, _) = dpop_token(&sim, "okta.users.read").await;
    let r = api_get(&sim, USERS, &format!("DPoP {token}"), &[]).await;
    assert_dpop_refusal(
        &r,
        400,
        "invalid_request",
        "The resource request requires a DPoP proof.",
    );
}

#[tokio::test]
async fn proof_must_match_token_key_and_request() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let auth = format!("DPoP {token}");
    let url = users_url(&sim);
    let ath = steward_jose::sha256_b64url(token.as_bytes());
    let cases = [
        (
            proof(
                &sim,
                &key,
                "GET",
                &url,
                json!({}),
                json!({"ath": steward_jose::sha256_b64url(b"other")}),
            ),
            "'ath' claim in the DPoP proof does not match the presented access_token.",
        ),
        (
            proof(&sim, &key, "GET", &url, json!({}), json!({})),
            "'ath' claim in the DPoP proof does not match the presented access_token.",
        ),
        (
            resource_proof(&sim, &dpop_key(), "GET", &url, &token),
            "The access_token is not bound to the provided DPoP proof.",
        ),
        (
            resource_proof(
                &sim,
                &key,
                "GET",
                &format!("{}/api/v1/groups", sim.base_url),
                &token,
            ),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            resource_proof(&sim, &key, "GET", &format!("{url}?limit=2"), &token),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            resource_proof(&sim, &key, "GET", &format!("{url}/"), &token),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            resource_proof(&sim, &key, "POST", &url, &token),
            "'htm' claim in the DPoP proof JWT is invalid.",
        ),
        (
            proof(
                &sim,
                &key,
                "GET",
                &url,
                json!({}),
                json!({"ath": ath, "iat": now(&sim) - 400}),
            ),
            "The DPoP proof JWT is issued more than five minutes in the past.",
        ),
        (
            proof(
                &sim,
                &key,
                "GET",
                &url,
                json!({"typ": "JWT"}),
                json!({"ath": ath}),
            ),
            "'typ' must be 'dpop+jwt' in the DPoP proof JWT.",
        ),
    ];
    for (p, msg) in cases {
        let r = api_get(&sim, USERS, &auth, &[&p]).await;
        assert_dpop_refusal(&r, 400, "invalid_dpop_proof", msg);
    }
    let (p1, p2) = (
        resource_proof(&sim, &key, "GET", &url, &token),
        resource_proof(&sim, &key, "GET", &url, &token),
    );
    let r = api_get(&sim, USERS, &auth, &[&p1, &p2]).await;
    assert_dpop_refusal(
        &r,
        400,
        "invalid_dpop_proof",
        "Multiple DPoP proof JWT headers are not allowed.",
    );
}

#[tokio::test]
async fn resource_proofs_are_single_use() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let auth = format!("DPoP {token}");
    let p = resource_proof(&sim, &key, "GET", &users_url(&sim), &token);
    assert_authenticated(&api_get(&sim, USERS, &auth, &[&p]).await);
    let r = api_get(&sim, USERS, &auth, &[&p]).await;
    assert_dpop_refusal(
        &r,
        400,
        "invalid_dpop_proof",
        "The DPoP proof JWT has already been used.",
    );
}

#[tokio::test]
async fn htu_uses_the_percent_decoded_path() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let auth = format!("DPoP {token}");
    let path = "/api/v1/users/a%40b.com";
    // Decoded in htu: accepted (the user may not exist; that is not an auth error).
    let p = resource_proof(
        &sim,
        &key,
        "GET",
        &format!("{}/api/v1/users/a@b.com", sim.base_url),
        &token,
    );
    assert_authenticated(&api_get(&sim, path, &auth, &[&p]).await);
    // Encoded in htu: Okta refuses it (okta-sdk-python#541).
    let p = resource_proof(
        &sim,
        &key,
        "GET",
        &format!("{}{path}", sim.base_url),
        &token,
    );
    let r = api_get(&sim, path, &auth, &[&p]).await;
    assert_dpop_refusal(
        &r,
        400,
        "invalid_dpop_proof",
        "'htu' claim in the DPoP proof JWT is invalid.",
    );
}

#[tokio::test]
async fn bearer_token_with_dpop_scheme() {
    let sim = common::start(None).await;
    let token = common::bearer_token(&sim, &common::ALL_SCOPES);
    assert_authenticated(&api_get(&sim, USERS, &format!("Bearer {token}"), &[]).await);
    let key = dpop_key();
    let p = resource_proof(&sim, &key, "GET", &users_url(&sim), &token);
    let r = api_get(&sim, USERS, &format!("DPoP {token}"), &[&p]).await;
    assert_dpop_refusal(
        &r,
        401,
        "invalid_token",
        "The presented access_token is not DPoP bound.",
    );
    assert_eq!(r.body["errorCode"], "E0000011");
}

#[tokio::test]
async fn expired_revoked_and_unknown_tokens() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let bearer = common::bearer_token(&sim, &common::ALL_SCOPES);
    let url = users_url(&sim);
    // Unknown.
    let r = api_get(&sim, USERS, "Bearer not-a-token", &[]).await;
    assert_eq!(r.status, 401);
    assert!(www_authenticate(&r).contains("error=\"invalid_token\""));
    // Expired: move the org's clock past the hour.
    sim.state
        .clock
        .set_offset_ms(TimeDelta::minutes(61).num_milliseconds());
    let p = resource_proof(&sim, &key, "GET", &url, &token);
    let r = api_get(&sim, USERS, &format!("DPoP {token}"), &[&p]).await;
    assert_dpop_refusal(&r, 401, "invalid_token", "The token has expired.");
    let r = api_get(&sim, USERS, &format!("Bearer {bearer}"), &[]).await;
    assert_eq!(r.status, 401);
    assert!(
        www_authenticate(&r).starts_with("Bearer "),
        "{}",
        www_authenticate(&r)
    );
    // Revoked.
    sim.state.clock.set_offset_ms(0);
    let p = resource_proof(&sim, &key, "GET", &url, &token);
    assert_authenticated(&api_get(&sim, USERS, &format!("DPoP {token}"), &[&p]).await);
    assert!(sim.state.auth.revoke(None) >= 2);
    let p = resource_proof(&sim, &key, "GET", &url, &token);
    let r = api_get(&sim, USERS, &format!("DPoP {token}"), &[&p]).await;
    assert_dpop_refusal(
        &r,
        401,
        "invalid_token",
        "The access token has been revoked.",
    );
    let r = api_get(&sim, USERS, &format!("Bearer {bearer}"), &[]).await;
    assert_eq!(r.status, 401);
}

/// A DPoP-bound token without the endpoint's scope: 403 with an `insufficient_scope`
/// challenge in the token's own scheme (RFC 9449 section 7.1), naming the missing scope.
#[tokio::test]
async fn insufficient_scope_challenge_uses_the_dpop_scheme() {
    let sim = common::start(None).await;
    let (token, key) = dpop_token(&sim, "okta.users.read").await;
    let url = format!("{}/api/v1/groups", sim.base_url);
    let p = resource_proof(&sim, &key, "GET", &url, &token);
    let r = api_get(&sim, "/api/v1/groups", &format!("DPoP {token}"), &[&p]).await;
    assert_dpop_refusal(
        &r,
        403,
        "insufficient_scope",
        "The access token provided does not contain the required scopes.",
    );
    assert!(www_authenticate(&r).contains("scope=\"okta.groups.read\""));
}
