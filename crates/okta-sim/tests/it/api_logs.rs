//! `/api/v1/logs`: polling vs bounded, cursors, limits, filters, ordering, retention.

use crate::common::*;
use chrono::{DateTime, TimeDelta, Utc};
use okta_sim::SimConfig;
use okta_sim::model::{LogEvent, LogRef};
use reqwest::Method;

fn iso(t: DateTime<Utc>) -> String {
    okta_sim::clock::okta_time(t)
}

fn uuids(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["uuid"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn busy() -> SimConfig {
    SimConfig {
        log_days: 2,
        log_events_per_day: Some(800),
        ..SimConfig::small()
    }
}

#[tokio::test]
async fn polling_next_is_always_present_and_continues_after_mutations() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let since = iso(sim.state.clock.now() + TimeDelta::seconds(1));
    let (s, h, body) = get(&sim, &t, &format!("/api/v1/logs?since={since}")).await;
    assert_eq!((s, body.clone()), (200, serde_json::json!([])));
    let next = relative(&sim, &next_link(&h).expect("next on an empty polling page"));
    assert!(
        !next.contains("since="),
        "since and after are exclusive: {next}"
    );
    let (s, h, body) = get(&sim, &t, &next).await;
    assert_eq!((s, body), (200, serde_json::json!([])));
    let again = relative(&sim, &next_link(&h).expect("still a next"));

    let (gid, uid) = {
        let org = sim.state.org.read();
        let (gi, g) = org
            .live_groups()
            .find(|(_, g)| g.kind == okta_sim::model::GroupType::OktaGroup)
            .expect("group");
        let u = org
            .live_users()
            .find(|(i, _)| !g.members.contains(i))
            .map(|(_, u)| u.id.clone())
            .expect("user");
        let _ = gi;
        (g.id.clone(), u)
    };
    let (s, _, _) = send(
        &sim,
        &t,
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
    )
    .await;
    assert_eq!(s, 204);
    let (s, h, body) = get(&sim, &t, &again).await;
    assert_eq!(s, 200);
    let arr = body.as_array().expect("array");
    assert!(
        arr.iter()
            .any(|e| e["eventType"] == "group.user_membership.add"),
        "{body}"
    );
    let after_new = relative(&sim, &next_link(&h).expect("next"));
    let (_, h, body) = get(&sim, &t, &after_new).await;
    assert_eq!(body, serde_json::json!([]), "no repeats");
    assert!(next_link(&h).is_some());
}

#[tokio::test]
async fn polling_from_since_returns_every_event_once() {
    let sim = start(Some(busy())).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let since = sim.state.clock.now() - TimeDelta::days(1);
    let want: Vec<String> = {
        let org = sim.state.org.read();
        org.log
            .iter()
            .filter(|e| e.published >= since)
            .map(|e| e.uuid.to_string())
            .collect()
    };
    let mut path = format!("/api/v1/logs?since={}&limit=300", iso(since));
    let mut got = Vec::new();
    for _ in 0..50 {
        let (s, h, body) = get(&sim, &t, &path).await;
        assert_eq!(s, 200);
        let arr = body.as_array().cloned().unwrap_or_default();
        path = relative(&sim, &next_link(&h).expect("polling always has next"));
        if arr.is_empty() {
            break;
        }
        got.extend(uuids(&arr));
    }
    assert_eq!(got, want, "every event once, in order");
}

#[tokio::test]
async fn bounded_query_is_finite_and_complete() {
    let sim = start(Some(busy())).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let now = sim.state.clock.now();
    let (since, until) = (now - TimeDelta::days(1), now - TimeDelta::hours(3));
    let want: Vec<String> = {
        let org = sim.state.org.read();
        org.log
            .iter()
            .filter(|e| e.published >= since && e.published < until)
            .map(|e| e.uuid.to_string())
            .collect()
    };
    assert!(want.len() > 250);
    let path = format!(
        "/api/v1/logs?since={}&until={}&limit=100",
        iso(since),
        iso(until)
    );
    let (items, pages) = all_pages(&sim, &t, &path, 100).await;
    assert_eq!(uuids(&items), want);
    assert_eq!(pages, want.len().div_ceil(100));

    // DESCENDING: newest first, the same set.
    let path = format!(
        "/api/v1/logs?since={}&until={}&limit=100&sortOrder=DESCENDING",
        iso(since),
        iso(until)
    );
    let (items, _) = all_pages(&sim, &t, &path, 100).await;
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(uuids(&items), rev);
    let published: Vec<&str> = items
        .iter()
        .map(|e| e["published"].as_str().unwrap_or_default())
        .collect();
    assert!(published.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn descending_without_until_is_bounded() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (items, _) = all_pages(&sim, &t, "/api/v1/logs?sortOrder=DESCENDING&limit=37", 100).await;
    let week_ago = sim.state.clock.now() - TimeDelta::days(7);
    let n = sim
        .state
        .org
        .read()
        .log
        .iter()
        .filter(|e| e.published >= week_ago)
        .count();
    assert_eq!(items.len(), n);
}

#[tokio::test]
async fn limits_default_100_max_1000() {
    let sim = start(Some(busy())).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let (_, _, body) = get(&sim, &t, "/api/v1/logs").await;
    assert_eq!(body.as_array().map(Vec::len), Some(100));
    let (_, h, body) = get(&sim, &t, "/api/v1/logs?limit=5000").await;
    assert_eq!(body.as_array().map(Vec::len), Some(1000));
    assert!(next_link(&h).is_some_and(|n| n.contains("limit=5000")));
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?limit=0").await;
    assert_eq!((s, body), (200, serde_json::json!([])));
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?limit=-3").await;
    assert_eq!((s, error_code(&body)), (400, "E0000001"));
}

#[tokio::test]
async fn parameter_errors() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let old = iso(sim.state.clock.now() - TimeDelta::days(181));
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/logs?since={old}")).await;
    assert_eq!((s, error_code(&body)), (400, "E0000053"));
    assert_eq!(
        body["errorSummary"],
        "Invalid parameter: The since parameter is over 180 days prior to the current day."
    );
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?until=yesterday").await;
    assert_eq!((s, error_code(&body)), (400, "E0000001"));
    assert!(
        body["errorSummary"]
            .as_str()
            .is_some_and(|m| m.contains("'until'"))
    );
    let (s, _, body) = get(
        &sim,
        &t,
        "/api/v1/logs?filter=published%20gt%20%222026-01-01T00:00:00Z%22",
    )
    .await;
    assert_eq!((s, error_code(&body)), (400, "E0000031"));
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?filter=eventType%20eqq%20%22x%22").await;
    assert_eq!((s, error_code(&body)), (400, "E0000053"));
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?filter=bogus%20eq%20%22x%22").await;
    assert_eq!((s, error_code(&body)), (400, "E0000053"));
    assert_eq!(body["errorSummary"], "field is not valid: bogus");
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?sortOrder=sideways").await;
    assert_eq!((s, error_code(&body)), (400, "E0000001"));
    let long = "x".repeat(41);
    let (s, _, body) = get(&sim, &t, &format!("/api/v1/logs?q={long}")).await;
    assert_eq!((s, error_code(&body)), (400, "E0000001"));

    // `since` re-sent with `after` (what the Python SDK's paginate_all does) is accepted and
    // the cursor decides where the page starts.
    let since = iso(sim.state.clock.now() - TimeDelta::days(1));
    let (_, h, _) = get(&sim, &t, &format!("/api/v1/logs?limit=1&since={since}")).await;
    let next = relative(&sim, &next_link(&h).expect("next"));
    let (s, _, plain) = get(&sim, &t, &next).await;
    assert_eq!(s, 200);
    let (s, _, with_since) = get(&sim, &t, &format!("{next}&since={since}")).await;
    assert_eq!(s, 200);
    assert_eq!(plain, with_since);
    let (s, _, body) = get(&sim, &t, "/api/v1/logs?after=forged").await;
    assert_eq!((s, error_code(&body)), (400, "E0000001"));
}

#[tokio::test]
async fn filter_event_type_and_keywords() {
    let sim = start(Some(busy())).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let since = sim.state.clock.now() - TimeDelta::days(2);
    let want: Vec<String> = {
        let org = sim.state.org.read();
        org.log
            .iter()
            .filter(|e| e.published >= since && e.event_type == "user.session.start")
            .map(|e| e.uuid.to_string())
            .collect()
    };
    assert!(!want.is_empty());
    let path = format!(
        "/api/v1/logs?since={}&until={}&limit=1000&filter=eventType%20eq%20%22user.session.start%22",
        iso(since),
        iso(sim.state.clock.now())
    );
    let (items, _) = all_pages(&sim, &t, &path, 20).await;
    assert_eq!(uuids(&items), want);

    let path = format!(
        "/api/v1/logs?since={}&limit=1000&filter=eventType%20eq%20%22user.authentication.sso%22%20and%20outcome.result%20eq%20%22FAILURE%22",
        iso(since)
    );
    let (_, _, body) = get(&sim, &t, &path).await;
    let arr = body.as_array().expect("array");
    assert!(!arr.is_empty());
    assert!(arr.iter().all(
        |e| e["eventType"] == "user.authentication.sso" && e["outcome"]["result"] == "FAILURE"
    ));

    // Keywords (case-insensitive, exact words): a user id matches the events naming the user.
    let (uid, n) = {
        let org = sim.state.org.read();
        let e = org
            .log
            .iter()
            .rev()
            .find(|e| matches!(e.actor, LogRef::User(_)))
            .expect("user event");
        let LogRef::User(u) = e.actor else {
            unreachable!()
        };
        let n = org
            .log
            .iter()
            .filter(|e| e.published >= since)
            .filter(|e| {
                std::iter::once(&e.actor)
                    .chain(e.targets.iter())
                    .any(|r| matches!(r, LogRef::User(x) if *x == u))
            })
            .count();
        (org.users[u as usize].id.clone(), n)
    };
    let path = format!(
        "/api/v1/logs?since={}&limit=1000&q={}",
        iso(since),
        uid.to_lowercase()
    );
    let (_, _, body) = get(&sim, &t, &path).await;
    assert_eq!(body.as_array().map(Vec::len), Some(n));
    let path = format!(
        "/api/v1/logs?since={}&limit=1000&q={}",
        iso(since),
        &uid[..10]
    );
    let (_, _, body) = get(&sim, &t, &path).await;
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(0),
        "no partial-word matches"
    );
}

#[tokio::test]
async fn retention_is_90_days() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &ALL_SCOPES);
    let now = sim.state.clock.now();
    let old = {
        let mut org = sim.state.org.write();
        let e = LogEvent {
            uuid: uuid::Uuid::new_v4(),
            published: now - TimeDelta::days(100),
            event_type: "user.session.start",
            result: "SUCCESS",
            reason: None,
            actor: LogRef::User(0),
            targets: vec![],
            ip: [10, 0, 0, 1],
        };
        let id = e.uuid.to_string();
        org.log.insert(0, e);
        id
    };
    let path = format!(
        "/api/v1/logs?since={}&until={}&limit=1000",
        iso(now - TimeDelta::days(120)),
        iso(now)
    );
    let (items, _) = all_pages(&sim, &t, &path, 20).await;
    assert!(!items.is_empty());
    assert!(!uuids(&items).contains(&old));
    let path = format!(
        "/api/v1/logs?since={}&limit=1000",
        iso(now - TimeDelta::days(120))
    );
    let (_, _, body) = get(&sim, &t, &path).await;
    assert!(!uuids(body.as_array().expect("array")).contains(&old));
    let cutoff = iso(now - TimeDelta::days(90));
    assert!(items.iter().all(|e| {
        e["published"]
            .as_str()
            .is_some_and(|p| p >= cutoff.as_str())
    }));
}

#[tokio::test]
async fn scope_and_role() {
    let sim = start(None).await;
    let t = bearer_token(&sim, &["okta.users.read"]);
    let (s, h, _) = get(&sim, &t, "/api/v1/logs").await;
    assert_eq!(s, 403);
    assert!(
        h.get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|w| w.contains("insufficient_scope") && w.contains("okta.logs.read"))
    );
    let gma = second_app_token(&sim, &["GROUP_MEMBERSHIP_ADMIN"], &ALL_SCOPES);
    let (s, _, body) = get(&sim, &gma, "/api/v1/logs").await;
    assert_eq!((s, error_code(&body)), (403, "E0000006"));
}
