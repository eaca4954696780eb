//! `/api/v1/apps*`: lists, filters, assignments, limits, scopes and roles.

use crate::common::*;
use okta_sim::SimConfig;
use okta_sim::model::AssignmentScope;
use std::collections::{HashMap, HashSet};

fn ids(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn list_pages_all_apps_and_renders_the_service_app() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (items, pages) = all_pages(&sim, &t, "/api/v1/apps?limit=2", 50).await;
    let want: HashSet<String> = sim
        .state
        .org
        .read()
        .live_apps()
        .map(|(_, a)| a.id.clone())
        .collect();
    assert_eq!(items.len(), want.len());
    assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want);
    assert_eq!(pages, want.len().div_ceil(2));
    let svc = items
        .iter()
        .find(|a| a["id"] == sim.credentials.client_id.as_str())
        .expect("service app listed");
    assert_eq!(svc["signOnMode"], "OPENID_CONNECT");
    assert_eq!(
        svc["settings"]["oauthClient"]["application_type"],
        "service"
    );
    assert_eq!(
        svc["credentials"]["oauthClient"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    // Default page size 20, maximum 200.
    let (_, _, body) = get(&sim, &t, "/api/v1/apps?limit=100000").await;
    assert_eq!(body.as_array().map(Vec::len), Some(want.len()));
}

#[tokio::test]
async fn default_limit_20_and_max_200() {
    let sim = start(Some(SimConfig {
        apps: 230,
        users: 20,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (_, h, body) = get(&sim, &t, "/api/v1/apps").await;
    assert_eq!(body.as_array().map(Vec::len), Some(20));
    assert!(next_link(&h).is_some());
    let (_, h, body) = get(&sim, &t, "/api/v1/apps?limit=500").await;
    assert_eq!(body.as_array().map(Vec::len), Some(200));
    assert!(next_link(&h).is_some());
}

#[tokio::test]
async fn filters_and_q() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (s, _, body) = get(&sim, &t, "/api/v1/apps?filter=status%20eq%20%22ACTIVE%22").await;
    assert_eq!(s, 200);
    assert!(
        body.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["status"] == "ACTIVE"))
    );
    let (_, _, body) = get(&sim, &t, "/api/v1/apps?filter=name%20eq%20%22salesforce%22").await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    assert_eq!(body[0]["label"], "Salesforce");
    let (_, _, body) = get(&sim, &t, "/api/v1/apps?q=sales").await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    let (s, _, body) = get(&sim, &t, "/api/v1/apps?filter=label%20eq%20%22Slack%22").await;
    assert_eq!((s, error_code(&body)), (400, "E0000031"));
    let (s, _, body) = get(&sim, &t, "/api/v1/apps?filter=status%20sw%20%22ACT%22").await;
    assert_eq!((s, error_code(&body)), (400, "E0000031"));

    // user.id filter with expand=user/{id}.
    let (uid, want) = {
        let org = sim.state.org.read();
        let (ui, u) = org
            .live_users()
            .find(|(i, _)| org.apps.iter().any(|a| a.users.contains_key(i)))
            .expect("assigned user");
        let apps: HashSet<String> = org
            .live_apps()
            .filter(|(_, a)| a.users.contains_key(&ui))
            .map(|(_, a)| a.id.clone())
            .collect();
        (u.id.clone(), apps)
    };
    let path =
        format!("/api/v1/apps?filter=user.id%20eq%20%22{uid}%22&expand=user/{uid}&limit=200");
    let (s, _, body) = get(&sim, &t, &path).await;
    assert_eq!(s, 200, "{body}");
    let arr = body.as_array().expect("array");
    assert_eq!(ids(arr).into_iter().collect::<HashSet<_>>(), want);
    assert!(
        arr.iter()
            .all(|a| a["_embedded"]["user"]["id"] == uid.as_str())
    );
    let (s, _, _) = get(&sim, &t, &format!("/api/v1/apps?expand=user/{uid}")).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn single_app_and_404() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let id = sim.state.org.read().apps[0].id.clone();
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/{id}")).await;
    assert_eq!((s, body["id"].as_str()), (200, Some(id.as_str())));
    for path in [
        "/api/v1/apps/0oanope",
        "/api/v1/apps/0oanope/users",
        "/api/v1/apps/0oanope/groups",
    ] {
        let (s, _, body) = get(&sim, &t, path).await;
        assert_eq!((s, error_code(&body)), (404, "E0000007"), "{path}");
        assert_eq!(
            body["errorSummary"],
            "Not found: Resource not found: 0oanope (AppInstance)"
        );
    }
}

#[tokio::test]
async fn app_users_scope_paging_expand_and_limits() {
    let sim = start(Some(SimConfig {
        users: 560,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (aid, want) = {
        let mut org = sim.state.org.write();
        let now = sim.state.clock.now();
        let a = org
            .live_apps()
            .find(|(_, a)| !a.groups.is_empty() && !a.is_service)
            .map(|(i, _)| i)
            .expect("an app with groups");
        // Everyone without group-based access gets a direct (USER) assignment.
        for u in 0..org.users.len() as u32 {
            if !org.apps[a as usize].users.contains_key(&u) {
                org.assign_user_to_app(a, u, now);
            }
        }
        let app = &org.apps[a as usize];
        let want: HashMap<String, &'static str> = app
            .users
            .iter()
            .map(|(u, au)| (org.users[*u as usize].id.clone(), au.scope.as_str()))
            .collect();
        assert!(
            app.users
                .values()
                .any(|au| au.scope == AssignmentScope::Group)
        );
        assert!(
            app.users
                .values()
                .any(|au| au.scope == AssignmentScope::User)
        );
        (app.id.clone(), want)
    };
    assert!(want.len() > 500);
    let (_, h, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(50));
    assert!(next_link(&h).is_some());
    let (_, _, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users?limit=5000")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(500));

    let (items, _) = all_pages(
        &sim,
        &t,
        &format!("/api/v1/apps/{aid}/users?limit=200&expand=user"),
        10,
    )
    .await;
    assert_eq!(items.len(), want.len());
    for au in &items {
        let id = au["id"].as_str().unwrap_or_default();
        assert_eq!(au["scope"].as_str(), want.get(id).copied(), "{id}");
        assert_eq!(au["_embedded"]["user"]["id"], id);
    }
}

#[tokio::test]
async fn app_groups_minimum_20_and_expand_group() {
    let sim = start(Some(SimConfig {
        groups: 30,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (aid, want) = {
        let mut org = sim.state.org.write();
        let now = sim.state.clock.now();
        let a = org
            .live_apps()
            .find(|(_, a)| !a.is_service)
            .map(|(i, _)| i)
            .expect("app");
        for g in 0..org.groups.len() as u32 {
            org.assign_group_to_app(a, g, g, now);
        }
        let app = &org.apps[a as usize];
        let want: HashSet<String> = app
            .groups
            .keys()
            .map(|g| org.groups[*g as usize].id.clone())
            .collect();
        (app.id.clone(), want)
    };
    assert!(want.len() > 20);
    let (_, h, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/groups?limit=5")).await;
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(20),
        "raised to the minimum of 20"
    );
    assert!(next_link(&h).is_some());
    let (items, _) = all_pages(
        &sim,
        &t,
        &format!("/api/v1/apps/{aid}/groups?expand=group"),
        10,
    )
    .await;
    assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want);
    assert!(
        items
            .iter()
            .all(|g| g["_embedded"]["group"]["id"] == g["id"])
    );
}

#[tokio::test]
async fn single_app_user_and_app_group() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (aid, assigned, scope, unassigned, gid, other_gid) = {
        let org = sim.state.org.read();
        let (_, a) = org
            .live_apps()
            .find(|(_, a)| {
                !a.is_service
                    && !a.users.is_empty()
                    && !a.groups.is_empty()
                    && a.users.len() < org.users.len()
                    && a.groups.len() < org.groups.len()
            })
            .expect("an app with some users and groups");
        let (u, au) = a.users.iter().next().expect("a user");
        let free = (0..org.users.len() as u32)
            .find(|u| !a.users.contains_key(u))
            .expect("an unassigned user");
        let g = a.groups.keys().next().expect("a group");
        let free_g = (0..org.groups.len() as u32)
            .find(|g| !a.groups.contains_key(g))
            .expect("an unassigned group");
        (
            a.id.clone(),
            org.users[*u as usize].id.clone(),
            au.scope.as_str(),
            org.users[free as usize].id.clone(),
            org.groups[*g as usize].id.clone(),
            org.groups[free_g as usize].id.clone(),
        )
    };
    // The same object the listing renders.
    let (_, _, list) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users?limit=500")).await;
    let listed = list
        .as_array()
        .and_then(|l| l.iter().find(|u| u["id"] == assigned.as_str()))
        .cloned()
        .expect("listed");
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users/{assigned}")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body, listed);
    assert_eq!(body["scope"], scope);
    let (s, _, body) = get(
        &sim,
        &t,
        &format!("/api/v1/apps/{aid}/users/{assigned}?expand=user"),
    )
    .await;
    assert_eq!((s, &body["_embedded"]["user"]["id"]), (200, &body["id"]));
    for (user, kind) in [(unassigned.as_str(), "AppUser"), ("00unope", "AppUser")] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users/{user}")).await;
        assert_eq!((s, error_code(&body)), (404, "E0000007"), "{user}");
        assert_eq!(
            body["errorSummary"],
            format!("Not found: Resource not found: {user} ({kind})")
        );
    }
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/0oanope/users/{assigned}")).await;
    assert_eq!((s, error_code(&body)), (404, "E0000007"));

    let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/groups/{gid}")).await;
    assert_eq!(
        (s, body["id"].as_str()),
        (200, Some(gid.as_str())),
        "{body}"
    );
    for group in [other_gid.as_str(), "00gnope"] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/apps/{aid}/groups/{group}")).await;
        assert_eq!((s, error_code(&body)), (404, "E0000007"), "{group}");
    }

    // Same scope and role checks as the listings.
    let t = bearer_token(&sim, &["okta.users.read"]);
    let (s, _, _) = get(&sim, &t, &format!("/api/v1/apps/{aid}/users/{assigned}")).await;
    assert_eq!(s, 403);
    let gma = second_app_token(&sim, &["GROUP_MEMBERSHIP_ADMIN"], &ALL_SCOPES);
    let (s, _, body) = get(&sim, &gma, &format!("/api/v1/apps/{aid}/users/{assigned}")).await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
    let (s, _, body) = get(&sim, &gma, &format!("/api/v1/apps/{aid}/groups/{gid}")).await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
}

#[tokio::test]
async fn scopes_and_roles() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &["okta.users.read"]);
    let (s, h, _) = get(&sim, &t, "/api/v1/apps").await;
    assert_eq!(s, 403);
    let www = h
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        www.contains("insufficient_scope") && www.contains("scope=\"okta.apps.read\""),
        "{www}"
    );
    // GROUP_MEMBERSHIP_ADMIN cannot view apps: 200 [] on the list (OktaLike), 403 elsewhere.
    let gma = second_app_token(&sim, &["GROUP_MEMBERSHIP_ADMIN"], &ALL_SCOPES);
    let (s, _, body) = get(&sim, &gma, "/api/v1/apps").await;
    assert_eq!((s, body), (200, serde_json::json!([])));
    let id = sim.state.org.read().apps[0].id.clone();
    let (s, _, body) = get(&sim, &gma, &format!("/api/v1/apps/{id}/users")).await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
}

/// The value at a dotted path (`settings.signOn.ssoAcsUrl`), `Null` when absent.
fn at<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| &v[k])
}

/// Okta's SDKs pick a typed model by `signOnMode` and refuse an app missing the fields Okta's
/// spec requires for it (`interop/python/check_app_models.py` runs the Python SDK's models).
#[tokio::test]
async fn every_sign_on_mode_renders_its_required_fields() {
    let sim = start(Some(SimConfig {
        apps: 25,
        users: 20,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (s, _, body) = get(&sim, &t, "/api/v1/apps?limit=200").await;
    assert_eq!(s, 200);
    let apps = body.as_array().cloned().unwrap_or_default();
    // Space-separated dotted paths that must be present and non-null.
    let common = "id name label status orn accessibility.selfService visibility.hide.web \
        settings.notifications.vpn.network.connection _links.self.href _links.users.href";
    let by_mode: &[(&str, &str)] = &[
        (
            "SAML_2_0",
            "settings.signOn.ssoAcsUrl settings.signOn.audience settings.signOn.recipient \
            settings.signOn.destination settings.signOn.idpIssuer \
            settings.signOn.subjectNameIdTemplate settings.signOn.subjectNameIdFormat \
            settings.signOn.signatureAlgorithm settings.signOn.digestAlgorithm \
            settings.signOn.authnContextClassRef settings.signOn.attributeStatements \
            settings.signOn.responseSigned credentials.signing.kid \
            credentials.userNameTemplate.template _links.metadata.href",
        ),
        (
            "WS_FEDERATION",
            "settings.app.wReplyURL settings.app.audienceRestriction \
            settings.app.authnContextClassRef settings.app.groupValueFormat \
            settings.app.nameIDFormat settings.app.siteURL settings.app.usernameAttribute \
            credentials.signing.kid",
        ),
        (
            "OPENID_CONNECT",
            "settings.oauthClient.grant_types settings.oauthClient.response_types \
            settings.oauthClient.application_type settings.oauthClient.consent_method \
            settings.oauthClient.issuer_mode settings.oauthClient.dpop_bound_access_tokens \
            credentials.oauthClient.client_id credentials.oauthClient.token_endpoint_auth_method",
        ),
        (
            "BROWSER_PLUGIN",
            "settings.app.url settings.app.buttonField settings.app.passwordField \
            settings.app.usernameField credentials.scheme",
        ),
        (
            "SECURE_PASSWORD_STORE",
            "settings.app.url settings.app.passwordField settings.app.usernameField \
            credentials.scheme",
        ),
        ("BOOKMARK", "settings.app.url"),
        (
            "BASIC_AUTH",
            "settings.app.url settings.app.authURL credentials.scheme",
        ),
        ("AUTO_LOGIN", "settings.signOn.loginUrl credentials.scheme"),
        ("SAML_1_1", "settings.signOn credentials.signing.kid"),
    ];
    let mut seen = HashSet::new();
    for app in &apps {
        let mode = app["signOnMode"].as_str().unwrap_or_default();
        let required = by_mode
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("unexpected signOnMode {mode}"));
        seen.insert(mode.to_string());
        for path in common.split_whitespace().chain(required.split_whitespace()) {
            assert!(
                !at(app, path).is_null(),
                "{mode} app {} lacks {path}",
                app["id"]
            );
        }
    }
    assert_eq!(seen.len(), by_mode.len(), "modes seen: {seen:?}");
    // The API Services app and an ordinary web app differ where Okta's do.
    let svc = apps
        .iter()
        .find(|a| a["id"] == sim.credentials.client_id.as_str())
        .expect("service app listed");
    assert_eq!(at(svc, "settings.oauthClient.application_type"), "service");
    assert_eq!(
        at(svc, "settings.oauthClient.grant_types"),
        &serde_json::json!(["client_credentials"])
    );
    let web = apps
        .iter()
        .find(|a| a["signOnMode"] == "OPENID_CONNECT" && a["id"] != svc["id"])
        .expect("a web OIDC app");
    assert_eq!(at(web, "settings.oauthClient.application_type"), "web");
    assert!(at(web, "settings.oauthClient.redirect_uris")[0].is_string());
    // Deterministic: the same app renders identically on a second read.
    let id = apps[0]["id"].as_str().unwrap_or_default();
    let (_, _, one) = get(&sim, &t, &format!("/api/v1/apps/{id}")).await;
    assert_eq!(one, apps[0]);
}
