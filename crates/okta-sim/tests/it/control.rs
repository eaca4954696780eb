//! The control API: directory changes, ground truth, random mutations, tokens, request log.

use crate::common::{self, ALL_SCOPES, sim_call, sim_get, sim_post, sim_put};
use okta_sim::model::{AssignmentScope, Org, UserStatus};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|x| x["id"] == id)
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Checks every invariant the model keeps, in both directions.
fn check_invariants(org: &Org) {
    for (gi, g) in org.live_groups() {
        for u in &g.members {
            let user = &org.users[*u as usize];
            assert!(
                !user.deleted,
                "group {} has deleted member {}",
                g.id, user.id
            );
            assert!(
                user.groups.contains(&gi),
                "user {} misses group {}",
                user.id,
                g.id
            );
        }
    }
    for (ui, u) in org.live_users() {
        for g in &u.groups {
            let group = &org.groups[*g as usize];
            assert!(
                !group.deleted,
                "user {} is in deleted group {}",
                u.id, group.id
            );
            assert!(
                group.members.contains(&ui),
                "group {} misses user {}",
                group.id,
                u.id
            );
        }
        assert!(
            u.groups.contains(&org.everyone),
            "user {} not in Everyone",
            u.id
        );
    }
    for (_, a) in org.live_apps() {
        for g in a.groups.keys() {
            assert!(
                !org.groups[*g as usize].deleted,
                "app {} has a deleted group",
                a.id
            );
        }
        for u in &a.direct_users {
            let au = a
                .users
                .get(u)
                .unwrap_or_else(|| panic!("direct user missing in {}", a.id));
            assert_eq!(au.scope, AssignmentScope::User);
        }
        for (u, au) in &a.users {
            let user = &org.users[*u as usize];
            assert!(!user.deleted, "app {} has deleted user {}", a.id, user.id);
            assert_ne!(
                user.status,
                UserStatus::Deprovisioned,
                "deactivated user {} still assigned to {}",
                user.id,
                a.id
            );
            match au.scope {
                AssignmentScope::User => assert!(a.direct_users.contains(u)),
                AssignmentScope::Group => assert!(
                    a.groups.keys().any(|g| user.groups.contains(g)),
                    "GROUP assignment of {} to {} without a group path",
                    user.id,
                    a.id
                ),
            }
        }
    }
}

/// Recomputes the summary's counts from the snapshot and compares.
fn check_summary_matches_snapshot(summary: &Value, snapshot: &Value) {
    let users = snapshot["users"].as_array().expect("users");
    assert_eq!(n(&summary["users"]["total"]), users.len() as i64);
    let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
    for u in users {
        *by_status
            .entry(u["status"].as_str().expect("status").into())
            .or_default() += 1;
    }
    for (status, count) in summary["users"]["by_status"]
        .as_object()
        .expect("by_status")
    {
        assert_eq!(
            by_status.get(status).copied().unwrap_or(0),
            n(count),
            "{status}"
        );
    }
    let ids: BTreeSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    let groups = snapshot["groups"].as_array().expect("groups");
    assert_eq!(n(&summary["groups"]["total"]), groups.len() as i64);
    let mut memberships = 0;
    for g in groups {
        for m in g["members"].as_array().expect("members") {
            assert!(
                ids.contains(m.as_str().expect("id")),
                "member of {} is not a live user",
                g["id"]
            );
            memberships += 1;
        }
    }
    assert_eq!(n(&summary["memberships"]), memberships);
    let apps = snapshot["apps"].as_array().expect("apps");
    assert_eq!(n(&summary["apps"]["total"]), apps.len() as i64);
    let assignments: usize = apps
        .iter()
        .map(|a| a["users"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        n(&summary["app_user_assignments"]["total"]),
        assignments as i64
    );
    let group_assignments: usize = apps
        .iter()
        .map(|a| a["groups"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        n(&summary["app_group_assignments"]),
        group_assignments as i64
    );
}

#[tokio::test]
async fn created_user_appears_in_snapshot_and_summary() {
    let sim = common::start(None).await;
    let before = sim_get(&sim, "/summary").await;
    let user = sim_post(
        &sim,
        "/users",
        json!({"profile": {"firstName": "Ada", "lastName": "Lovelace", "login": "ada@example.com",
                           "department": "R&D", "costCenter": "42"}, "status": "ACTIVE"}),
    )
    .await;
    let id = user["id"].as_str().expect("id");
    assert!(id.starts_with("00u"));
    assert_eq!(user["profile"]["email"], "ada@example.com");
    assert_eq!(user["profile"]["costCenter"], "42");
    let after = sim_get(&sim, "/summary").await;
    assert_eq!(
        n(&after["users"]["total"]),
        n(&before["users"]["total"]) + 1
    );
    assert_eq!(
        n(&after["users"]["by_status"]["ACTIVE"]),
        n(&before["users"]["by_status"]["ACTIVE"]) + 1
    );
    assert_eq!(
        n(&after["memberships"]),
        n(&before["memberships"]) + 1,
        "Everyone"
    );
    // user.lifecycle.create, user.lifecycle.activate, group.user_membership.add (Everyone).
    assert_eq!(n(&after["log_events"]), n(&before["log_events"]) + 3);
    let snap = sim_get(&sim, "/snapshot").await;
    let u = find(&snap["users"], id).expect("user in snapshot");
    assert_eq!(
        (u["login"].as_str(), u["status"].as_str()),
        (Some("ada@example.com"), Some("ACTIVE"))
    );
    check_summary_matches_snapshot(&after, &snap);
    // The management API serves the same user.
    let token = common::bearer_token(&sim, &ALL_SCOPES);
    let (status, _, api_user) = common::get(&sim, &token, &format!("/api/v1/users/{id}")).await;
    assert_eq!(status, 200, "{api_user}");
    assert_eq!(api_user["profile"]["login"], "ada@example.com");

    // Duplicate logins are refused; unknown users are 404; both as {"error"}.
    let (status, v) = sim_call(
        &sim,
        Method::POST,
        "/users",
        Some(json!({"profile": {"login": "ADA@example.com"}})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].is_string());
    let (status, v) = sim_call(&sim, Method::PATCH, "/users/00unope", Some(json!({}))).await;
    assert_eq!(status, 404);
    assert!(v["error"].is_string());

    // PATCH changes the profile and status; DELETE deactivates then deletes.
    let (status, v) = sim_call(
        &sim,
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"profile": {"title": "Countess"}, "status": "SUSPENDED"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["profile"]["title"], "Countess");
    assert_eq!(v["status"], "SUSPENDED");
    let (status, _) = sim_call(&sim, Method::DELETE, &format!("/users/{id}"), None).await;
    assert_eq!(status, 204);
    let snap = sim_get(&sim, "/snapshot").await;
    assert!(find(&snap["users"], id).is_none());
    let summary = sim_get(&sim, "/summary").await;
    assert_eq!(
        n(&summary["users"]["deleted"]),
        n(&before["users"]["deleted"]) + 1
    );
    check_summary_matches_snapshot(&summary, &snap);
    check_invariants(&sim.state.org.read());
}

#[tokio::test]
async fn membership_and_assignment_changes_show_in_the_snapshot() {
    let sim = common::start(None).await;
    let group = sim_post(
        &sim,
        "/groups",
        json!({"name": "Pilots", "description": "Fly"}),
    )
    .await;
    let gid = group["id"].as_str().expect("gid").to_string();
    assert_eq!(group["type"], "OKTA_GROUP");
    let user = sim_post(
        &sim,
        "/users",
        json!({"profile": {"login": "pilot@example.com"}}),
    )
    .await;
    let uid = user["id"].as_str().expect("uid").to_string();
    let member = format!("/groups/{gid}/users/{uid}");
    assert_eq!(sim_put(&sim, &member, json!({})).await["changed"], true);
    assert_eq!(sim_put(&sim, &member, json!({})).await["changed"], false);
    let snap = sim_get(&sim, "/snapshot").await;
    let g = find(&snap["groups"], &gid).expect("group");
    assert_eq!(g["members"], json!([uid]));

    // An app assigned to the group reaches the member with GROUP scope; a direct assignment
    // turns it into USER.
    let app = sim_post(&sim, "/org-apps", json!({"label": "Flight Log"})).await;
    let aid = app["id"].as_str().expect("aid").to_string();
    assert_eq!(app["signOnMode"], "SAML_2_0");
    sim_put(&sim, &format!("/org-apps/{aid}/groups/{gid}"), json!({})).await;
    let snap = sim_get(&sim, "/snapshot").await;
    let a = find(&snap["apps"], &aid).expect("app");
    assert_eq!(a["users"], json!([{"id": uid, "scope": "GROUP"}]));
    assert_eq!(a["groups"], json!([gid]));
    sim_put(&sim, &format!("/org-apps/{aid}/users/{uid}"), json!({})).await;
    let snap = sim_get(&sim, "/snapshot").await;
    assert_eq!(
        find(&snap["apps"], &aid).expect("app")["users"],
        json!([{"id": uid, "scope": "USER"}])
    );

    // Removing the membership keeps the direct assignment; removing that empties the app.
    let (status, v) = sim_call(&sim, Method::DELETE, &member, None).await;
    assert_eq!((status, &v["changed"]), (200, &json!(true)));
    let (status, _) = sim_call(
        &sim,
        Method::DELETE,
        &format!("/org-apps/{aid}/users/{uid}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let snap = sim_get(&sim, "/snapshot").await;
    assert_eq!(
        find(&snap["groups"], &gid).expect("group")["members"],
        json!([])
    );
    assert_eq!(find(&snap["apps"], &aid).expect("app")["users"], json!([]));

    // Rename, relabel, deactivate, SSO, delete.
    let v = sim_call(
        &sim,
        Method::PATCH,
        &format!("/groups/{gid}"),
        Some(json!({"name": "Aviators"})),
    )
    .await;
    assert_eq!(v.1["profile"]["name"], "Aviators");
    let v = sim_call(
        &sim,
        Method::PATCH,
        &format!("/org-apps/{aid}"),
        Some(json!({"label": "Logbook", "status": "INACTIVE"})),
    )
    .await;
    assert_eq!(
        (v.1["label"].as_str(), v.1["status"].as_str()),
        (Some("Logbook"), Some("INACTIVE"))
    );
    let before = n(&sim_get(&sim, "/summary").await["log_events"]);
    sim_post(
        &sim,
        "/sso",
        json!({"user": "pilot@example.com", "app": aid, "success": false}),
    )
    .await;
    assert_eq!(
        n(&sim_get(&sim, "/summary").await["log_events"]),
        before + 1
    );
    assert_eq!(
        sim_call(&sim, Method::DELETE, &format!("/groups/{gid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        sim_call(&sim, Method::DELETE, &format!("/org-apps/{aid}"), None)
            .await
            .0,
        204
    );
    let snap = sim_get(&sim, "/snapshot").await;
    assert!(find(&snap["groups"], &gid).is_none() && find(&snap["apps"], &aid).is_none());
    // Everyone (BUILT_IN) cannot be deleted.
    let everyone = snap["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["type"] == "BUILT_IN")
        .expect("Everyone")["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        sim_call(&sim, Method::DELETE, &format!("/groups/{everyone}"), None)
            .await
            .0,
        400
    );
    check_invariants(&sim.state.org.read());
    check_summary_matches_snapshot(&sim_get(&sim, "/summary").await, &snap);
}

#[tokio::test]
async fn random_mutations_change_the_snapshot_and_keep_invariants() {
    let sim = common::start(None).await;
    let before = sim_get(&sim, "/snapshot").await;
    let log_before = n(&sim_get(&sim, "/summary").await["log_events"]);
    let v = sim_post(&sim, "/mutations/random", json!({"count": 300, "seed": 11})).await;
    let applied = v["applied"].as_array().expect("applied");
    assert!(
        applied.len() > 200,
        "most operations apply: {} of 300",
        applied.len()
    );
    let ops: BTreeSet<&str> = applied.iter().filter_map(|a| a["op"].as_str()).collect();
    for op in [
        "create_user",
        "deactivate_user",
        "delete_user",
        "add_member",
        "remove_member",
        "create_group",
        "rename_group",
        "assign_user_to_app",
        "rename_app",
        "sso",
    ] {
        assert!(ops.contains(op), "{op} never happened: {ops:?}");
    }
    let after = sim_get(&sim, "/snapshot").await;
    assert_ne!(before, after);
    // Every created user is there; every deleted one is gone.
    for a in applied {
        match a["op"].as_str() {
            Some("delete_user") => {
                assert!(find(&after["users"], a["user"].as_str().expect("id")).is_none())
            }
            Some("delete_group") => {
                assert!(find(&after["groups"], a["group"].as_str().expect("id")).is_none())
            }
            _ => {}
        }
    }
    let summary = sim_get(&sim, "/summary").await;
    assert!(n(&summary["log_events"]) > log_before);
    check_summary_matches_snapshot(&summary, &after);
    check_invariants(&sim.state.org.read());
    // The same seed on the same org state makes the same choices (ids aside).
    let (status, v) = sim_call(
        &sim,
        Method::POST,
        "/mutations/random",
        Some(json!({"count": "x"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn revoking_tokens_invalidates_them() {
    let sim = common::start(None).await;
    let token = common::bearer_token(&sim, &ALL_SCOPES);
    let (before, _, _) = common::get(&sim, &token, "/api/v1/users?limit=1").await;
    let other = sim_post(&sim, "/apps", json!({"label": "Other"})).await;
    let other_token =
        common::token_for_client(&sim, other["client_id"].as_str().expect("id"), &ALL_SCOPES);
    let v = sim_post(
        &sim,
        "/tokens/revoke",
        json!({"client_id": sim.credentials.client_id}),
    )
    .await;
    assert_eq!(v["revoked"], 1);
    assert!(sim.state.auth.lookup(&token).expect("known").revoked);
    assert!(!sim.state.auth.lookup(&other_token).expect("known").revoked);
    assert_eq!(before, 200, "the token worked before");
    let (after, _, body) = common::get(&sim, &token, "/api/v1/users?limit=1").await;
    assert_eq!(after, 401, "{body}");
    let v = sim_post(&sim, "/tokens/revoke", json!({})).await;
    assert_eq!(v["revoked"], 1, "the other app's token");
}

#[tokio::test]
async fn request_log_records_okta_requests_only() {
    let sim = common::start(None).await;
    let token = common::bearer_token(&sim, &ALL_SCOPES);
    common::get(&sim, &token, "/api/v1/groups?limit=2").await;
    let log = sim_get(&sim, "/requests").await;
    let reqs = log["requests"].as_array().expect("requests");
    assert_eq!(reqs.len(), 1, "control calls are not logged: {reqs:?}");
    let r = &reqs[0];
    assert_eq!(
        (r["method"].as_str(), r["uri"].as_str()),
        (Some("GET"), Some("/api/v1/groups?limit=2"))
    );
    assert_eq!(r["auth_scheme"], "Bearer");
    assert!(r["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    let seq = n(&r["seq"]);
    common::get(&sim, &token, "/api/v1/logs").await;
    let log = sim_get(&sim, &format!("/requests?after={seq}")).await;
    let reqs = log["requests"].as_array().expect("requests");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["uri"], "/api/v1/logs");
    assert_eq!(n(&log["last_seq"]), seq + 1);
    assert_eq!(
        sim_call(&sim, Method::DELETE, "/requests", None).await.0,
        204
    );
    assert_eq!(sim_get(&sim, "/requests").await["requests"], json!([]));
}

#[tokio::test]
async fn service_apps_keys_clock_and_nonces() {
    let sim = common::start(None).await;
    let app = sim_post(
        &sim,
        "/apps",
        json!({"label": "Rotator", "scopes": ["okta.users.read"], "dpop": "optional"}),
    )
    .await;
    let client = app["client_id"].as_str().expect("client_id").to_string();
    let kid = app["kid"].as_str().expect("kid").to_string();
    assert!(app["private_key_jwk"]["d"].is_string());
    assert!(
        app["private_key_pem"]
            .as_str()
            .expect("pem")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // Rotate: generate a second key, deactivate then remove the first; change grants.
    let (status, v) = sim_call(&sim, Method::PATCH, &format!("/apps/{client}"), Some(json!({
        "generate_key": true, "deactivate_kids": [kid], "scopes": ["okta.users.read", "okta.logs.read"],
        "roles": ["READ_ONLY_ADMIN"], "dpop": "required"
    }))).await;
    assert_eq!(status, 200, "{v}");
    let new_kid = v["kid"].as_str().expect("new kid").to_string();
    assert_eq!(
        v["keys"],
        json!([{"kid": kid, "status": "INACTIVE"}, {"kid": new_kid, "status": "ACTIVE"}])
    );
    assert_eq!(v["scopes"], json!(["okta.logs.read", "okta.users.read"]));
    assert_eq!(v["dpop"], "required");
    let v = sim_call(
        &sim,
        Method::PATCH,
        &format!("/apps/{client}"),
        Some(json!({"remove_kids": [kid]})),
    )
    .await
    .1;
    assert_eq!(v["keys"], json!([{"kid": new_kid, "status": "ACTIVE"}]));
    {
        let org = sim.state.org.read();
        let c = &org.clients[&client];
        assert_eq!(c.jwks.len(), 1);
        assert!(c.roles.contains("READ_ONLY_ADMIN"));
    }
    let (status, _) = sim_call(
        &sim,
        Method::PATCH,
        &format!("/apps/{client}"),
        Some(json!({"remove_kids": ["nope"]})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = sim_call(&sim, Method::PATCH, "/apps/0oanope", Some(json!({}))).await;
    assert_eq!(status, 404);

    // Clock skew moves the Date header.
    let v = sim_put(&sim, "/clock", json!({"offset_ms": 3_600_000})).await;
    assert_eq!(v["offset_ms"], 3_600_000);
    let resp = common::http()
        .get(format!("{}/.well-known/openid-configuration", sim.base_url))
        .send()
        .await
        .expect("get");
    let skew = common::date_secs(resp.headers()) - chrono::Utc::now().timestamp();
    assert!(
        (3595..=3605).contains(&skew),
        "Date is an hour ahead: {skew}"
    );

    let a = sim_post(&sim, "/dpop-nonce/rotate", json!({})).await["nonce"]
        .as_str()
        .expect("nonce")
        .to_string();
    let b = sim_post(&sim, "/dpop-nonce/rotate", json!({"hard": true})).await["nonce"]
        .as_str()
        .expect("nonce")
        .to_string();
    assert!(!a.is_empty() && a != b);
    let (status, v) = sim_call(&sim, Method::GET, "/nope", None).await;
    assert_eq!(status, 404);
    assert!(v["error"].is_string());
}
