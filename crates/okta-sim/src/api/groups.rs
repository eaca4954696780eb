//! `/api/v1/groups`, `/groups/{id}`, `/groups/{id}/users`, `/groups/{id}/apps`
//! (reference 5.2, scope `okta.groups.read`).

use super::filter::{self, Expr, Field, Lit, Op};
use super::paging::{self, LimitRule, Query};
use super::{authorize, expands, invalid_search, parse_expr, sort_desc, time_lit};
use crate::auth::Principal;
use crate::auth::principal::Permission;
use crate::clock::okta_time;
use crate::error::ApiError;
use crate::model::{Group, GroupIdx, GroupType, Org};
use crate::render;
use crate::state::SimState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::borrow::Cow;
use std::ops::Bound;
use std::sync::Arc;

const SCOPE: &str = "okta.groups.read";
/// The spec gives a maximum of 10000 and no default (an older spec said 10000) and recommends
/// ≤ 200 (reference 5.2). Unsure, so the stricter default: 200, which makes clients that forget
/// to follow `next` fail early. Larger values are clamped to 10000.
const LIMIT: LimitRule = LimitRule::new(200, 10_000);
/// `q`: "The default limit for a query is 300 results"; no paging (spec).
const Q_LIMIT: LimitRule = LimitRule::new(300, 10_000);
/// Members: default 1000 (spec). The maximum is [unconfirmed]; the simulator clamps at the
/// default, the stricter reading.
const MEMBERS_LIMIT: LimitRule = LimitRule::new(1000, 1000);
/// Assigned apps: default 20 (spec); maximum [unconfirmed], 200 as for the other app lists.
const APPS_LIMIT: LimitRule = LimitRule::new(20, 200);

/// 404 `E0000007 … (UserGroup)`.
pub(crate) fn find(org: &Org, id: &str) -> Result<GroupIdx, ApiError> {
    org.find_group(id)
        .ok_or_else(|| ApiError::not_found(id, "UserGroup"))
}

/// "The Okta default `Everyone` group isn't returned for users with a group admin role" (spec):
/// hidden unless a role with org-wide read access is held.
fn everyone_visible(p: &Principal) -> bool {
    p.roles.iter().any(|r| {
        matches!(
            r.as_str(),
            "SUPER_ADMIN" | "ORG_ADMIN" | "READ_ONLY_ADMIN" | "APP_ADMIN"
        )
    })
}

/// A group with the `expand`s of the request (`stats`, `app`).
fn render_group(org: &Org, g: &Group, base: &str, q: &Query) -> Value {
    let mut v = render::group(org, g, base, expands(q, "stats"));
    if let (true, Some(src), Some(map)) = (expands(q, "app"), g.source_app, v.as_object_mut()) {
        let app = &org.apps[src as usize];
        let app_json = render::app(app, base, org.clients.get(&app.id));
        let embedded = map
            .entry("_embedded")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(e) = embedded.as_object_mut() {
            e.insert("app".into(), app_json);
        }
    }
    v
}

/// `GET /api/v1/groups`.
pub async fn list(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let path = uri.path();
    authorize(&state, &principal, SCOPE, Permission::ReadGroups, path)?;
    let q = Query::parse(uri.query());
    let base = state.base_url();
    let self_link = paging::self_url(base, path, &q);
    let show_everyone = everyone_visible(&principal);

    // Precedence when several are given: search, filter, q [unconfirmed].
    let (expr, fold) = if let Some(s) = q.non_empty("search") {
        let mut e = parse_expr("search", s)?;
        e.check(&mut check_search)?;
        (Some(e), true)
    } else if let Some(f) = q.non_empty("filter") {
        let mut e = parse_expr("filter", f)?;
        e.check(&mut check_filter)?;
        (Some(e), false)
    } else {
        (None, false)
    };
    let visible = |g: &Group| !g.deleted && (show_everyone || g.kind != GroupType::BuiltIn);
    let matches = |org: &Org, g: &Group, e: &Option<Expr>| {
        visible(g)
            && e.as_ref().is_none_or(|e| {
                e.eval(&|a, op, lit| filter::compare(&field(org, g, a), op, lit, fold))
            })
    };

    if expr.is_none()
        && let Some(prefix) = q.non_empty("q")
    {
        let prefix = prefix.to_lowercase();
        let limit = paging::limit(&q, Q_LIMIT)?;
        let org = state.org.read();
        let items: Vec<_> = org
            .groups
            .iter()
            .filter(|g| visible(g) && g.name.to_lowercase().starts_with(&prefix))
            .take(limit)
            .map(|g| render_group(&org, g, base, &q))
            .collect();
        drop(org);
        return Ok(paging::list_response(items, &self_link, None));
    }

    let limit = paging::limit(&q, LIMIT)?;
    let desc = sort_desc(&q)?;
    let sort_by = q.non_empty("search").and(q.non_empty("sortBy"));
    let org = state.org.read();
    if let Some(sort_by) = sort_by {
        let pager = paging::Pager::new(base, path, &q, "gs");
        let after = pager.after(|c| Some(c.to_owned()))?;
        let items: Vec<(String, String, GroupIdx)> = org
            .live_groups()
            .filter(|(_, g)| matches(&org, g, &expr))
            .map(|(i, g)| (sort_key(&org, g, sort_by), g.id.clone(), i))
            .collect();
        let (page, more) = paging::sorted_page(items, desc, after.as_deref(), limit)?;
        let next = paging::next_key(&page, more, |(k, id, _)| paging::sorted_cursor(k, id));
        let items: Vec<_> = page
            .iter()
            .map(|(_, _, i)| render_group(&org, &org.groups[*i as usize], base, &q))
            .collect();
        drop(org);
        return Ok(pager.respond(items, next));
    }
    let pager = paging::Pager::new(base, path, &q, "g");
    let start = pager
        .after(|id| org.group_by_id.get(id).map(|g| *g as usize + 1))?
        .unwrap_or(0);
    let (page, more) = paging::take_page(
        org.groups
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|g| matches(&org, g, &expr)),
        limit,
    );
    let next = paging::next_key(&page, more, |g| g.id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|g| render_group(&org, g, base, &q))
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}

const TIMES: [&str; 3] = ["created", "lastUpdated", "lastMembershipUpdated"];

/// `filter`: `id`, `type` (eq) and `lastUpdated`, `lastMembershipUpdated` (eq gt ge lt le)
/// (spec, reference 5.2).
fn check_filter(attr: &str, op: Op, lit: &mut Lit) -> Result<(), ApiError> {
    match attr {
        "lastUpdated" | "lastMembershipUpdated"
            if matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) =>
        {
            time_lit("filter", attr, lit)
        }
        "id" | "type" if op == Op::Eq && matches!(lit, Lit::Str(_)) => Ok(()),
        _ => Err(invalid_search(
            "filter",
            &format!("unsupported expression '{attr} {}'", op.as_str()),
        )),
    }
}

/// `search`: `eq sw co` (`co` only on `profile.name` and `profile.description`), ordering
/// operators on timestamps, `pr`; attributes `id`, `type`, `source.id`, timestamps, `profile.*`.
fn check_search(attr: &str, op: Op, lit: &mut Lit) -> Result<(), ApiError> {
    let bad = || {
        invalid_search(
            "search",
            &format!("unsupported expression '{attr} {}'", op.as_str()),
        )
    };
    if op == Op::Pr {
        return Ok(());
    }
    if TIMES.contains(&attr) {
        return if op.is_ordering() && op != Op::Ne {
            time_lit("search", attr, lit)
        } else {
            Err(bad())
        };
    }
    let known = matches!(attr, "id" | "type" | "source.id") || attr.starts_with("profile.");
    let op_ok = match op {
        Op::Eq | Op::Sw => true,
        Op::Co => matches!(attr, "profile.name" | "profile.description"),
        _ => false,
    };
    if known && op_ok && matches!(lit, Lit::Str(_)) {
        Ok(())
    } else {
        Err(bad())
    }
}

fn field<'a>(org: &'a Org, g: &'a Group, attr: &str) -> Field<'a> {
    let s = |v: &'a str| Field::Str(Cow::Borrowed(v));
    match attr {
        "id" => s(&g.id),
        "type" => s(g.kind.as_str()),
        "created" => Field::Time(g.created),
        "lastUpdated" => Field::Time(g.last_updated),
        "lastMembershipUpdated" => Field::Time(g.last_membership_updated),
        "profile.name" => s(&g.name),
        "profile.description" => g.description.as_deref().map_or(Field::Missing, s),
        "source.id" => g
            .source_app
            .map_or(Field::Missing, |a| s(&org.apps[a as usize].id)),
        _ => Field::Missing,
    }
}

fn sort_key(org: &Org, g: &Group, attr: &str) -> String {
    match field(org, g, attr) {
        Field::Str(s) => s.to_lowercase(),
        Field::Time(t) => okta_time(t),
        Field::Missing => String::new(),
    }
}

/// `GET /api/v1/groups/{id}`.
pub async fn get_one(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(
        &state,
        &principal,
        SCOPE,
        Permission::ReadGroups,
        uri.path(),
    )?;
    let q = Query::parse(uri.query());
    let org = state.org.read();
    let g = find(&org, &id)?;
    let v = render_group(&org, &org.groups[g as usize], state.base_url(), &q);
    drop(org);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/groups/{id}/users`: members in user-creation order, paged by `after`.
pub async fn members(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    authorize(&state, &principal, SCOPE, Permission::ReadGroups, path)?;
    let q = Query::parse(uri.query());
    let base = state.base_url();
    let limit = paging::limit(&q, MEMBERS_LIMIT)?;
    let pager = paging::Pager::new(base, path, &q, "m");
    let org = state.org.read();
    let g = find(&org, &id)?;
    let members = &org.groups[g as usize].members;
    let from = pager
        .after(|uid| org.user_by_id.get(uid).copied())?
        .map_or(Bound::Unbounded, Bound::Excluded);
    let (page, more) = paging::take_page(members.range((from, Bound::Unbounded)), limit);
    let page: Vec<_> = page
        .into_iter()
        .map(|u| &org.users[*u as usize])
        .filter(|u| !u.deleted)
        .collect();
    let next = paging::next_key(&page, more, |u| u.id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|u| render::user(&org, u, base))
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}

/// `GET /api/v1/groups/{id}/apps`: apps the group is assigned to, in app order.
pub async fn apps(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    authorize(&state, &principal, SCOPE, Permission::ReadGroups, path)?;
    let q = Query::parse(uri.query());
    let base = state.base_url();
    let limit = paging::limit(&q, APPS_LIMIT)?;
    let pager = paging::Pager::new(base, path, &q, "ga");
    let org = state.org.read();
    let g = find(&org, &id)?;
    let start = pager
        .after(|aid| org.app_by_id.get(aid).map(|a| *a as usize + 1))?
        .unwrap_or(0);
    let (page, more) = paging::take_page(
        org.apps
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.deleted && a.groups.contains_key(&g)),
        limit,
    );
    let next = paging::next_key(&page, more, |a| a.id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|a| render::app(a, base, org.clients.get(&a.id)))
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}
