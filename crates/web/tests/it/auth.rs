//! Sign-in, sessions, cookies, CSRF, throttling, first-run admin.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use parking_lot::Mutex;
use steward_web::{AppState, Clock, WebConfig};

use super::{PASSWORD, TestApp};

#[tokio::test]
async fn unauthenticated_page_redirects_to_login_with_next() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.get("/settings/okta?x=1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fsettings%2Fokta%3Fx%3D1");
    let r = c.get("/login?next=%2Fsettings%2Fokta").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("value=\"/settings/okta\""), "{}", r.body);
    assert!(r.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn login_sets_a_safe_cookie_and_logout_ends_the_session() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.login("Admin", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/");
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|v| v.starts_with("steward_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "dev config is plain http: {cookie}"
    );
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("admin (admin)"));

    // The stored session is the hash, not the cookie value.
    let id = c.cookies["steward_session"].clone();
    let hash = steward_web::secret::sha256_hex(&id);
    assert!(
        t.state
            .app
            .store()
            .find_session(&hash)
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        t.state
            .app
            .store()
            .find_session(&id)
            .await
            .expect("find")
            .is_none()
    );

    let csrf = home.csrf();
    let r = c.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!c.cookies.contains_key("steward_session"));
    // Replaying the old cookie no longer works.
    c.cookies.insert("steward_session".into(), id);
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn secure_flag_when_configured() {
    let config = WebConfig {
        secure_cookies: true,
        ..WebConfig::dev()
    };
    let t = TestApp::with_config(config).await;
    let mut c = t.client();
    let r = c.login("viewer", PASSWORD).await;
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert!(
        cookies
            .iter()
            .all(|v| v.to_str().expect("ascii").contains("Secure"))
    );
}

#[tokio::test]
async fn wrong_password_is_refused_without_saying_which_part() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.login("admin", "wrong password!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong user name or password."));
    let r = c.login("nobody", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong user name or password."));
    assert!(!c.cookies.contains_key("steward_session"));
}

#[tokio::test]
async fn login_needs_the_csrf_token() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.get("/login").await;
    let r = c
        .post_form("/login", &[("username", "admin"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c
        .post_form(
            "/login",
            &[
                ("csrf", "forged"),
                ("username", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body.contains("csrf") && r.body.contains("request id"),
        "{}",
        r.body
    );
    // No login cookie at all: refused too.
    let mut fresh = t.client();
    let r = fresh
        .post_form(
            "/login",
            &[("csrf", ""), ("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn form_posts_need_the_session_csrf_token() {
    let t = TestApp::new().await;
    let mut c = t.login("admin").await;
    for path in ["/logout", "/settings/okta", "/settings/okta/x/disconnect"] {
        let r = c.post_form(path, &[("action", "save")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without token");
        let r = c
            .post_form(path, &[("csrf", "wrong"), ("action", "save")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
    }
    // Another session's token is wrong too.
    let mut other = t.login("admin").await;
    let theirs = other.csrf().await;
    let r = c.post_form("/logout", &[("csrf", &theirs)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Still signed in.
    assert_eq!(c.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn failed_logins_lock_out_per_user_and_ip() {
    let t = TestApp::new().await;
    let mut c = t.client();
    for i in 0..4 {
        let r = c.login("admin", "wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = c.login("admin", "wrong password!").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Try again in 30 seconds"), "{}", r.body);
    // Even the right password is refused while locked out.
    let r = c.login("admin", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another user from the same IP, and the same user from another IP, are not locked.
    assert_eq!(
        c.login("viewer", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let mut elsewhere = t.client();
    elsewhere.ip = SocketAddr::from(([127, 0, 0, 2], 40000));
    assert_eq!(
        elsewhere.login("admin", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let audit = super::audit(&t.state).await;
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "session.login_failed")
            .count()
            >= 5
    );
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let now = Arc::new(Mutex::new(Utc::now()));
    let clock = {
        let now = now.clone();
        Clock::from_fn(move || *now.lock())
    };
    let state = AppState::in_memory(WebConfig::dev(), clock)
        .await
        .expect("state");
    let t = TestApp::with_state(state).await;
    let mut c = t.login("viewer").await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    *now.lock() += Duration::hours(7);
    assert_eq!(c.get("/").await.status, StatusCode::OK, "sliding expiry");
    *now.lock() += Duration::hours(9);
    assert_eq!(c.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bootstrap_admin_runs_once() {
    let state = AppState::in_memory(WebConfig::dev(), Clock::system())
        .await
        .expect("state");
    let first = state
        .app
        .bootstrap_admin()
        .await
        .expect("ok")
        .expect("created");
    assert_eq!(first.username, "admin");
    assert!(!format!("{first:?}").contains(first.password.expose()));
    assert!(state.app.bootstrap_admin().await.expect("ok").is_none());
    let router = steward_web::app(state.clone());
    let t = TestApp { state, router };
    let mut c = t.client();
    let r = c.login("admin", first.password.expose()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn errors_show_code_and_request_id_only() {
    let t = TestApp::new().await;
    let mut c = t.login("admin").await;
    let r = c.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let rid = r.headers["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(r.body.contains(&rid) && r.body.contains("not_found"));
    for h in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
    ] {
        assert!(r.headers.get(h).is_some(), "{h}");
    }
    let css = c.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
}
