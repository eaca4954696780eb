//! The API tokens page: admins list tokens (name, role, owner, created, last used) and revoke
//! them with a CSRF-protected form; other roles are refused; a revoked token stops working.

use axum::http::{Method, StatusCode};
use serde_json::json;
use steward_app::Role;

use super::TestApp;

#[tokio::test]
async fn admins_list_and_revoke_api_tokens() {
    let t = TestApp::new().await;
    let mut admin = t.login("admin").await;
    let csrf = admin.get("/").await.csrf();

    let page = admin.get("/settings/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No API tokens."), "{}", page.body);
    assert!(
        page.body.contains("href=\"/settings/tokens\""),
        "in the navigation"
    );

    // Two tokens created through the API (with the session: CSRF header).
    let mut created = Vec::new();
    for (name, role) in [("terraform", "viewer"), ("deploy <ci>", "admin")] {
        let r = admin
            .send(
                axum::http::Request::post("/api/v1/tokens")
                    .header("content-type", "application/json")
                    .header("x-csrf-token", &csrf)
                    .body(axum::body::Body::from(
                        json!({"name": name, "role": role}).to_string(),
                    ))
                    .expect("req"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let j = r.json();
        created.push((
            j["id"].as_i64().expect("id"),
            j["token"].as_str().expect("token").to_owned(),
        ));
    }
    let (viewer_id, viewer_secret) = created[0].clone();

    // Using a token shows on the page as its last use.
    let mut bearer = t.client();
    bearer.bearer = Some(viewer_secret.clone());
    let r = bearer.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let page = admin.get("/settings/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = |body: &str, id: i64| {
        let start = body
            .find(&format!("id=\"token-{id}\""))
            .unwrap_or_else(|| panic!("row {id}: {body}"));
        let end = body[start..].find("</tr>").expect("row end") + start;
        body[start..end].to_owned()
    };
    let r0 = row(&page.body, viewer_id);
    assert!(
        r0.contains("terraform") && r0.contains("viewer") && r0.contains("admin"),
        "{r0}"
    );
    assert!(!r0.contains("never"), "used once: {r0}");
    let r1 = row(&page.body, created[1].0);
    assert!(r1.contains("deploy &lt;ci&gt;"), "escaped: {r1}");
    assert!(r1.contains("never"), "{r1}");
    // The secrets never show on the page.
    assert!(!page.body.contains(&viewer_secret) && !page.body.contains(&created[1].1));

    let revoke = format!("/settings/tokens/{viewer_id}/revoke");
    // Without the CSRF token, or with a wrong one: refused, the token still works.
    let r = admin.post_form(&revoke, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = admin.post_form(&revoke, &[("csrf", "wrong")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Other roles: refused (page and form).
    for role in ["viewer", "approver"] {
        let mut c = t.login(role).await;
        assert_eq!(
            c.get("/settings/tokens").await.status,
            StatusCode::FORBIDDEN
        );
        let their = c.get("/").await.csrf();
        let r = c.post_form(&revoke, &[("csrf", &their)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    // An admin token can't use the page: pages take sessions only (sign-in redirect).
    let mut admin_token = t.token_client(Role::Admin).await;
    let r = admin_token.post_form(&revoke, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/login"), "{}", r.location());
    let r = bearer.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::OK);

    // The admin revokes it: back to the list, gone from it, and the token is refused.
    let r = admin.post_form(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/settings/tokens");
    let page = admin.get("/settings/tokens").await;
    assert!(!page.body.contains(&format!("id=\"token-{viewer_id}\"")));
    assert!(
        page.body
            .contains(&format!("id=\"token-{}\"", created[1].0))
    );
    let r = bearer.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Again: not found.
    let r = admin.post_form(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Audited.
    let audit = super::audit(&t.state).await;
    assert!(
        audit.iter().any(|e| e.action == "token.revoke"
            && e.details["name"] == "terraform"
            && e.actor == "account:admin"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn admins_create_api_tokens_from_the_page() {
    let t = TestApp::new().await;
    let mut admin = t.login("admin").await;
    let csrf = admin.get("/settings/tokens").await.csrf();

    // Without CSRF: refused, nothing created.
    let r = admin
        .post_form("/settings/tokens", &[("name", "ci"), ("role", "viewer")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(t.state.app.list_tokens().await.expect("list").is_empty());
    // A bad name or role: explained, nothing created.
    for (name, role, msg) in [
        ("", "viewer", "token names are"),
        ("ci", "root", "unknown role"),
    ] {
        let r = admin
            .post_form(
                "/settings/tokens",
                &[("csrf", &csrf), ("name", name), ("role", role)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(msg), "{msg}: {}", r.body);
    }
    assert!(t.state.app.list_tokens().await.expect("list").is_empty());

    // Created: the secret is on this response only, and it works with the chosen role.
    let r = admin
        .post_form(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "ci"), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let start = r.body.find("id=\"new-token\"").expect("shown");
    let open = r.body[start..].find("<pre class=\"copy\">").expect("pre") + start + 18;
    let close = r.body[open..].find("</pre>").expect("end") + open;
    let secret = r.body[open..close].to_owned();
    assert!(secret.starts_with("stw_"), "{secret}");
    let mut bearer = t.client();
    bearer.bearer = Some(secret.clone());
    let me = bearer.api(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["role"], "viewer", "{}", me.body);
    let page = admin.get("/settings/tokens").await;
    assert!(page.body.contains("<td>ci</td>"), "{}", page.body);
    assert!(!page.body.contains(&secret), "shown once");
    let audit = super::audit(&t.state).await;
    assert!(
        audit.iter().any(|e| e.action == "token.create"
            && e.details["name"] == "ci"
            && e.actor == "account:admin"),
        "{audit:?}"
    );
    assert!(!format!("{audit:?}").contains(&secret));
}
