//! `POST /__sim/mutations/random` `{count, seed}`: a seeded batch of realistic changes, made
//! through [`crate::mutate`] like every other change, returned as a list so a sync test can
//! say what it expects to see. The choices are deterministic for a seed and an org state; the
//! new objects' ids are not (ids come from the org's own generator).

use super::{CtlError, CtlResult, ok, parse};
use crate::model::{AppStatus, GroupType, LogRef, Org, UserProfile, UserStatus};
use crate::mutate::Change;
use crate::state::SimState;
use axum::extract::State;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest batch accepted in one call.
pub const MAX_COUNT: usize = 100_000;

const FIRST: [&str; 12] = [
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Ines", "Kenji", "Priya", "Lars", "Nadia", "Tom",
];
const LAST: [&str; 10] = [
    "Keller",
    "Osei",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Novak",
    "Reyes",
    "Haddad",
    "Byrne",
    "Ito",
];
const DEPARTMENTS: [&str; 6] = [
    "Engineering",
    "Sales",
    "Finance",
    "Marketing",
    "Support",
    "People",
];
const TITLES: [&str; 6] = [
    "Analyst",
    "Engineer",
    "Manager",
    "Specialist",
    "Director",
    "Coordinator",
];
const WORDS: [&str; 8] = [
    "Falcon", "Harbor", "Atlas", "Quartz", "Nimbus", "Cedar", "Orbit", "Delta",
];

/// The operations, with their weights.
const OPS: [(&str, u32); 17] = [
    ("create_user", 10),
    ("update_user", 10),
    ("deactivate_user", 5),
    ("reactivate_user", 3),
    ("suspend_user", 2),
    ("unsuspend_user", 2),
    ("delete_user", 3),
    ("add_member", 15),
    ("remove_member", 10),
    ("create_group", 3),
    ("rename_group", 3),
    ("delete_group", 2),
    ("assign_user_to_app", 6),
    ("unassign_user_from_app", 4),
    ("assign_group_to_app", 3),
    ("unassign_group_from_app", 2),
    ("rename_app", 3),
];
/// Weight of SSO events (the rest of the distribution).
const SSO_WEIGHT: u32 = 10;

#[derive(Deserialize)]
struct Req {
    count: usize,
    #[serde(default)]
    seed: u64,
}

/// `POST /__sim/mutations/random`.
pub async fn apply(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: Req = parse(&body)?;
    if req.count > MAX_COUNT {
        return Err(CtlError::bad(format!("count must be at most {MAX_COUNT}")));
    }
    let mut rng = StdRng::seed_from_u64(req.seed);
    let company = state.config.domain.split('.').next().unwrap_or("acme");
    let domain = format!("{company}.example.com");
    let now = state.clock.now();
    let mut org = state.org.write();
    let mut applied = Vec::with_capacity(req.count);
    let mut skipped = 0usize;
    for n in 0..req.count {
        match one(&mut org, &mut rng, now, &domain, n) {
            Some(v) => applied.push(v),
            None => skipped += 1,
        }
    }
    ok(json!({"applied": applied, "skipped": skipped}))
}

fn pick_op(rng: &mut StdRng) -> &'static str {
    let total: u32 = OPS.iter().map(|(_, w)| w).sum::<u32>() + SSO_WEIGHT;
    let mut x = rng.random_range(0..total);
    for (op, w) in OPS {
        if x < w {
            return op;
        }
        x -= w;
    }
    "sso"
}

/// A random live user satisfying `pred` (bounded probing, so it stays cheap on big orgs).
fn user(org: &Org, rng: &mut StdRng, pred: impl Fn(&crate::model::User) -> bool) -> Option<u32> {
    if org.users.is_empty() {
        return None;
    }
    (0..256).find_map(|_| {
        let i = rng.random_range(0..org.users.len());
        let u = &org.users[i];
        (!u.deleted && pred(u)).then_some(i as u32)
    })
}

/// A random live OKTA_GROUP satisfying `pred`.
fn okta_group(
    org: &Org,
    rng: &mut StdRng,
    pred: impl Fn(&crate::model::Group) -> bool,
) -> Option<u32> {
    let all: Vec<u32> = org
        .live_groups()
        .filter(|(_, g)| g.kind == GroupType::OktaGroup && pred(g))
        .map(|(i, _)| i)
        .collect();
    (!all.is_empty()).then(|| all[rng.random_range(0..all.len())])
}

/// A random live app that is not an API Services app, satisfying `pred`.
fn app(org: &Org, rng: &mut StdRng, pred: impl Fn(&crate::model::App) -> bool) -> Option<u32> {
    let all: Vec<u32> = org
        .live_apps()
        .filter(|(_, a)| !a.is_service && pred(a))
        .map(|(i, _)| i)
        .collect();
    (!all.is_empty()).then(|| all[rng.random_range(0..all.len())])
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn changed(c: Change, v: Value) -> Option<Value> {
    (c == Change::Changed).then_some(v)
}

/// Applies one random operation; `None` when nothing suitable was found.
fn one(
    org: &mut Org,
    rng: &mut StdRng,
    now: DateTime<Utc>,
    domain: &str,
    n: usize,
) -> Option<Value> {
    let op = pick_op(rng);
    let uid = |org: &Org, u: u32| org.users[u as usize].id.clone();
    let gid = |org: &Org, g: u32| org.groups[g as usize].id.clone();
    let aid = |org: &Org, a: u32| org.apps[a as usize].id.clone();
    let live = |u: &crate::model::User| u.status != UserStatus::Deprovisioned;
    match op {
        "create_user" => {
            let (first, last) = (pick(rng, &FIRST), pick(rng, &LAST));
            let login = loop {
                let l = format!(
                    "{}.{}.{}@{domain}",
                    first.to_ascii_lowercase(),
                    last.to_ascii_lowercase(),
                    rng.random_range(1000..1_000_000)
                );
                if !org.user_by_login.contains_key(&l) {
                    break l;
                }
            };
            let profile = UserProfile {
                first_name: first.into(),
                last_name: last.into(),
                email: login.clone(),
                login,
                department: Some(pick(rng, &DEPARTMENTS).into()),
                title: Some(pick(rng, &TITLES).into()),
                ..UserProfile::default()
            };
            let status = if rng.random_bool(0.8) {
                UserStatus::Active
            } else {
                UserStatus::Staged
            };
            let u = org.create_user(profile, status, now);
            Some(json!({"op": op, "user": uid(org, u), "status": status.as_str()}))
        }
        "update_user" => {
            let u = user(org, rng, |_| true)?;
            let mut attrs = serde_json::Map::new();
            attrs.insert("title".into(), json!(pick(rng, &TITLES)));
            attrs.insert("department".into(), json!(pick(rng, &DEPARTMENTS)));
            org.update_user_profile(u, &attrs, now);
            Some(json!({"op": op, "user": uid(org, u), "profile": attrs}))
        }
        "deactivate_user" | "reactivate_user" | "suspend_user" | "unsuspend_user" => {
            let (from, to): (&[UserStatus], UserStatus) = match op {
                "deactivate_user" => (
                    &[
                        UserStatus::Active,
                        UserStatus::Staged,
                        UserStatus::Suspended,
                        UserStatus::LockedOut,
                    ],
                    UserStatus::Deprovisioned,
                ),
                // Okta's reactivation leaves the user PROVISIONED (pending activation).
                "reactivate_user" => (&[UserStatus::Deprovisioned], UserStatus::Provisioned),
                "suspend_user" => (&[UserStatus::Active], UserStatus::Suspended),
                _ => (&[UserStatus::Suspended], UserStatus::Active),
            };
            let u = user(org, rng, |x| from.contains(&x.status))?;
            changed(
                org.set_user_status(u, to, now),
                json!({"op": op, "user": uid(org, u), "status": to.as_str()}),
            )
        }
        "delete_user" => {
            // Okta deletes only DEPROVISIONED users; deactivate first when needed.
            let u = user(org, rng, |x| x.status == UserStatus::Deprovisioned)
                .or_else(|| user(org, rng, |_| true))?;
            let id = uid(org, u);
            org.set_user_status(u, UserStatus::Deprovisioned, now);
            org.delete_user(u, now);
            Some(json!({"op": op, "user": id}))
        }
        "add_member" => {
            let u = user(org, rng, |_| true)?;
            let g = okta_group(org, rng, |g| !g.members.contains(&u))?;
            changed(
                org.add_member(g, u, now, LogRef::System),
                json!({"op": op, "group": gid(org, g), "user": uid(org, u)}),
            )
        }
        "remove_member" => {
            let g = okta_group(org, rng, |g| !g.members.is_empty())?;
            let members = &org.groups[g as usize].members;
            let u = *members.iter().nth(rng.random_range(0..members.len()))?;
            changed(
                org.remove_member(g, u, now, LogRef::System),
                json!({"op": op, "group": gid(org, g), "user": uid(org, u)}),
            )
        }
        "create_group" => {
            let name = format!(
                "{} {} {n}",
                pick(rng, &WORDS),
                rng.random_range(100..10_000)
            );
            let g = org.create_group(
                name.clone(),
                Some(format!("{name} team")),
                GroupType::OktaGroup,
                now,
            );
            Some(json!({"op": op, "group": gid(org, g), "name": name}))
        }
        "rename_group" => {
            let g = okta_group(org, rng, |_| true)?;
            let name = format!(
                "{} {} {n}",
                pick(rng, &WORDS),
                rng.random_range(100..10_000)
            );
            org.update_group(g, Some(name.clone()), None, now);
            Some(json!({"op": op, "group": gid(org, g), "name": name}))
        }
        "delete_group" => {
            let g = okta_group(org, rng, |_| true)?;
            let id = gid(org, g);
            org.delete_group(g, now);
            Some(json!({"op": op, "group": id}))
        }
        "assign_user_to_app" => {
            let u = user(org, rng, live)?;
            let a = app(org, rng, |a| !a.direct_users.contains(&u))?;
            changed(
                org.assign_user_to_app(a, u, now),
                json!({"op": op, "app": aid(org, a), "user": uid(org, u)}),
            )
        }
        "unassign_user_from_app" => {
            let a = app(org, rng, |a| !a.direct_users.is_empty())?;
            let direct = &org.apps[a as usize].direct_users;
            let u = *direct.iter().nth(rng.random_range(0..direct.len()))?;
            changed(
                org.unassign_user_from_app(a, u, now),
                json!({"op": op, "app": aid(org, a), "user": uid(org, u)}),
            )
        }
        "assign_group_to_app" => {
            let g = okta_group(org, rng, |_| true)?;
            let a = app(org, rng, |a| !a.groups.contains_key(&g))?;
            let priority = org.apps[a as usize].groups.len() as u32;
            changed(
                org.assign_group_to_app(a, g, priority, now),
                json!({"op": op, "app": aid(org, a), "group": gid(org, g)}),
            )
        }
        "unassign_group_from_app" => {
            let a = app(org, rng, |a| !a.groups.is_empty())?;
            let groups = &org.apps[a as usize].groups;
            let g = *groups.keys().nth(rng.random_range(0..groups.len()))?;
            changed(
                org.unassign_group_from_app(a, g, now),
                json!({"op": op, "app": aid(org, a), "group": gid(org, g)}),
            )
        }
        "rename_app" => {
            let a = app(org, rng, |_| true)?;
            let label = format!("{} {}", pick(rng, &WORDS), rng.random_range(1..100));
            org.update_app(a, Some(label.clone()), None, now);
            Some(json!({"op": op, "app": aid(org, a), "label": label}))
        }
        _ => {
            let u = user(org, rng, live)?;
            let a = app(org, rng, |a| {
                a.status == AppStatus::Active && a.users.contains_key(&u)
            })
            .or_else(|| app(org, rng, |a| a.status == AppStatus::Active))?;
            let success = rng.random_bool(0.9);
            org.record_sso(u, a, success, now);
            Some(json!({"op": "sso", "user": uid(org, u), "app": aid(org, a), "success": success}))
        }
    }
}
