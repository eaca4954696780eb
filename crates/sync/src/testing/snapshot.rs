//! The store in okta-sim's `GET /__sim/snapshot` shape (okta-sim `control/truth.rs`), and a
//! normal form for comparing two snapshots exactly.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use steward_inventory::ConnectionId;

use super::MemoryStore;

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
    })
}

/// Live users, groups with members, apps with users and groups, as the simulator shows them.
pub fn snapshot(store: &MemoryStore, conn: ConnectionId) -> Value {
    store.read(conn, |c| {
        let users: Vec<Value> = c
            .users
            .values()
            .filter(|r| r.removed.is_none())
            .map(|r| {
                json!({"id": r.rec.id, "status": r.rec.status,
                       "lastUpdated": time(r.rec.last_updated), "login": r.rec.login})
            })
            .collect();
        let mut members: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for ((g, u), _) in c.members.iter().filter(|(_, r)| r.removed.is_none()) {
            members.entry(g).or_default().push(json!(u));
        }
        let groups: Vec<Value> = c
            .groups
            .values()
            .filter(|r| r.removed.is_none())
            .map(|r| {
                let g = &r.rec;
                json!({"id": g.id, "type": g.group_type, "name": g.name,
                       "lastMembershipUpdated": time(g.last_membership_updated),
                       "members": members.remove(g.id.as_str()).unwrap_or_default()})
            })
            .collect();
        let mut app_users: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for ((a, u), r) in c.app_users.iter().filter(|(_, r)| r.removed.is_none()) {
            app_users
                .entry(a)
                .or_default()
                .push(json!({"id": u, "scope": r.rec.scope}));
        }
        let mut app_groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for ((a, g), _) in c.app_groups.iter().filter(|(_, r)| r.removed.is_none()) {
            app_groups.entry(a).or_default().push(json!(g));
        }
        let apps: Vec<Value> = c
            .apps
            .values()
            .filter(|r| r.removed.is_none())
            .map(|r| {
                let a = &r.rec;
                json!({"id": a.id, "label": a.label, "status": a.status,
                       "users": app_users.remove(a.id.as_str()).unwrap_or_default(),
                       "groups": app_groups.remove(a.id.as_str()).unwrap_or_default()})
            })
            .collect();
        json!({"users": users, "groups": groups, "apps": apps})
    })
}

fn id_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => v.get("id").map(ToString::to_string).unwrap_or_default(),
    }
}

/// Sorts every array by id and rewrites timestamps as RFC 3339 with milliseconds, so two
/// snapshots of the same org compare equal whatever their order and time format.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_key(id_of);
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()) {
                        Some(t) => time(Some(t)),
                        None => normalize(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Human-readable differences between two snapshots (after [`normalize`]); empty when equal.
/// Lists at most a few entries per section.
pub fn diff(expected: &Value, actual: &Value) -> Vec<String> {
    let (e, a) = (normalize(expected), normalize(actual));
    let mut out = Vec::new();
    for section in ["users", "groups", "apps"] {
        let index = |v: &Value| -> BTreeMap<String, Value> {
            v.get(section)
                .and_then(Value::as_array)
                .map(|l| l.iter().map(|x| (id_of(x), x.clone())).collect())
                .unwrap_or_default()
        };
        let (ei, ai) = (index(&e), index(&a));
        let mut n = 0;
        for (id, ev) in &ei {
            let line = match ai.get(id) {
                None => format!("{section} {id}: missing from the store"),
                Some(av) if av != ev => format!("{section} {id}: expected {ev}, stored {av}"),
                Some(_) => continue,
            };
            n += 1;
            if n <= 5 {
                out.push(line);
            }
        }
        for id in ai.keys().filter(|id| !ei.contains_key(*id)) {
            n += 1;
            if n <= 5 {
                out.push(format!("{section} {id}: in the store, not in Okta"));
            }
        }
        if n > 5 {
            out.push(format!("{section}: {} more differences", n - 5));
        }
    }
    out
}
