//! Every route: unauthenticated callers are sent to the login page (pages) or get 401
//! (API), and each role is allowed or refused (403) as designed.

use axum::http::{Method, StatusCode};
use serde_json::json;
use steward_app::Role;

use super::TestApp;

/// Form fields of a POST.
type Fields = &'static [(&'static str, &'static str)];

/// (method, path, form fields, least role).
const PAGES: &[(&str, &str, Fields, Role)] = &[
    ("GET", "/", &[], Role::Viewer),
    ("GET", "/settings/okta", &[], Role::Admin),
    ("POST", "/settings/okta", &[("action", "save")], Role::Admin),
    ("GET", "/settings/okta/nope", &[], Role::Admin),
    ("POST", "/settings/okta/nope/test", &[], Role::Admin),
    (
        "POST",
        "/settings/okta/nope/rotate",
        &[("action", "cancel")],
        Role::Admin,
    ),
    ("POST", "/settings/okta/nope/disconnect", &[], Role::Admin),
    ("GET", "/users", &[], Role::Viewer),
    ("GET", "/users/nope", &[], Role::Viewer),
    ("GET", "/groups", &[], Role::Viewer),
    ("GET", "/groups/nope", &[], Role::Viewer),
    ("GET", "/apps", &[], Role::Viewer),
    ("GET", "/apps/nope", &[], Role::Viewer),
    ("GET", "/sync", &[], Role::Viewer),
    ("POST", "/sync", &[("connection", "nope")], Role::Admin),
    ("GET", "/settings/accounts", &[], Role::Admin),
    (
        "POST",
        "/settings/accounts",
        &[("username", "made-by-the-roles-test"), ("role", "viewer")],
        Role::Admin,
    ),
    (
        "POST",
        "/settings/accounts/999/role",
        &[("role", "viewer")],
        Role::Admin,
    ),
    ("POST", "/settings/accounts/999/disable", &[], Role::Admin),
    ("POST", "/settings/accounts/999/enable", &[], Role::Admin),
    (
        "POST",
        "/settings/accounts/999/reset-password",
        &[],
        Role::Admin,
    ),
    ("GET", "/account/password", &[], Role::Viewer),
    (
        "POST",
        "/account/password",
        &[("current", "wrong"), ("new", "x"), ("confirm", "y")],
        Role::Viewer,
    ),
    ("GET", "/settings/tokens", &[], Role::Admin),
    (
        "POST",
        "/settings/tokens",
        &[("name", "made-by-the-roles-test"), ("role", "viewer")],
        Role::Admin,
    ),
    ("POST", "/settings/tokens/999/revoke", &[], Role::Admin),
];

fn api_routes() -> Vec<(Method, &'static str, Option<serde_json::Value>, Role)> {
    vec![
        (Method::GET, "/api/v1/me", None, Role::Viewer),
        (Method::GET, "/api/v1/connections", None, Role::Viewer),
        (
            Method::POST,
            "/api/v1/connections",
            Some(json!({})),
            Role::Admin,
        ),
        (
            Method::POST,
            "/api/v1/connections/nope/test",
            None,
            Role::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/connections/nope",
            None,
            Role::Admin,
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "role": "viewer"})),
            Role::Admin,
        ),
        (Method::GET, "/api/v1/users?search=a", None, Role::Viewer),
        (Method::GET, "/api/v1/users/nope", None, Role::Viewer),
        (Method::GET, "/api/v1/groups", None, Role::Viewer),
        (Method::GET, "/api/v1/groups/nope", None, Role::Viewer),
        (Method::GET, "/api/v1/apps", None, Role::Viewer),
        (Method::GET, "/api/v1/apps/nope", None, Role::Viewer),
        (Method::GET, "/api/v1/sync-runs", None, Role::Viewer),
        (
            Method::GET,
            "/api/v1/connections/nope/sync",
            None,
            Role::Viewer,
        ),
        (
            Method::POST,
            "/api/v1/connections/nope/sync",
            Some(json!({"kind": "full"})),
            Role::Admin,
        ),
    ]
}

#[tokio::test]
async fn pages_need_a_session() {
    let t = TestApp::new().await;
    let mut c = t.client();
    for (method, path, fields, _) in PAGES {
        let r = match *method {
            "GET" => c.get(path).await,
            _ => c.post_form(path, fields).await,
        };
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
        assert!(r.location().starts_with("/login?next="), "{method} {path}");
    }
}

#[tokio::test]
async fn pages_by_role() {
    let t = TestApp::new().await;
    for role in [Role::Viewer, Role::Approver, Role::Admin] {
        let mut c = t.login(role.as_str()).await;
        let csrf = c.csrf().await;
        for (method, path, fields, least) in PAGES {
            let r = match *method {
                "GET" => c.get(path).await,
                _ => {
                    let mut f = fields.to_vec();
                    f.push(("csrf", &csrf));
                    c.post_form(path, &f).await
                }
            };
            if role.allows(*least) {
                assert!(
                    !matches!(r.status, StatusCode::FORBIDDEN | StatusCode::SEE_OTHER),
                    "{role:?} {method} {path}: {}",
                    r.status
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                assert!(r.body.contains("forbidden"));
            }
        }
    }
}

#[tokio::test]
async fn api_needs_a_token_or_session() {
    let t = TestApp::new().await;
    let mut c = t.client();
    for (method, path, body, _) in api_routes() {
        let r = c.api(method.clone(), path, body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let j = r.json();
        assert_eq!(j["error"]["code"], "unauthenticated");
        assert_eq!(
            j["request_id"].as_str(),
            r.headers["x-request-id"].to_str().ok()
        );
    }
    // A malformed or unknown token is 401 too.
    for bad in ["stw_not-a-real-token", "something-else"] {
        c.bearer = Some(bad.into());
        assert_eq!(
            c.api(Method::GET, "/api/v1/me", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn api_by_token_role() {
    let t = TestApp::new().await;
    for role in [Role::Viewer, Role::Approver, Role::Admin] {
        let mut c = t.token_client(role).await;
        for (method, path, body, least) in api_routes() {
            let r = c.api(method.clone(), path, body).await;
            if role.allows(least) {
                assert!(
                    !matches!(r.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
                    "{role:?} {method} {path}: {} {}",
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                assert_eq!(r.json()["error"]["code"], "forbidden");
            }
        }
    }
}
