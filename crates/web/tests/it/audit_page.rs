//! The Audit page and `GET /api/v1/audit`: admins only, filters, the chain's status (intact,
//! then broken after an edit made behind the triggers' back).

use axum::http::StatusCode;
use steward_app::Role;

use super::TestApp;

#[tokio::test]
async fn admins_see_filter_and_verify_the_audit_trail() {
    let t = TestApp::new().await;
    let mut admin = t.login("admin").await;
    let csrf = admin.get("/settings/tokens").await.csrf();
    let r = admin
        .post_form(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "ci"), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let page = admin.get("/settings/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("The chain is intact"), "{}", page.body);
    for action in ["account.create", "session.login", "token.create"] {
        assert!(page.body.contains(action), "{action}");
    }
    // A filter narrows the list.
    let only = admin.get("/settings/audit?action=token.").await;
    assert!(only.body.contains("token.create") && !only.body.contains("session.login"));
    let bad = admin.get("/settings/audit?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Viewers and approvers get neither the page nor the API.
    for user in ["viewer", "approver"] {
        let mut c = t.login(user).await;
        assert_eq!(c.get("/settings/audit").await.status, StatusCode::FORBIDDEN);
    }
    let mut viewer_api = t.token_client(Role::Viewer).await;
    assert_eq!(
        viewer_api.get("/api/v1/audit").await.status,
        StatusCode::FORBIDDEN
    );

    // The API pages by sequence number.
    let mut api = t.token_client(Role::Admin).await;
    let r = api.get("/api/v1/audit?limit=2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    let next = v["next_before"].as_i64().expect("a next page");
    assert_eq!(Some(next), events[1]["seq"].as_i64());
    let older = api
        .get(&format!("/api/v1/audit?limit=2&before={next}"))
        .await
        .json();
    assert!(older["events"][0]["seq"].as_i64().expect("seq") < next);
    let actor = &events[0]["actor"];
    assert!(
        actor["kind"].is_string() && actor["name"].is_string(),
        "{actor}"
    );
    assert_eq!(api.get("/api/v1/audit/verify").await.json()["ok"], true);

    // An edit behind the triggers' back breaks the chain at that event.
    let store = t.state.app.store();
    store
        .raw_execute("DROP TRIGGER audit_events_no_update")
        .await
        .expect("drop trigger");
    store
        .raw_execute(
            "UPDATE audit_events SET details = '{\"name\":\"innocent\"}' \
             WHERE action = 'token.create'",
        )
        .await
        .expect("tamper");
    let v = api.get("/api/v1/audit/verify").await.json();
    assert_eq!(v["ok"], false, "{v}");
    let page = admin.get("/settings/audit?verify=1").await;
    assert!(
        page.body.contains("The chain is broken at event"),
        "{}",
        page.body
    );
}
