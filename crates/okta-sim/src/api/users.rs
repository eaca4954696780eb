//! `/api/v1/users`, `/api/v1/users/{idOrLogin}`, `/users/{id}/groups`, `/users/{id}/appLinks`
//! (reference 5.2, scope `okta.users.read`).

use super::filter::{self, Expr, Field, Lit, Op};
use super::paging::{self, LimitRule, Query};
use super::{authorize, authorize_list_or_empty, invalid_search, parse_expr, sort_desc, time_lit};
use crate::auth::Principal;
use crate::auth::principal::Permission;
use crate::clock::okta_time;
use crate::error::ApiError;
use crate::model::{Org, User, UserIdx, UserStatus};
use crate::render;
use crate::state::SimState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::sync::Arc;

const SCOPE: &str = "okta.users.read";
/// `limit` default 200 (spec). The maximum is not in the current spec; 200 is the common working
/// maximum (reference 5.2 [unconfirmed]); larger values are clamped to it (the strict choice:
/// clients must page).
const LIMIT: LimitRule = LimitRule::new(200, 200);
/// With `q`: default 10 (spec), same maximum, no paging.
const Q_LIMIT: LimitRule = LimitRule::new(10, 200);
const CURSOR: &str = "u";
const SORTED_CURSOR: &str = "us";

/// Which of the three query styles a request uses. Okta does not document combinations; the
/// simulator gives `search` precedence over `filter`, and `filter` over `q` [unconfirmed].
enum Mode {
    All,
    Filter(Expr),
    Search(Expr),
    Q(String),
}

/// `GET /api/v1/users`.
pub async fn list(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let q = Query::parse(uri.query());
    let path = uri.path();
    if let Some(empty) =
        authorize_list_or_empty(&state, &principal, SCOPE, Permission::ReadUsers, path, &q)?
    {
        return Ok(empty);
    }
    let base = state.base_url();
    let mode = if let Some(s) = q.non_empty("search") {
        let mut e = parse_expr("search", s)?;
        e.check(&mut check_search)?;
        Mode::Search(e)
    } else if let Some(f) = q.non_empty("filter") {
        let mut e = parse_expr("filter", f)?;
        e.check(&mut check_filter)?;
        Mode::Filter(e)
    } else if let Some(s) = q.non_empty("q") {
        Mode::Q(s.to_lowercase())
    } else {
        Mode::All
    };
    let self_link = paging::self_url(base, path, &q);

    if let Mode::Q(prefix) = &mode {
        // `q`: prefix on firstName, lastName, email; omits DEPROVISIONED; no paging (spec).
        let limit = paging::limit(&q, Q_LIMIT)?;
        let org = state.org.read();
        let items: Vec<_> = org
            .live_users()
            .filter(|(_, u)| u.status != UserStatus::Deprovisioned)
            .filter(|(_, u)| {
                let p = &u.profile;
                [&p.first_name, &p.last_name, &p.email]
                    .iter()
                    .any(|v| v.to_lowercase().starts_with(prefix.as_str()))
            })
            .take(limit)
            .map(|(_, u)| render::user(&org, u, base))
            .collect();
        drop(org);
        return Ok(paging::list_response(items, &self_link, None));
    }

    let limit = paging::limit(&q, LIMIT)?;
    let desc = sort_desc(&q)?;
    let sort_by = match &mode {
        // `sortBy`/`sortOrder` apply to search queries only (spec).
        Mode::Search(_) => q.non_empty("sortBy").map(str::to_string),
        _ => None,
    };
    let matches = |org: &Org, u: &User| -> bool {
        match &mode {
            // Without filter or search, DEPROVISIONED users are omitted (reference 5.2 [doc]).
            Mode::All => u.status != UserStatus::Deprovisioned,
            Mode::Filter(e) => {
                e.eval(&|a, op, lit| filter::compare(&field(org, u, a), op, lit, false))
            }
            // `search` values are case-insensitive (spec).
            Mode::Search(e) => {
                e.eval(&|a, op, lit| filter::compare(&field(org, u, a), op, lit, true))
            }
            Mode::Q(_) => false,
        }
    };

    let org = state.org.read();
    if let Some(sort_by) = sort_by {
        let pager = paging::Pager::new(base, path, &q, SORTED_CURSOR);
        let after = pager.after(|c| Some(c.to_owned()))?;
        let items: Vec<(String, String, UserIdx)> = org
            .live_users()
            .filter(|(_, u)| matches(&org, u))
            .map(|(i, u)| (sort_key(&org, u, &sort_by), u.id.clone(), i))
            .collect();
        let (page, more) = paging::sorted_page(items, desc, after.as_deref(), limit)?;
        let next = paging::next_key(&page, more, |(k, id, _)| paging::sorted_cursor(k, id));
        let items: Vec<_> = page
            .iter()
            .map(|(_, _, i)| render::user(&org, &org.users[*i as usize], base))
            .collect();
        drop(org);
        return Ok(pager.respond(items, next));
    }

    let pager = paging::Pager::new(base, path, &q, CURSOR);
    let start = pager
        .after(|id| org.user_by_id.get(id).map(|u| *u as usize + 1))?
        .unwrap_or(0);
    let (page, more) = paging::take_page(
        org.users
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|u| !u.deleted && matches(&org, u)),
        limit,
    );
    let next = paging::next_key(&page, more, |u| u.id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|u| render::user(&org, u, base))
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}

const PROFILE_EQ: [&str; 4] = [
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
];
const TIMES: [&str; 6] = [
    "created",
    "activated",
    "statusChanged",
    "lastUpdated",
    "lastLogin",
    "passwordChanged",
];

/// `filter`: only `status`, `lastUpdated`, `id` and four profile attributes; `eq` only, except
/// `lastUpdated` which also takes `gt ge lt le` (spec, reference 5.2).
fn check_filter(attr: &str, op: Op, lit: &mut Lit) -> Result<(), ApiError> {
    let ok = match attr {
        "lastUpdated" if matches!(op, Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) => {
            return time_lit("filter", attr, lit);
        }
        "status" | "id" => op == Op::Eq,
        a if PROFILE_EQ.contains(&a) => op == Op::Eq,
        _ => false,
    };
    if ok && matches!(lit, Lit::Str(_)) {
        Ok(())
    } else {
        Err(invalid_search(
            "filter",
            &format!("unsupported expression '{attr} {}'", op.as_str()),
        ))
    }
}

/// `search`: `eq sw co` plus the ordering operators and `pr`; no `ne` (spec: "The `ne` (not
/// equal) operator isn't supported"); `co` only on `profile.firstName/lastName/email/login`.
fn check_search(attr: &str, op: Op, lit: &mut Lit) -> Result<(), ApiError> {
    let bad = || {
        invalid_search(
            "search",
            &format!("unsupported expression '{attr} {}'", op.as_str()),
        )
    };
    if op == Op::Ne || op == Op::Ew {
        return Err(bad());
    }
    if op == Op::Pr {
        return Ok(());
    }
    if TIMES.contains(&attr) {
        return if op.is_ordering() {
            time_lit("search", attr, lit)
        } else {
            Err(bad())
        };
    }
    let known = matches!(attr, "id" | "status" | "type.id") || attr.starts_with("profile.");
    if !known || (op == Op::Co && !PROFILE_EQ.contains(&attr)) {
        return Err(bad());
    }
    match lit {
        Lit::Str(_) | Lit::Bool(_) | Lit::Num(_) => Ok(()),
        _ => Err(bad()),
    }
}

/// A user attribute by its Okta name.
fn field<'a>(org: &'a Org, u: &'a User, attr: &str) -> Field<'a> {
    let s = |v: &'a str| Field::Str(Cow::Borrowed(v));
    let t = |v: Option<chrono::DateTime<chrono::Utc>>| v.map_or(Field::Missing, Field::Time);
    let p = &u.profile;
    let opt = |v: &'a Option<String>| {
        v.as_deref()
            .map_or(Field::Missing, |v| Field::Str(Cow::Borrowed(v)))
    };
    match attr {
        "id" => s(&u.id),
        "status" => s(u.status.as_str()),
        "type.id" => s(&org.user_type_id),
        "created" => Field::Time(u.created),
        "lastUpdated" => Field::Time(u.last_updated),
        "activated" => t(u.activated),
        "statusChanged" => t(u.status_changed),
        "lastLogin" => t(u.last_login),
        "passwordChanged" => t(u.password_changed),
        "profile.login" => s(&p.login),
        "profile.email" => s(&p.email),
        "profile.firstName" => s(&p.first_name),
        "profile.lastName" => s(&p.last_name),
        "profile.department" => opt(&p.department),
        "profile.title" => opt(&p.title),
        "profile.managerId" => opt(&p.manager_id),
        "profile.manager" => opt(&p.manager),
        "profile.employeeNumber" => opt(&p.employee_number),
        a => match a.strip_prefix("profile.").and_then(|k| p.extra.get(k)) {
            Some(serde_json::Value::String(v)) => Field::Str(Cow::Borrowed(v)),
            Some(serde_json::Value::Null) | None => Field::Missing,
            Some(v) => Field::Str(Cow::Owned(v.to_string())),
        },
    }
}

/// The `sortBy` key of a user: the attribute as a string (timestamps in Okta's fixed-width
/// format sort chronologically), empty when absent.
fn sort_key(org: &Org, u: &User, attr: &str) -> String {
    match field(org, u, attr) {
        Field::Str(s) => s.to_lowercase(),
        Field::Time(t) => okta_time(t),
        Field::Missing => String::new(),
    }
}

/// Resolves `{idOrLogin}` (id, or login case-insensitively; the path is percent-decoded, so
/// `alice%40example.com` works) to a live user, or 404 `E0000007 (User)`.
fn find(org: &Org, id: &str) -> Result<UserIdx, ApiError> {
    org.find_user(id)
        .ok_or_else(|| ApiError::not_found(id, "User"))
}

/// `GET /api/v1/users/{idOrLogin}`.
pub async fn get_one(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadUsers, uri.path())?;
    let org = state.org.read();
    let u = find(&org, &id)?;
    let v = render::user(&org, &org.users[u as usize], state.base_url());
    drop(org);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/users/{id}/groups`: every group of the user; not paged (no paging parameters
/// are documented), `Link: rel="self"` only.
pub async fn groups(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadUsers, uri.path())?;
    let base = state.base_url();
    let q = Query::parse(uri.query());
    let org = state.org.read();
    let u = find(&org, &id)?;
    let items: Vec<_> = org.users[u as usize]
        .groups
        .iter()
        .map(|g| &org.groups[*g as usize])
        .filter(|g| !g.deleted)
        .map(|g| render::group(&org, g, base, false))
        .collect();
    drop(org);
    Ok(paging::list_response(
        items,
        &paging::self_url(base, uri.path(), &q),
        None,
    ))
}

/// `GET /api/v1/users/{idOrLogin}/appLinks`: links of the active apps assigned directly or
/// through a group. API Services apps have no end-user link and are left out.
pub async fn app_links(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadUsers, uri.path())?;
    let base = state.base_url();
    let q = Query::parse(uri.query());
    let org = state.org.read();
    let u = find(&org, &id)?;
    let user_id = &org.users[u as usize].id;
    let items: Vec<_> = org
        .live_apps()
        .filter(|(_, a)| a.status == crate::model::AppStatus::Active && !a.is_service)
        .filter_map(|(_, a)| a.users.get(&u).map(|au| (a, au)))
        .enumerate()
        .map(|(n, (a, au))| render::app_link(a, au, user_id, n, base))
        .collect();
    drop(org);
    Ok(paging::list_response(
        items,
        &paging::self_url(base, uri.path(), &q),
        None,
    ))
}
