//! Account management: an admin adds an account (its generated password is shown once and
//! works), changes roles, disables and enables, resets passwords; the last admin can't be
//! demoted or disabled; anyone can change their own password. Every change is audited.

use axum::http::StatusCode;

use super::{Client, PASSWORD, Resp, TestApp};

/// The one-time password shown on `page`.
fn shown_password(page: &Resp) -> String {
    let start = page
        .body
        .find("id=\"one-time-password\"")
        .unwrap_or_else(|| panic!("no password shown: {}", page.body));
    let rest = &page.body[start..];
    let open = rest.find("<pre class=\"copy\">").expect("pre") + "<pre class=\"copy\">".len();
    let close = rest[open..].find("</pre>").expect("end");
    rest[open..open + close].to_owned()
}

/// The id of `username`'s row on the accounts page.
fn account_id(page: &Resp, username: &str) -> i64 {
    let cell = format!("<td>{username}");
    let at = page
        .body
        .find(&cell)
        .unwrap_or_else(|| panic!("{username}"));
    let row = page.body[..at].rfind("id=\"account-").expect("row") + "id=\"account-".len();
    let end = page.body[row..].find('"').expect("end");
    page.body[row..row + end].parse().expect("id")
}

async fn sign_in(t: &TestApp, user: &str, password: &str) -> (Client, Resp) {
    let mut c = t.client();
    let r = c.login(user, password).await;
    (c, r)
}

#[tokio::test]
async fn admins_manage_accounts() {
    let t = TestApp::new().await;
    let mut admin = t.login("admin").await;
    let csrf = admin.csrf().await;

    let page = admin.get("/settings/accounts").await;
    assert_eq!(page.status, StatusCode::OK);
    for name in ["admin", "approver", "viewer"] {
        assert!(page.body.contains(&format!("<td>{name}")), "{name}");
    }
    assert!(page.body.contains("href=\"/settings/accounts\""), "nav");
    assert!(!page.body.contains("$argon2"), "no hash on the page");

    // Without CSRF: refused, nothing created.
    let r = admin
        .post_form(
            "/settings/accounts",
            &[("username", "Carol"), ("role", "approver")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Created with a generated password, shown once, that works.
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "Carol"),
        ("role", "approver"),
    ];
    let r = admin.post_form("/settings/accounts", &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let password = shown_password(&r);
    assert!(password.len() >= 32, "a long random password");
    assert!(
        r.body.contains("<strong>carol</strong>"),
        "stored lowercase"
    );
    let again = admin.get("/settings/accounts").await;
    assert!(!again.body.contains(&password), "shown only once");
    let (mut carol, r) = sign_in(&t, "carol", &password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // An approver can't manage accounts.
    assert_eq!(
        carol.get("/settings/accounts").await.status,
        StatusCode::FORBIDDEN
    );
    // The same name again, a bad name, a bad role: explained, nothing created.
    let r = admin.post_form("/settings/accounts", &form).await;
    assert!(r.body.contains("already exists"), "{}", r.body);
    let bad = [
        ("csrf", csrf.as_str()),
        ("username", "no spaces"),
        ("role", "viewer"),
    ];
    let r = admin.post_form("/settings/accounts", &bad).await;
    assert!(r.body.contains("user names are"), "{}", r.body);
    let bad = [
        ("csrf", csrf.as_str()),
        ("username", "dave"),
        ("role", "root"),
    ];
    let r = admin.post_form("/settings/accounts", &bad).await;
    assert!(r.body.contains("unknown role"), "{}", r.body);
    assert!(!r.body.contains("<td>dave"));

    // Role change: carol becomes admin and can now open the page.
    let id = account_id(&again, "carol");
    let role = format!("/settings/accounts/{id}/role");
    let r = admin
        .post_form(&role, &[("csrf", &csrf), ("role", "admin")])
        .await;
    assert!(r.body.contains("carol is now admin"), "{}", r.body);
    assert_eq!(carol.get("/settings/accounts").await.status, StatusCode::OK);

    // Disable: carol's session ends and she can't sign in; enable: she can again.
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(r.body.contains("carol is disabled"), "{}", r.body);
    let r = carol.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "session ended");
    let (_, r) = sign_in(&t, "carol", &password).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "disabled: no sign-in");
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/enable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(r.body.contains("carol is enabled"), "{}", r.body);
    let (mut carol, r) = sign_in(&t, "carol", &password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Reset: a new password shown once; the old one and carol's session stop working.
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/reset-password"),
            &[("csrf", &csrf)],
        )
        .await;
    let new_password = shown_password(&r);
    assert_ne!(new_password, password);
    assert_eq!(carol.get("/").await.status, StatusCode::SEE_OTHER);
    let (_, r) = sign_in(&t, "carol", &password).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "old password refused");
    let (_, r) = sign_in(&t, "carol", &new_password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "new password works");

    // Unknown account: 404.
    let r = admin
        .post_form("/settings/accounts/999/disable", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let audit = super::audit(&t.state).await;
    for action in [
        "account.create",
        "account.role",
        "account.disable",
        "account.enable",
        "account.reset_password",
    ] {
        assert!(
            audit.iter().any(|e| e.action == action
                && e.details["username"] == "carol"
                && e.actor == "account:admin"),
            "{action}: {audit:?}"
        );
    }
    // No password in the audit trail.
    let dump = format!("{audit:?}");
    assert!(!dump.contains(&password) && !dump.contains(&new_password));
}

#[tokio::test]
async fn the_last_admin_stays() {
    let t = TestApp::new().await;
    let mut admin = t.login("admin").await;
    let csrf = admin.csrf().await;
    let page = admin.get("/settings/accounts").await;
    let id = account_id(&page, "admin");

    // Demoting the only admin: refused, with the way out.
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/role"),
            &[("csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("make another account admin first"),
        "{}",
        r.body
    );
    // Disabling oneself: refused.
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(r.body.contains("disable your own account"), "{}", r.body);
    assert_eq!(admin.get("/settings/accounts").await.status, StatusCode::OK);

    // With a second admin, the first may step down, and then loses the page.
    let approver_id = account_id(&page, "approver");
    admin
        .post_form(
            &format!("/settings/accounts/{approver_id}/role"),
            &[("csrf", &csrf), ("role", "admin")],
        )
        .await;
    let r = admin
        .post_form(
            &format!("/settings/accounts/{id}/role"),
            &[("csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get("/settings/accounts").await.status,
        StatusCode::FORBIDDEN
    );
    // The new only admin can't be disabled by anyone (the repository checks).
    let mut second = t.login("approver").await;
    let csrf2 = second.csrf().await;
    let r = second
        .post_form(
            &format!("/settings/accounts/{id}/disable"),
            &[("csrf", &csrf2)],
        )
        .await;
    assert!(
        r.body.contains("admin is disabled"),
        "a viewer may be disabled: {}",
        r.body
    );
    let r = second
        .post_form(
            &format!("/settings/accounts/{approver_id}/role"),
            &[("csrf", &csrf2), ("role", "viewer")],
        )
        .await;
    assert!(
        r.body.contains("make another account admin first"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn everyone_changes_their_own_password() {
    let t = TestApp::new().await;
    let mut viewer = t.login("viewer").await;
    let csrf = viewer.csrf().await;
    let page = viewer.get("/account/password").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("href=\"/account/password\""),
        "linked from the header"
    );

    let new = "a-brand-new-passphrase";
    let cases = [
        (
            "wrong-current-password",
            new,
            new,
            "current password is wrong",
        ),
        (PASSWORD, new, "something-else-entirely", "differ"),
        (PASSWORD, "short", "short", "at least 12 characters"),
    ];
    for (current, n, confirm, msg) in cases {
        let r = viewer
            .post_form(
                "/account/password",
                &[
                    ("csrf", &csrf),
                    ("current", current),
                    ("new", n),
                    ("confirm", confirm),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(msg), "{msg}: {}", r.body);
        assert!(
            !r.body.contains(PASSWORD) && !r.body.contains(new),
            "passwords are never echoed"
        );
    }
    // Without CSRF: refused.
    let r = viewer
        .post_form(
            "/account/password",
            &[("current", PASSWORD), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = viewer
        .post_form(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login");
    assert_eq!(
        viewer.get("/").await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let (_, r) = sign_in(&t, "viewer", PASSWORD).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "old password refused");
    let (_, r) = sign_in(&t, "viewer", new).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "new password works");
}
