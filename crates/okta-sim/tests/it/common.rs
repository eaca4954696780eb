//! Shared helpers: start a simulator, mint tokens directly, make requests.
#![allow(dead_code)]

use chrono::TimeDelta;
use okta_sim::auth::IssuedToken;
use okta_sim::{RunningSim, SimConfig};

/// Starts a small org (50 users, rate limits off) unless a config is given.
pub async fn start(config: Option<SimConfig>) -> RunningSim {
    RunningSim::start(config.unwrap_or_else(SimConfig::small))
        .await
        .expect("okta-sim starts")
}

/// Issues a Bearer token for the simulator's default app directly in its token store,
/// bypassing the token endpoint (for tests of the management API).
pub fn bearer_token(sim: &RunningSim, scopes: &[&str]) -> String {
    let token = format!("test-{}", uuid::Uuid::new_v4());
    sim.state.auth.issue(
        IssuedToken {
            client_id: sim.credentials.client_id.clone(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: sim.state.clock.now() + TimeDelta::hours(1),
            jkt: None,
            revoked: false,
        },
        token,
    )
}

/// All five default scopes.
pub const ALL_SCOPES: [&str; 5] = okta_sim::config::DEFAULT_SCOPES;

/// A reqwest client that follows no redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GET `path` with a Bearer token; returns status, headers and JSON body (Null when empty).
pub async fn get(
    sim: &RunningSim,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let resp = http()
        .get(format!("{}{}", sim.base_url, path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    };
    (status, headers, body)
}

/// The `rel="next"` URL from `Link` headers, if any.
pub fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers.get_all("link").iter().find_map(|v| {
        let s = v.to_str().ok()?;
        s.contains("rel=\"next\"")
            .then(|| s.split(['<', '>']).nth(1).unwrap_or_default().to_string())
    })
}

/// Assertion and DPoP proof builders for the `auth_*` tests.
#[path = "auth_helpers.rs"]
pub mod authkit;

// ---- control API helpers (control, ratelimit and faults tests) ----

/// Calls the control API: `method` on `/__sim{path}` with an optional JSON body; returns the
/// status and the JSON body (Null when empty).
pub async fn sim_call(
    sim: &RunningSim,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = http().request(method, format!("{}/__sim{}", sim.base_url, path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("control request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("control body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("control API answers JSON")
    };
    (status, body)
}

/// POST to the control API, expecting a 2xx; returns the body.
pub async fn sim_post(sim: &RunningSim, path: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, v) = sim_call(sim, reqwest::Method::POST, path, Some(body)).await;
    assert!(
        (200..300).contains(&status),
        "POST /__sim{path}: {status} {v}"
    );
    v
}

/// PUT to the control API, expecting a 2xx; returns the body.
pub async fn sim_put(sim: &RunningSim, path: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, v) = sim_call(sim, reqwest::Method::PUT, path, Some(body)).await;
    assert!(
        (200..300).contains(&status),
        "PUT /__sim{path}: {status} {v}"
    );
    v
}

/// GET from the control API, expecting 200; returns the body.
pub async fn sim_get(sim: &RunningSim, path: &str) -> serde_json::Value {
    let (status, v) = sim_call(sim, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "GET /__sim{path}: {v}");
    v
}

/// Issues a Bearer token for any client directly in the token store (like [`bearer_token`]).
pub fn token_for_client(sim: &RunningSim, client_id: &str, scopes: &[&str]) -> String {
    let token = format!("test-{}", uuid::Uuid::new_v4());
    sim.state.auth.issue(
        IssuedToken {
            client_id: client_id.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: sim.state.clock.now() + TimeDelta::hours(1),
            jkt: None,
            revoked: false,
        },
        token,
    )
}

/// A header as an integer (panics when absent: the tests require it).
pub fn header_i64(headers: &reqwest::header::HeaderMap, name: &str) -> i64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .expect("ascii header")
        .parse()
        .unwrap_or_else(|_| panic!("header {name} is not an integer"))
}

/// The `Date` header as epoch seconds.
pub fn date_secs(headers: &reqwest::header::HeaderMap) -> i64 {
    let date = headers
        .get("date")
        .expect("Date header")
        .to_str()
        .expect("ascii Date");
    let t = httpdate::parse_http_date(date).expect("RFC 1123 Date");
    t.duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

// ---- management API helpers (api_* tests) ----

/// Any method with a Bearer token; returns status, headers and JSON body (Null when empty).
pub async fn send(
    sim: &RunningSim,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let resp = http()
        .request(method, format!("{}{}", sim.base_url, path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    };
    (status, headers, body)
}

/// Issues a Bearer token for any client id directly in the token store.
pub fn token_for(sim: &RunningSim, client_id: &str, scopes: &[&str]) -> String {
    let token = format!("test-{}", uuid::Uuid::new_v4());
    sim.state.auth.issue(
        IssuedToken {
            client_id: client_id.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: sim.state.clock.now() + TimeDelta::hours(1),
            jkt: None,
            revoked: false,
        },
        token,
    )
}

/// Creates a second API Services app with `roles` and all default scopes granted, and returns a
/// token for it carrying `scopes`.
pub fn second_app_token(sim: &RunningSim, roles: &[&str], scopes: &[&str]) -> String {
    let created = okta_sim::credentials::create_service_app(
        &sim.state,
        okta_sim::credentials::ServiceAppSpec {
            label: "Second".into(),
            public_keys: Vec::new(),
            client_secret: false,
            dpop: okta_sim::DpopMode::Optional,
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            roles: roles.iter().map(|s| s.to_string()).collect(),
            application_type: "service".into(),
        },
    )
    .expect("second app");
    token_for(sim, &created.client_id, scopes)
}

/// Turns an absolute `Link` URL into a path on the simulator (as the Python SDK does).
pub fn relative(sim: &RunningSim, url: &str) -> String {
    url.strip_prefix(&sim.base_url).unwrap_or(url).to_string()
}

/// The values of all `Link` headers.
pub fn links(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// Follows `next` from `path` until the end (at most `max_pages`), asserting that every page
/// is 200 and carries a `self` link. Returns all items and the number of pages.
pub async fn all_pages(
    sim: &RunningSim,
    token: &str,
    path: &str,
    max_pages: usize,
) -> (Vec<serde_json::Value>, usize) {
    let mut items = Vec::new();
    let mut next = Some(path.to_string());
    let mut pages = 0;
    while let Some(p) = next {
        let (status, headers, body) = get(sim, token, &p).await;
        assert_eq!(status, 200, "{p}: {body}");
        assert!(
            links(&headers).iter().any(|l| l.ends_with("rel=\"self\"")),
            "self link on {p}"
        );
        items.extend(body.as_array().cloned().unwrap_or_default());
        pages += 1;
        assert!(pages <= max_pages, "too many pages from {path}");
        next = next_link(&headers).map(|u| relative(sim, &u));
    }
    (items, pages)
}

/// The `errorCode` of an error body.
pub fn error_code(body: &serde_json::Value) -> &str {
    body["errorCode"].as_str().unwrap_or_default()
}
