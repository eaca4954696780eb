//! Rate limits (reference 7): headers, 429 `E0000047`, per-app share, windows, concurrency.

use crate::common::{self, ALL_SCOPES, date_secs, header_i64, sim_get, sim_post, sim_put};
use okta_sim::SimConfig;
use okta_sim::ratelimit::RateLimitConfig;
use serde_json::{Value, json};

fn limited(config: RateLimitConfig) -> SimConfig {
    SimConfig {
        rate_limits: config,
        ..SimConfig::small()
    }
}

/// One bucket on `/api/v1/users` of `per_minute`, with the given share and compression.
fn users_bucket(per_minute: u32, share: u32, compression: f64) -> Value {
    json!({
        "enabled": true,
        "buckets": [{"name": "users", "pattern": "/api/v1/users", "per_minute": per_minute}],
        "app_share_percent": share,
        "concurrency": 75,
        "time_compression": compression,
    })
}

/// GET `path` without any token (the org-wide count only).
async fn anonymous(sim: &okta_sim::RunningSim, path: &str) -> reqwest::Response {
    common::http()
        .get(format!("{}{}", sim.base_url, path))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn okta_defaults_send_decreasing_headers_with_the_app_share() {
    let sim = common::start(Some(limited(RateLimitConfig::okta_workforce()))).await;
    let token = common::bearer_token(&sim, &ALL_SCOPES);
    let mut last = None;
    let mut first_reset = None;
    for _ in 0..3 {
        let (_, h, _) = common::get(&sim, &token, "/api/v1/users?limit=1").await;
        // GET/POST /api/v1/users: 600/min, of which one app may use 50 % (reference 7).
        assert_eq!(header_i64(&h, "x-rate-limit-limit"), 300);
        let remaining = header_i64(&h, "x-rate-limit-remaining");
        if let Some(prev) = last {
            assert_eq!(remaining, prev - 1, "Remaining must count down");
        } else {
            assert_eq!(remaining, 299);
        }
        last = Some(remaining);
        let reset = header_i64(&h, "x-rate-limit-reset");
        // The window started at this first request, not at the wall-clock minute.
        let start = *first_reset.get_or_insert(reset);
        assert_eq!(reset, start, "one window, one reset time");
        let wait = reset - date_secs(&h);
        assert!((59..=61).contains(&wait), "Reset − Date = {wait}");
    }
    // Another bucket has its own count; the token endpoint counts the org only.
    let (_, h, _) = common::get(&sim, &token, "/api/v1/logs").await;
    assert_eq!(header_i64(&h, "x-rate-limit-limit"), 60);
    assert_eq!(header_i64(&h, "x-rate-limit-remaining"), 59);
    let resp = common::http()
        .post(format!("{}/oauth2/v1/token", sim.base_url))
        .header("Authorization", format!("Bearer {token}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(header_i64(resp.headers(), "x-rate-limit-limit"), 2000);
    // Discovery is exempt.
    let resp = anonymous(&sim, "/.well-known/openid-configuration").await;
    assert!(resp.headers().get("x-rate-limit-limit").is_none());
    // The request log names the bucket.
    let log = sim_get(&sim, "/requests").await;
    let buckets: Vec<&str> = log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["bucket"].as_str())
        .collect();
    assert_eq!(buckets[0], "/api/v1/users");
    assert!(buckets.contains(&"/api/v1/logs"));
    assert!(buckets.contains(&"/oauth2/v1/token"));
}

#[tokio::test]
async fn disabled_limits_still_send_headers() {
    let sim = common::start(None).await;
    let resp = anonymous(&sim, "/api/v1/users").await;
    let h = resp.headers();
    assert_eq!(header_i64(h, "x-rate-limit-limit"), 1_000_000);
    assert!(header_i64(h, "x-rate-limit-reset") > date_secs(h));
}

#[tokio::test]
async fn exceeding_a_bucket_gives_429_e0000047_with_a_consistent_reset() {
    let sim = common::start(None).await;
    sim_put(&sim, "/rate-limits", users_bucket(10, 100, 1.0)).await;
    for i in 0..10 {
        let resp = anonymous(&sim, "/api/v1/users").await;
        assert_ne!(
            resp.status().as_u16(),
            429,
            "request {i} is within the limit"
        );
        assert_eq!(header_i64(resp.headers(), "x-rate-limit-remaining"), 9 - i);
    }
    let resp = anonymous(&sim, "/api/v1/users").await;
    assert_eq!(resp.status().as_u16(), 429);
    let h = resp.headers().clone();
    assert_eq!(header_i64(&h, "x-rate-limit-limit"), 10);
    assert_eq!(header_i64(&h, "x-rate-limit-remaining"), 0);
    let wait = header_i64(&h, "x-rate-limit-reset") - date_secs(&h);
    assert!((1..=61).contains(&wait), "Reset − Date = {wait}");
    let body: Value = resp.json().await.expect("JSON body");
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    // A path outside the bucket is not limited (and carries no headers: no bucket applies).
    let resp = anonymous(&sim, "/api/v1/groups").await;
    assert_ne!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("x-rate-limit-limit").is_none());
    // The control API shows the exhausted window.
    let view = sim_get(&sim, "/rate-limits").await;
    assert_eq!(view["windows"][0]["used"], 10);
}

#[tokio::test]
async fn each_app_gets_half_of_a_bucket() {
    let sim = common::start(None).await;
    sim_put(&sim, "/rate-limits", users_bucket(10, 50, 1.0)).await;
    let a = common::bearer_token(&sim, &ALL_SCOPES);
    let other = sim_post(
        &sim,
        "/apps",
        json!({"label": "Other", "scopes": ALL_SCOPES}),
    )
    .await;
    let b_client = other["client_id"].as_str().expect("client_id");
    let b = common::token_for_client(&sim, b_client, &ALL_SCOPES);

    for i in 0..5 {
        let (status, h, _) = common::get(&sim, &a, "/api/v1/users").await;
        assert_ne!(status, 429, "app A request {i}");
        assert_eq!(header_i64(&h, "x-rate-limit-limit"), 5);
        assert_eq!(header_i64(&h, "x-rate-limit-remaining"), 4 - i);
    }
    let (status, h, body) = common::get(&sim, &a, "/api/v1/users").await;
    assert_eq!(status, 429, "app A is over its 50 % share");
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(header_i64(&h, "x-rate-limit-limit"), 5);
    // The org has 5 left: app B can still go.
    for i in 0..5 {
        let (status, _, _) = common::get(&sim, &b, "/api/v1/users").await;
        assert_ne!(status, 429, "app B request {i}");
    }
    let (status, _, _) = common::get(&sim, &b, "/api/v1/users").await;
    assert_eq!(status, 429);
    // Now the org-wide count is exhausted too.
    assert_eq!(
        anonymous(&sim, "/api/v1/users").await.status().as_u16(),
        429
    );
}

#[tokio::test]
async fn the_window_resets_after_compressed_time() {
    // 60x compression: one-second windows with the same counts.
    let sim = common::start(None).await;
    sim_put(&sim, "/rate-limits", users_bucket(3, 100, 60.0)).await;
    for _ in 0..3 {
        assert_ne!(
            anonymous(&sim, "/api/v1/users").await.status().as_u16(),
            429
        );
    }
    let resp = anonymous(&sim, "/api/v1/users").await;
    assert_eq!(resp.status().as_u16(), 429);
    let h = resp.headers();
    let wait = header_i64(h, "x-rate-limit-reset") - date_secs(h);
    assert!(
        (0..=2).contains(&wait),
        "Reset − Date = {wait} for a 1 s window"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let resp = anonymous(&sim, "/api/v1/users").await;
    assert_ne!(resp.status().as_u16(), 429, "a new window has started");
    assert_eq!(header_i64(resp.headers(), "x-rate-limit-remaining"), 2);
}

#[tokio::test]
async fn concurrency_limit_answers_429_with_limit_zero() {
    let sim = common::start(None).await;
    let mut config = users_bucket(1000, 100, 1.0);
    config["concurrency"] = json!(2);
    sim_put(&sim, "/rate-limits", config).await;
    sim_post(
        &sim,
        "/faults",
        json!({"kind": "latency", "ms": 2000, "path": "/api/v1/users", "count": 2}),
    )
    .await;
    let slow = |sim: &okta_sim::RunningSim| {
        let url = format!("{}/api/v1/users", sim.base_url);
        tokio::spawn(async move { common::http().get(url).send().await.map(|r| r.status()) })
    };
    let (s1, s2) = (slow(&sim), slow(&sim));
    // Wait until both are held by the latency fault (robust on a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sim_get(&sim, "/rate-limits").await["in_flight"] != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "requests never got in flight"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let resp = anonymous(&sim, "/api/v1/groups").await;
    assert_eq!(resp.status().as_u16(), 429, "two requests are in flight");
    let h = resp.headers().clone();
    assert_eq!(header_i64(&h, "x-rate-limit-limit"), 0);
    assert_eq!(header_i64(&h, "x-rate-limit-remaining"), 0);
    let wait = header_i64(&h, "x-rate-limit-reset") - date_secs(&h);
    assert!(
        (1..=2).contains(&wait),
        "Reset is now + 1 s (an estimate), got {wait}"
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["errorCode"], "E0000047");
    for s in [s1, s2] {
        let status = s.await.expect("task").expect("slow request");
        assert_ne!(status.as_u16(), 429);
    }
    assert_ne!(
        anonymous(&sim, "/api/v1/groups").await.status().as_u16(),
        429
    );
    assert_eq!(sim_get(&sim, "/rate-limits").await["in_flight"], 0);
}

#[tokio::test]
async fn invalid_rate_limit_configs_are_refused() {
    let sim = common::start(None).await;
    for body in [
        json!({"time_compression": 0}),
        json!({"app_share_percent": 0}),
        json!({"buckets": [{"name": "x", "pattern": "api", "per_minute": 1}]}),
        json!({"preset": "nope"}),
    ] {
        let (status, v) =
            common::sim_call(&sim, reqwest::Method::PUT, "/rate-limits", Some(body)).await;
        assert_eq!(status, 400);
        assert!(v["error"].is_string());
    }
    let v = sim_put(&sim, "/rate-limits", json!({"preset": "okta"})).await;
    assert_eq!(v["config"]["enabled"], true);
    assert_eq!(v["config"]["concurrency"], 75);
}
