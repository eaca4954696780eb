//! `/api/v1/users*`: paging, limits, filter/search/q, lookups, scopes and roles.

use crate::common::*;
use okta_sim::SimConfig;
use okta_sim::config::MissingRoleBehaviour;
use okta_sim::model::UserStatus;
use std::collections::HashSet;

fn ids(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn default_limit_is_200_and_larger_limits_are_clamped() {
    let sim = start(Some(SimConfig {
        users: 450,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (s, h, body) = get(&sim, &t, "/api/v1/users").await;
    assert_eq!(s, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(200));
    assert!(next_link(&h).is_some());
    let (_, h, body) = get(&sim, &t, "/api/v1/users?limit=1000").await;
    assert_eq!(body.as_array().map(Vec::len), Some(200));
    let next = next_link(&h).expect("next");
    assert!(next.starts_with(&sim.base_url), "absolute: {next}");
    assert!(next.contains("limit=1000"), "keeps params: {next}");
    let (_, _, body) = get(&sim, &t, "/api/v1/users?limit=3").await;
    assert_eq!(body.as_array().map(Vec::len), Some(3));
    for bad in ["0", "-1", "abc"] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/users?limit={bad}")).await;
        assert_eq!((s, error_code(&body)), (400, "E0000001"), "limit={bad}");
    }
}

#[tokio::test]
async fn following_next_visits_every_visible_user_once() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (s, h, _) = get(&sim, &t, "/api/v1/users?limit=7").await;
    assert_eq!(s, 200);
    let l = links(&h);
    assert_eq!(l.len(), 2, "self and next as separate Link headers: {l:?}");
    assert_eq!(
        l[0],
        format!("<{}/api/v1/users?limit=7>; rel=\"self\"", sim.base_url)
    );
    assert!(l[1].ends_with("; rel=\"next\""));
    assert!(!l[1].contains("00u"), "cursor is opaque: {}", l[1]);

    let (items, pages) = all_pages(&sim, &t, "/api/v1/users?limit=7", 100).await;
    let got = ids(&items);
    let unique: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    let want: HashSet<String> = {
        let org = sim.state.org.read();
        org.live_users()
            .filter(|(_, u)| u.status != UserStatus::Deprovisioned)
            .map(|(_, u)| u.id.clone())
            .collect()
    };
    assert_eq!(unique, want);
    assert_eq!(pages, want.len().div_ceil(7), "last page has no next");
    assert!(items.iter().all(|u| u["status"] != "DEPROVISIONED"));
}

#[tokio::test]
async fn deprovisioned_users_appear_with_filter_or_search() {
    let sim = start(None).await;
    {
        let mut org = sim.state.org.write();
        let now = sim.state.clock.now();
        org.set_user_status(1, UserStatus::Deprovisioned, now);
    }
    let want: HashSet<String> = {
        let org = sim.state.org.read();
        org.live_users()
            .filter(|(_, u)| u.status == UserStatus::Deprovisioned)
            .map(|(_, u)| u.id.clone())
            .collect()
    };
    let t = bearer_token(&sim, &ALL_SCOPES);
    for q in ["filter", "search"] {
        let path = format!("/api/v1/users?{q}=status%20eq%20%22DEPROVISIONED%22&limit=2");
        let (items, _) = all_pages(&sim, &t, &path, 100).await;
        assert_eq!(ids(&items).into_iter().collect::<HashSet<_>>(), want, "{q}");
    }
    let (all, _) = all_pages(&sim, &t, "/api/v1/users", 10).await;
    assert!(ids(&all).iter().all(|id| !want.contains(id)));
}

#[tokio::test]
async fn last_updated_gt_in_filter_and_search() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mark = okta_sim::clock::okta_time(sim.state.clock.now());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let changed = {
        let mut org = sim.state.org.write();
        let now = sim.state.clock.now();
        let mut attrs = serde_json::Map::new();
        attrs.insert("title".into(), "Chief Tester".into());
        org.update_user_profile(3, &attrs, now);
        org.users[3].id.clone()
    };
    let expr = format!("lastUpdated gt \"{mark}\"")
        .replace(' ', "%20")
        .replace('"', "%22");
    for q in ["filter", "search"] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/users?{q}={expr}")).await;
        assert_eq!(s, 200, "{q}: {body}");
        assert_eq!(
            ids(body.as_array().expect("array")),
            vec![changed.clone()],
            "{q}"
        );
    }
    let expr = format!("lastUpdated lt \"{mark}\"")
        .replace(' ', "%20")
        .replace('"', "%22");
    let (items, _) = all_pages(&sim, &t, &format!("/api/v1/users?filter={expr}"), 10).await;
    assert!(!ids(&items).contains(&changed));
    assert_eq!(items.len(), sim.state.org.read().live_users().count() - 1);
}

#[tokio::test]
async fn filter_rules_and_search_operators() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (login, first) = {
        let org = sim.state.org.read();
        (
            org.users[0].profile.login.clone(),
            org.users[0].profile.first_name.clone(),
        )
    };
    let enc = |s: &str| s.replace(' ', "%20").replace('"', "%22");
    let (s, _, body) = get(
        &sim,
        &t,
        &format!(
            "/api/v1/users?filter={}",
            enc(&format!("profile.login eq \"{login}\""))
        ),
    )
    .await;
    assert_eq!((s, body.as_array().map(Vec::len)), (200, Some(1)));
    // Filter values are case-sensitive; search values are not.
    let upper = login.to_uppercase();
    let (_, _, body) = get(
        &sim,
        &t,
        &format!(
            "/api/v1/users?filter={}",
            enc(&format!("profile.login eq \"{upper}\""))
        ),
    )
    .await;
    assert_eq!(body.as_array().map(Vec::len), Some(0));
    let (_, _, body) = get(
        &sim,
        &t,
        &format!(
            "/api/v1/users?search={}",
            enc(&format!("profile.login eq \"{upper}\""))
        ),
    )
    .await;
    assert_eq!(body.as_array().map(Vec::len), Some(1));
    let (s, _, body) = get(
        &sim,
        &t,
        &format!(
            "/api/v1/users?search={}",
            enc(&format!("profile.firstName sw \"{}\"", &first[..2]))
        ),
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.as_array().is_some_and(|a| !a.is_empty()));
    for bad in [
        "profile.department eq \"Sales\"",
        "status sw \"ACT\"",
        "id gt \"00u\"",
        "status eq \"ACTIVE\" and",
        "not status eq \"ACTIVE\"",
        "lastUpdated gt \"yesterday\"",
    ] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/users?filter={}", enc(bad))).await;
        assert_eq!((s, error_code(&body)), (400, "E0000031"), "{bad}");
        assert_eq!(body["errorSummary"], "Invalid search criteria.");
    }
    let (s, _, body) = get(
        &sim,
        &t,
        &format!("/api/v1/users?search={}", enc("status ne \"ACTIVE\"")),
    )
    .await;
    assert_eq!((s, error_code(&body)), (400, "E0000031"));
}

#[tokio::test]
async fn search_sort_by_pages_in_order() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let path = "/api/v1/users?search=status%20pr&sortBy=profile.lastName&sortOrder=desc&limit=6";
    let (items, _) = all_pages(&sim, &t, path, 50).await;
    assert_eq!(items.len(), sim.state.org.read().live_users().count());
    let names: Vec<String> = items
        .iter()
        .map(|u| {
            u["profile"]["lastName"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
        })
        .collect();
    assert!(
        names.windows(2).all(|w| w[0] >= w[1]),
        "descending: {names:?}"
    );
    assert_eq!(
        ids(&items).into_iter().collect::<HashSet<_>>().len(),
        items.len()
    );
}

#[tokio::test]
async fn q_is_a_prefix_with_default_limit_10_and_no_paging() {
    let sim = start(Some(SimConfig {
        users: 300,
        ..SimConfig::small()
    }))
    .await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (_, h, body) = get(&sim, &t, "/api/v1/users?q=a").await;
    let arr = body.as_array().expect("array");
    assert_eq!(arr.len(), 10);
    assert!(next_link(&h).is_none(), "q is not paged");
    assert_eq!(links(&h).len(), 1);
    assert!(arr.iter().all(|u| {
        ["firstName", "lastName", "email"].iter().any(|k| {
            u["profile"][k]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .starts_with('a')
        })
    }));
}

#[tokio::test]
async fn single_user_by_id_or_login_and_404() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (id, login) = {
        let org = sim.state.org.read();
        (org.users[2].id.clone(), org.users[2].profile.login.clone())
    };
    let (s, h, body) = get(&sim, &t, &format!("/api/v1/users/{id}")).await;
    assert_eq!((s, body["id"].as_str()), (200, Some(id.as_str())));
    assert!(
        h.get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    let encoded = login.to_uppercase().replace('@', "%40");
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/users/{encoded}")).await;
    assert_eq!((s, body["id"].as_str()), (200, Some(id.as_str())));
    let (s, _, body) = get(&sim, &t, "/api/v1/users/00unotthere").await;
    assert_eq!((s, error_code(&body)), (404, "E0000007"));
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00unotthere (User)"
    );
}

#[tokio::test]
async fn user_groups_and_app_links() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (uid, want_groups, want_apps) = {
        let org = sim.state.org.read();
        let (i, u) = org
            .live_users()
            .find(|(i, _)| {
                org.apps.iter().any(|a| {
                    !a.is_service
                        && a.status == okta_sim::model::AppStatus::Active
                        && a.users.contains_key(i)
                })
            })
            .expect("an assigned user");
        let groups: HashSet<String> = u
            .groups
            .iter()
            .map(|g| org.groups[*g as usize].id.clone())
            .collect();
        let apps: HashSet<String> = org
            .live_apps()
            .filter(|(_, a)| {
                !a.is_service
                    && a.status == okta_sim::model::AppStatus::Active
                    && a.users.contains_key(&i)
            })
            .map(|(_, a)| a.id.clone())
            .collect();
        (u.id.clone(), groups, apps)
    };
    let (s, h, body) = get(&sim, &t, &format!("/api/v1/users/{uid}/groups")).await;
    assert_eq!(s, 200);
    assert_eq!(links(&h).len(), 1, "self only");
    let got: HashSet<String> = ids(body.as_array().expect("array")).into_iter().collect();
    assert_eq!(got, want_groups);
    assert!(
        body.as_array()
            .is_some_and(|a| a.iter().any(|g| g["type"] == "BUILT_IN"))
    );
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/users/{uid}/appLinks")).await;
    assert_eq!(s, 200);
    let arr = body.as_array().expect("array");
    let got: HashSet<String> = arr
        .iter()
        .map(|l| l["appInstanceId"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got, want_apps);
    assert!(arr.iter().all(|l| {
        l["id"] == uid.as_str()
            && l["appAssignmentId"]
                .as_str()
                .is_some_and(|s| s.starts_with("0ua"))
    }));
}

#[tokio::test]
async fn missing_scope_is_403_insufficient_scope() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &["okta.groups.read"]);
    for path in [
        "/api/v1/users",
        "/api/v1/users/x",
        "/api/v1/users/x/groups",
        "/api/v1/users/x/appLinks",
    ] {
        let (s, h, _) = get(&sim, &t, path).await;
        assert_eq!(s, 403, "{path}");
        let www = h
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            www.contains("error=\"insufficient_scope\""),
            "{path}: {www}"
        );
        assert!(www.contains("scope=\"okta.users.read\""), "{www}");
    }
}

#[tokio::test]
async fn missing_role_gives_empty_list_oktalike_and_403_elsewhere() {
    let sim = start(None).await;
    let t = second_app_token(&sim, &[], &ALL_SCOPES);
    let (s, h, body) = get(&sim, &t, "/api/v1/users").await;
    assert_eq!((s, body.clone()), (200, serde_json::json!([])));
    assert!(next_link(&h).is_none());
    let uid = sim.state.org.read().users[0].id.clone();
    for path in [
        format!("/api/v1/users/{uid}"),
        format!("/api/v1/users/{uid}/groups"),
    ] {
        let (s, h, body) = get(&sim, &t, &path).await;
        assert_eq!((s, error_code(&body)), (403, "E0000006"), "{path}");
        assert!(h.get("www-authenticate").is_none());
    }
    // A role that does not include apps/logs but does include users.
    let gma = second_app_token(&sim, &["GROUP_MEMBERSHIP_ADMIN"], &ALL_SCOPES);
    let (s, _, body) = get(&sim, &gma, "/api/v1/users?limit=2").await;
    assert_eq!((s, body.as_array().map(Vec::len)), (200, Some(2)));

    let strict = start(Some(SimConfig {
        missing_role: MissingRoleBehaviour::AlwaysForbidden,
        ..SimConfig::small()
    }))
    .await;
    let t = second_app_token(&strict, &[], &ALL_SCOPES);
    let (s, _, body) = get(&strict, &t, "/api/v1/users").await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
}

#[tokio::test]
async fn forged_cursor_is_400() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let uid = sim.state.org.read().users[0].id.clone();
    for after in [uid.as_str(), "!!!", "Zzz"] {
        let (s, _, body) = get(&sim, &t, &format!("/api/v1/users?after={after}")).await;
        assert_eq!((s, error_code(&body)), (400, "E0000001"), "after={after}");
    }
}
