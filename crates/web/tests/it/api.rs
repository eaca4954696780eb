//! The JSON API: tokens, session + CSRF header, the OpenAPI document.

use axum::http::{Method, StatusCode};
use serde_json::json;
use steward_app::Role;
use steward_web::secret::sha256_hex;

use super::TestApp;

#[tokio::test]
async fn admin_creates_a_token_shown_once_and_stored_hashed() {
    let t = TestApp::new().await;
    let mut admin = t.token_client(Role::Admin).await;
    let r = admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "role": "viewer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.json()["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("stw_"));
    let stored = t
        .state
        .app
        .store()
        .find_api_token_by_hash(&sha256_hex(&token))
        .await
        .expect("find")
        .expect("stored by hash");
    assert!(stored.last_used_at.is_none());

    let mut viewer = t.client();
    viewer.bearer = Some(token.clone());
    let me = viewer.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    let me = me.json();
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["via"], "token");
    assert_eq!(me["username"], "admin");
    // The viewer token can't make tokens.
    let r = viewer
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Use is recorded.
    let stored = t
        .state
        .app
        .store()
        .find_api_token_by_hash(&sha256_hex(&token))
        .await
        .expect("find")
        .expect("stored");
    assert!(stored.last_used_at.is_some());
    // Bad input is a JSON 400.
    let r = admin
        .api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "role": "root"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["code"], "bad_request");
}

#[tokio::test]
async fn session_api_calls_need_the_csrf_header_to_change_things() {
    let t = TestApp::new().await;
    let mut c = t.login("admin").await;
    let csrf = c.csrf().await;
    let me = c.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["via"], "session");
    let body = json!({"name": "ci", "role": "viewer"});
    let r = c
        .api(Method::POST, "/api/v1/tokens", Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "csrf");
    let req = axum::http::Request::post("/api/v1/tokens")
        .header("content-type", "application/json")
        .header("x-csrf-token", csrf)
        .body(axum::body::Body::from(body.to_string()))
        .expect("req");
    assert_eq!(c.send(req).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn openapi_lists_every_route_and_each_is_served() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(
        paths
            .values()
            .map(|v| v.as_object().expect("ops").len())
            .sum::<usize>(),
        steward_web::api::ROUTES.len()
    );
    for (path, ops) in paths {
        for method in ops.as_object().expect("ops").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let concrete = path.replace("{name}", "x");
            let r = c.api(m, &concrete, None).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is routed"
            );
        }
    }
    let r = c.api(Method::GET, "/api/v1/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
}
