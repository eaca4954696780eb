//! `/api/v1/groups*` and membership writes.

use crate::common::*;
use okta_sim::model::{GroupType, UserStatus};
use reqwest::Method;
use std::collections::HashSet;

fn ids(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// (OKTA_GROUP id, a live user id not in it).
fn okta_group_and_outsider(sim: &okta_sim::RunningSim) -> (String, String, u32, u32) {
    let org = sim.state.org.read();
    let (gi, g) = org
        .live_groups()
        .find(|(_, g)| g.kind == GroupType::OktaGroup)
        .expect("an OKTA_GROUP");
    let (ui, u) = org
        .live_users()
        .find(|(i, u)| !g.members.contains(i) && u.status == UserStatus::Active)
        .expect("an outsider");
    (g.id.clone(), u.id.clone(), gi, ui)
}

#[tokio::test]
async fn everyone_is_listed_as_built_in_and_paging_covers_all_groups() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (items, pages) = all_pages(&sim, &t, "/api/v1/groups?limit=2", 50).await;
    let want: HashSet<String> = sim
        .state
        .org
        .read()
        .live_groups()
        .map(|(_, g)| g.id.clone())
        .collect();
    assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want);
    assert_eq!(items.len(), want.len());
    assert_eq!(pages, want.len().div_ceil(2));
    let everyone = items
        .iter()
        .find(|g| g["profile"]["name"] == "Everyone")
        .expect("Everyone");
    assert_eq!(everyone["type"], "BUILT_IN");
    assert!(items.iter().any(|g| g["type"] == "APP_GROUP"));
}

#[tokio::test]
async fn expand_stats_counts_members() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (s, _, body) = get(&sim, &t, "/api/v1/groups?expand=stats").await;
    assert_eq!(s, 200);
    let org = sim.state.org.read();
    for g in body.as_array().expect("array") {
        let idx = org.group_by_id[g["id"].as_str().unwrap_or_default()];
        assert_eq!(
            g["_embedded"]["stats"]["usersCount"].as_u64(),
            Some(org.groups[idx as usize].members.len() as u64)
        );
    }
}

#[tokio::test]
async fn members_page_through_every_member_once() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (gid, want) = {
        let org = sim.state.org.read();
        let g = &org.groups[org.everyone as usize];
        let ids: HashSet<String> = g
            .members
            .iter()
            .map(|u| org.users[*u as usize].id.clone())
            .collect();
        (g.id.clone(), ids)
    };
    let (items, pages) =
        all_pages(&sim, &t, &format!("/api/v1/groups/{gid}/users?limit=9"), 50).await;
    assert_eq!(items.len(), want.len());
    assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want);
    assert_eq!(pages, want.len().div_ceil(9));
    // Default page size 1000 fits the whole small org.
    let (_, h, body) = get(&sim, &t, &format!("/api/v1/groups/{gid}/users")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(want.len()));
    assert!(next_link(&h).is_none());
}

#[tokio::test]
async fn put_and_delete_membership() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (gid, uid, gi, _) = okta_group_and_outsider(&sim);
    let before = sim.state.org.read().groups[gi as usize].last_membership_updated;
    let log_len = sim.state.org.read().log.len();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let (s, h, body) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!((s, body.clone()), (204, serde_json::Value::Null));
    assert!(h.get("content-length").is_none_or(|v| v == "0"));
    let after = sim.state.org.read().groups[gi as usize].last_membership_updated;
    assert!(after > before, "lastMembershipUpdated moves");
    let (_, _, g) = get(&sim, &t, &format!("/api/v1/groups/{gid}")).await;
    assert_eq!(
        g["lastMembershipUpdated"],
        okta_sim::clock::okta_time(after).as_str()
    );

    let (members, _) = all_pages(&sim, &t, &format!("/api/v1/groups/{gid}/users"), 5).await;
    assert!(ids(&members).contains(&uid));
    let (_, _, groups) = get(&sim, &t, &format!("/api/v1/users/{uid}/groups")).await;
    assert!(ids(groups.as_array().expect("array")).contains(&gid));

    // The System Log event names the API client as actor.
    {
        let org = sim.state.org.read();
        let e = org.log[log_len..]
            .iter()
            .find(|e| e.event_type == "group.user_membership.add")
            .expect("event");
        let v = okta_sim::render::log_event(&org, e);
        assert_eq!(v["actor"]["id"], sim.credentials.client_id.as_str());
    }

    // Idempotent PUT.
    let (s, _, _) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 204);

    let (s, _, _) = send(
        &sim,
        &t,
        Method::DELETE,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 204);
    let (members, _) = all_pages(&sim, &t, &format!("/api/v1/groups/{gid}/users"), 5).await;
    assert!(!ids(&members).contains(&uid));
    let (_, _, groups) = get(&sim, &t, &format!("/api/v1/users/{uid}/groups")).await;
    assert!(!ids(groups.as_array().expect("array")).contains(&gid));
}

#[tokio::test]
async fn filter_last_membership_updated_after_put() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (gid, uid, _, _) = okta_group_and_outsider(&sim);
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let mark = okta_sim::clock::okta_time(sim.state.clock.now());
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let expr = format!("lastMembershipUpdated gt \"{mark}\"")
        .replace(' ', "%20")
        .replace('"', "%22");
    let (_, _, body) = get(&sim, &t, &format!("/api/v1/groups?filter={expr}")).await;
    assert_eq!(body.as_array().map(Vec::len), Some(0));
    let (s, _, _) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 204);
    for q in ["filter", "search"] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/groups?{q}={expr}")).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            ids(body.as_array().expect("array")),
            vec![gid.clone()],
            "{q}"
        );
    }
    let (s, _, body) = get(&sim, &t, "/api/v1/groups?filter=type%20eq%20%22BUILT_IN%22").await;
    assert_eq!(s, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    let (s, _, body) = get(
        &sim,
        &t,
        "/api/v1/groups?filter=profile.name%20eq%20%22Everyone%22",
    )
    .await;
    assert_eq!((s, error_code(&body)), (400, "E0000031"));
    let (s, _, body) = get(
        &sim,
        &t,
        "/api/v1/groups?search=profile.name%20sw%20%22every%22",
    )
    .await;
    assert_eq!((s, body.as_array().map(Vec::len)), (200, Some(1)));
}

#[tokio::test]
async fn app_group_and_built_in_memberships_are_403() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (app_group, everyone, uid) = {
        let org = sim.state.org.read();
        let ag = org
            .live_groups()
            .find(|(_, g)| g.kind == GroupType::AppGroup)
            .map(|(_, g)| g.id.clone())
            .expect("an APP_GROUP");
        (
            ag,
            org.groups[org.everyone as usize].id.clone(),
            org.users[0].id.clone(),
        )
    };
    let sa = second_app_token(&sim, &["SUPER_ADMIN"], &ALL_SCOPES);
    let log_len = sim.state.org.read().log.len();
    for gid in [&app_group, &everyone] {
        for m in [Method::PUT, Method::DELETE] {
            let (s, _, body) = send(
                &sim,
                &t,
                m.clone(),
                &format!("/api/v1/groups/{gid}/users/{uid}"),
            )
            .await;
            assert_eq!((s, error_code(&body)), (403, "E0000006"), "{m} {gid}");
            assert_eq!(
                body["errorSummary"],
                "You do not have permission to perform the requested action"
            );
        }
    }
    // Even SUPER_ADMIN.
    let (s, _, _) = send(
        &sim,
        &sa,
        Method::DELETE,
        &format!("/api/v1/groups/{everyone}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(sim.state.org.read().log.len(), log_len, "nothing changed");
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (gid, uid, _, _) = okta_group_and_outsider(&sim);
    let (s, _, body) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/00gnope/users/{uid}"),
    )
    .await;
    assert_eq!((s, error_code(&body)), (404, "E0000007"));
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00gnope (UserGroup)"
    );
    let (s, _, body) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/00unope"),
    )
    .await;
    assert_eq!((s, error_code(&body)), (404, "E0000007"));
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00unope (User)"
    );
    for path in [
        "/api/v1/groups/00gnope",
        "/api/v1/groups/00gnope/users",
        "/api/v1/groups/00gnope/apps",
    ] {
        let (s, _, body) = get(&sim, &t, path).await;
        assert_eq!((s, error_code(&body)), (404, "E0000007"), "{path}");
    }
}

#[tokio::test]
async fn scopes_and_roles() {
    let sim = start(None).await;
    let (gid, uid, _, _) = okta_group_and_outsider(&sim);
    // manage implies read.
    let manage = bearer_token(&sim, &["okta.groups.manage"]);
    let (s, _, _) = get(&sim, &manage, "/api/v1/groups?limit=1").await;
    assert_eq!(s, 200);
    // read does not allow writes.
    let read = bearer_token(&sim, &["okta.groups.read"]);
    let (s, h, _) = send(
        &sim,
        &read,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 403);
    let www = h
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        www.contains("insufficient_scope") && www.contains("scope=\"okta.groups.manage\""),
        "{www}"
    );
    // No read scope at all.
    let users_only = bearer_token(&sim, &["okta.users.read"]);
    let (s, h, _) = get(&sim, &users_only, "/api/v1/groups").await;
    assert_eq!(s, 403);
    assert!(h.get("www-authenticate").is_some());
    // Scope but a read-only role: 403 E0000006 on writes.
    let ro = second_app_token(&sim, &["READ_ONLY_ADMIN"], &ALL_SCOPES);
    let (s, _, body) = send(
        &sim,
        &ro,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
    // No role: groups list is 403 (the empty-list quirk is only for users and apps).
    let none = second_app_token(&sim, &[], &ALL_SCOPES);
    let (s, _, body) = get(&sim, &none, "/api/v1/groups").await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
    // Group membership admins don't see Everyone.
    let gma = second_app_token(&sim, &["GROUP_MEMBERSHIP_ADMIN"], &ALL_SCOPES);
    let (items, _) = all_pages(&sim, &gma, "/api/v1/groups", 5).await;
    assert!(items.iter().all(|g| g["type"] != "BUILT_IN"));
    let (s, _, _) = send(
        &sim,
        &gma,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn q_expand_app_and_group_apps() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (_, h, body) = get(&sim, &t, "/api/v1/groups?q=eve&limit=1").await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    assert_eq!(body[0]["profile"]["name"], "Everyone");
    assert!(next_link(&h).is_none());
    let (s, _, body) = get(
        &sim,
        &t,
        "/api/v1/groups?search=type%20eq%20%22APP_GROUP%22&expand=app",
    )
    .await;
    assert_eq!(s, 200);
    let arr = body.as_array().expect("array");
    assert!(!arr.is_empty());
    assert!(
        arr.iter()
            .all(|g| g["type"] == "APP_GROUP" && g["_embedded"]["app"]["id"].is_string())
    );

    let (gid, want) = {
        let org = sim.state.org.read();
        let (gi, g) = org
            .live_groups()
            .find(|(gi, _)| {
                org.apps
                    .iter()
                    .filter(|a| a.groups.contains_key(gi))
                    .count()
                    > 0
            })
            .expect("a group assigned to an app");
        let apps: HashSet<String> = org
            .live_apps()
            .filter(|(_, a)| a.groups.contains_key(&gi))
            .map(|(_, a)| a.id.clone())
            .collect();
        (g.id.clone(), apps)
    };
    let (items, _) = all_pages(&sim, &t, &format!("/api/v1/groups/{gid}/apps?limit=1"), 50).await;
    assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want);
}
