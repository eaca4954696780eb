//! The ground truth for sync tests: `GET /__sim/summary` (counts) and `GET /__sim/snapshot`
//! (every relation, compact), read straight from the model under one read lock, so both are
//! consistent with each other and with the management API at that instant.

use super::{CtlResult, ok};
use crate::clock::okta_time;
use crate::model::{AppStatus, AssignmentScope, GroupType, Org, UserStatus};
use crate::state::SimState;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The System Log keeps 90 days (reference 6).
pub const LOG_RETENTION_DAYS: i64 = 90;

/// Counts of everything a sync must reproduce.
pub fn summary_of(org: &Org, now: DateTime<Utc>) -> Value {
    let mut by_status: Map<String, Value> = UserStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), json!(0)))
        .collect();
    let mut users = 0u64;
    for (_, u) in org.live_users() {
        users += 1;
        if let Some(Value::Number(n)) = by_status.get_mut(u.status.as_str()) {
            *n = (n.as_u64().unwrap_or(0) + 1).into();
        }
    }
    let deleted = org.users.len() as u64 - users;
    let (mut okta, mut app_groups, mut built_in, mut memberships) = (0u64, 0u64, 0u64, 0u64);
    for (_, g) in org.live_groups() {
        match g.kind {
            GroupType::OktaGroup => okta += 1,
            GroupType::AppGroup => app_groups += 1,
            GroupType::BuiltIn => built_in += 1,
        }
        memberships += g.members.len() as u64;
    }
    let (mut active, mut inactive, mut direct, mut via_group, mut group_assignments) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for (_, a) in org.live_apps() {
        match a.status {
            AppStatus::Active => active += 1,
            AppStatus::Inactive => inactive += 1,
        }
        for au in a.users.values() {
            match au.scope {
                AssignmentScope::User => direct += 1,
                AssignmentScope::Group => via_group += 1,
            }
        }
        group_assignments += a.groups.len() as u64;
    }
    let since = now - TimeDelta::days(LOG_RETENTION_DAYS);
    // The log is in `published` order: count from the first event inside the window.
    let first = org.log.partition_point(|e| e.published < since);
    json!({
        "users": {"total": users, "deleted": deleted, "by_status": by_status},
        "groups": {
            "total": okta + app_groups + built_in,
            "by_type": {"OKTA_GROUP": okta, "APP_GROUP": app_groups, "BUILT_IN": built_in}
        },
        "memberships": memberships,
        "apps": {"total": active + inactive, "by_status": {"ACTIVE": active, "INACTIVE": inactive}},
        "app_user_assignments": {
            "total": direct + via_group,
            "by_scope": {"USER": direct, "GROUP": via_group}
        },
        "app_group_assignments": group_assignments,
        "log_events": org.log.len() - first,
    })
}

/// Every live object with its relations, ids only.
pub fn snapshot_of(org: &Org) -> Value {
    let users: Vec<Value> = org
        .live_users()
        .map(|(_, u)| {
            json!({
                "id": u.id,
                "status": u.status.as_str(),
                "lastUpdated": okta_time(u.last_updated),
                "login": u.profile.login,
            })
        })
        .collect();
    let uid = |i: &u32| Value::String(org.users[*i as usize].id.clone());
    let groups: Vec<Value> = org
        .live_groups()
        .map(|(_, g)| {
            json!({
                "id": g.id,
                "type": g.kind.as_str(),
                "name": g.name,
                "lastMembershipUpdated": okta_time(g.last_membership_updated),
                "members": g.members.iter().map(uid).collect::<Vec<_>>(),
            })
        })
        .collect();
    let apps: Vec<Value> = org
        .live_apps()
        .map(|(_, a)| {
            json!({
                "id": a.id,
                "label": a.label,
                "status": a.status.as_str(),
                "users": a.users.iter().map(|(u, au)| json!({
                    "id": org.users[*u as usize].id,
                    "scope": au.scope.as_str(),
                })).collect::<Vec<_>>(),
                "groups": a.groups.keys().map(|g| org.groups[*g as usize].id.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"users": users, "groups": groups, "apps": apps})
}

/// `GET /__sim/summary`.
pub async fn summary(State(state): State<Arc<SimState>>) -> CtlResult {
    let now = state.clock.now();
    let org = state.org.read();
    ok(summary_of(&org, now))
}

/// `GET /__sim/snapshot`.
pub async fn snapshot(State(state): State<Arc<SimState>>) -> CtlResult {
    let org = state.org.read();
    ok(snapshot_of(&org))
}
