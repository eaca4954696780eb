//! Behaviour against a scripted local server: single flight, nonce challenge,
//! fresh proofs per retry, 429 handling, pagination.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::TryStreamExt;
use okta_client::{OktaError, PrivateKeyInput};
use serde_json::{Value, json};
use steward_jose::{Alg, PrivateKey, jws};

#[derive(Default)]
struct Log {
    token_posts: usize,
    token_ok: usize,
    assertion_jtis: Vec<String>,
    proof_jtis: Vec<String>,
    api_calls: usize,
    /// Statuses to answer the next API calls with before succeeding.
    api_failures: Vec<u16>,
    base: String,
}

type Shared = Arc<Mutex<Log>>;

fn claims(jwt: &str) -> serde_json::Map<String, Value> {
    jws::decode(jwt).expect("jws").claims
}

async fn token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let assertion = form
        .iter()
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut log = s.lock().expect("lock");
    log.token_posts += 1;
    let a = claims(&assertion);
    log.assertion_jtis
        .push(a["jti"].as_str().expect("jti").to_owned());
    assert_eq!(a["aud"], format!("{}/oauth2/v1/token", log.base));
    let Some(proof) = proof else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error":"invalid_dpop_proof","error_description":"The DPoP proof JWT header is missing."}))).into_response();
    };
    let p = claims(&proof);
    log.proof_jtis
        .push(p["jti"].as_str().expect("jti").to_owned());
    assert_eq!(p["htm"], "POST");
    if p.get("nonce").and_then(Value::as_str) != Some("n-1") {
        return (StatusCode::BAD_REQUEST, [("dpop-nonce", "n-1")], Json(json!({"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof."}))).into_response();
    }
    log.token_ok += 1;
    Json(json!({"token_type":"DPoP","expires_in":3600,"access_token":"at-1","scope":"okta.users.read"})).into_response()
}

async fn users(State(s): State<Shared>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let mut log = s.lock().expect("lock");
    log.api_calls += 1;
    assert_eq!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("DPoP at-1")
    );
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .expect("proof");
    let p = claims(proof);
    assert_eq!(p["ath"], steward_jose::sha256_b64url(b"at-1"));
    assert_eq!(p["htu"], format!("{}/api/v1/users", log.base));
    log.proof_jtis
        .push(p["jti"].as_str().expect("jti").to_owned());
    if !log.api_failures.is_empty() {
        let status = log.api_failures.remove(0);
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let reset = (chrono::Utc::now().timestamp()).to_string();
        return (
            StatusCode::from_u16(status).expect("status"),
            [
                ("date", date),
                ("x-rate-limit-reset", reset),
                ("x-rate-limit-remaining", "0".into()),
            ],
            "",
        )
            .into_response();
    }
    let base = log.base.clone();
    match uri.query() {
        Some(q) if q.contains("after=2") => (
            StatusCode::OK,
            [(
                "link",
                format!("<{base}/api/v1/users?after=3>; rel=\"next\""),
            )],
            Json(json!([])),
        )
            .into_response(),
        Some(q) if q.contains("after=1") => (
            StatusCode::OK,
            [(
                "link",
                format!("<{base}/api/v1/users?after=2>; rel=\"next\""),
            )],
            Json(json!([{"id":"00u2","status":"ACTIVE"}])),
        )
            .into_response(),
        _ => (
            StatusCode::OK,
            [(
                "link",
                format!("<{base}/api/v1/users?after=1>; rel=\"next\""),
            )],
            Json(json!([{"id":"00u1","status":"ACTIVE"}])),
        )
            .into_response(),
    }
}

async fn start() -> (Shared, String) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/oauth2/v1/token", post(token))
        .route("/api/v1/users", get(users))
        .route(
            "/api/v1/evil",
            get(|| async {
                (
                    [("link", "<https://evil.example/x>; rel=\"next\"")],
                    Json(json!([1])),
                )
            }),
        )
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    shared.lock().expect("lock").base = format!("http://{addr}");
    (shared, addr.to_string())
}

fn key() -> PrivateKeyInput {
    PrivateKeyInput::from_key(PrivateKey::generate_ec(Alg::ES256).expect("key"))
}

fn unique(v: &[String]) -> bool {
    v.iter().collect::<HashSet<_>>().len() == v.len()
}

#[tokio::test]
async fn cold_cache_single_flight_with_nonce_challenge() {
    let (log, authority) = start().await;
    let client = crate::client_for(&authority, "0oa1b2c3d4e5f6g7h8i9", key());
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.get_json::<Value>("/api/v1/users").await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("request");
    }
    let log = log.lock().expect("lock");
    assert_eq!(log.token_posts, 2, "one nonce challenge + one grant");
    assert_eq!(log.token_ok, 1);
    assert_eq!(log.api_calls, 50);
    assert!(
        unique(&log.assertion_jtis),
        "fresh assertion per token attempt"
    );
    assert!(unique(&log.proof_jtis), "no DPoP jti sent twice");
}

#[tokio::test]
async fn retries_use_fresh_proofs() {
    let (log, authority) = start().await;
    log.lock().expect("lock").api_failures = vec![503, 429, 502];
    let client = crate::client_for(&authority, "0oa1b2c3d4e5f6g7h8i9", key());
    client
        .get_json::<Value>("/api/v1/users")
        .await
        .expect("eventually succeeds");
    let log = log.lock().expect("lock");
    assert_eq!(log.api_calls, 4);
    assert!(unique(&log.proof_jtis));
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let (log, authority) = start().await;
    log.lock().expect("lock").api_failures = vec![500; 10];
    let client = crate::client_for(&authority, "0oa1b2c3d4e5f6g7h8i9", key());
    let err = client
        .get_json::<Value>("/api/v1/users")
        .await
        .expect_err("fails");
    assert!(matches!(err, OktaError::Api { status: 500, .. }), "{err:?}");
    assert_eq!(log.lock().expect("lock").api_calls, 5, "1 try + 4 retries");
}

#[tokio::test]
async fn paginates_and_stops_on_empty_page() {
    let (_log, authority) = start().await;
    let client = crate::client_for(&authority, "0oa1b2c3d4e5f6g7h8i9", key());
    let items: Vec<Value> = client
        .paginate("/api/v1/users?limit=1")
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(items.len(), 2);
    let users: Vec<okta_client::models::User> = client
        .paginate_as("/api/v1/users")
        .try_collect()
        .await
        .expect("typed");
    assert_eq!(users[1].id, "00u2");
    let err = client
        .paginate("/api/v1/evil")
        .try_collect::<Vec<_>>()
        .await
        .expect_err("cross host");
    assert!(matches!(err, OktaError::CrossHostLink { .. }));
}
