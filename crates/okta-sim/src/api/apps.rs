//! `/api/v1/apps`, `/apps/{id}`, `/apps/{id}/users`, `/apps/{id}/users/{userId}`,
//! `/apps/{id}/groups`, `/apps/{id}/groups/{groupId}`
//! (reference 5.2, scope `okta.apps.read`).

use super::filter::{self, Expr, Field, Lit, Op};
use super::paging::{self, LimitRule, Query};
use super::{authorize, authorize_list_or_empty, expands, invalid_search, parse_expr};
use crate::auth::Principal;
use crate::auth::principal::Permission;
use crate::error::ApiError;
use crate::model::{App, AppIdx, Org};
use crate::render;
use crate::state::SimState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::borrow::Cow;
use std::ops::Bound;
use std::sync::Arc;

const SCOPE: &str = "okta.apps.read";
/// The spec says default `-1` and maximum 200. `-1` has no documented meaning; older docs gave
/// 20, which is also the stricter choice (clients must page) [unconfirmed]. Larger values are
/// clamped to 200.
const LIMIT: LimitRule = LimitRule::new(20, 200);
/// App users: default 50, minimum 1, maximum 500 (spec).
const USERS_LIMIT: LimitRule = LimitRule::new(50, 500);
/// App groups: default 20, minimum 20, maximum 200 (spec); values below 20 are raised to 20.
const GROUPS_LIMIT: LimitRule = LimitRule {
    default: 20,
    min: 20,
    max: 200,
    allow_zero: false,
};

/// 404 `E0000007 … (AppInstance)`.
fn find(org: &Org, id: &str) -> Result<AppIdx, ApiError> {
    org.find_app(id)
        .ok_or_else(|| ApiError::not_found(id, "AppInstance"))
}

fn render_app(org: &Org, a: &App, base: &str) -> Value {
    render::app(
        a,
        base,
        if a.is_service {
            org.clients.get(&a.id)
        } else {
            None
        },
    )
}

/// `GET /api/v1/apps`.
pub async fn list(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let q = Query::parse(uri.query());
    let path = uri.path();
    if let Some(empty) =
        authorize_list_or_empty(&state, &principal, SCOPE, Permission::ReadApps, path, &q)?
    {
        return Ok(empty);
    }
    let base = state.base_url();
    let limit = paging::limit(&q, LIMIT)?;
    let expr: Option<Expr> = match q.non_empty("filter") {
        Some(f) => {
            let mut e = parse_expr("filter", f)?;
            e.check(&mut check_filter)?;
            Some(e)
        }
        None => None,
    };
    // `expand=user/{userId}` "must be used with the `user.id eq "{userId}"` filter" (spec).
    let expand_user = match q.non_empty("expand").and_then(|e| e.strip_prefix("user/")) {
        Some(uid)
            if expr
                .as_ref()
                .is_some_and(|e| e.mentions("user.id", Op::Eq, uid)) =>
        {
            Some(uid.to_string())
        }
        Some(_) => {
            return Err(ApiError::validation(
                "'expand': expand=user/{userId} requires the filter user.id eq \"{userId}\".",
                None,
            ));
        }
        None => None,
    };
    let prefix = q.non_empty("q").map(str::to_lowercase);
    let pager = paging::Pager::new(base, path, &q, "a");
    let org = state.org.read();
    let start = pager
        .after(|id| org.app_by_id.get(id).map(|a| *a as usize + 1))?
        .unwrap_or(0);
    let matches = |a: &App| {
        !a.deleted
            && prefix.as_ref().is_none_or(|p| {
                a.name.to_lowercase().starts_with(p.as_str())
                    || a.label.to_lowercase().starts_with(p.as_str())
            })
            && expr.as_ref().is_none_or(|e| {
                e.eval(&|attr, op, lit| match attr {
                    "user.id" => membership_match(&org, a, lit, true),
                    "group.id" => membership_match(&org, a, lit, false),
                    _ => filter::compare(&field(a, attr), op, lit, false),
                })
            })
    };
    let (page, more) = paging::take_page(
        org.apps
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|a| matches(a)),
        limit,
    );
    let next = paging::next_key(&page, more, |a| a.id.clone());
    let expand_u = expand_user.as_deref().and_then(|id| org.find_user(id));
    let items: Vec<_> = page
        .into_iter()
        .map(|a| {
            let mut v = render_app(&org, a, base);
            if let (Some(u), Some(map)) = (expand_u, v.as_object_mut())
                && let Some(au) = a.users.get(&u)
            {
                let user = render::app_user(&org, a, u, au, base, false);
                map.insert("_embedded".into(), serde_json::json!({ "user": user }));
            }
            v
        })
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}

/// `filter`: `eq` on `id`, `status`, `name`, `credentials.signing.kid`, `settings.slo.enabled`,
/// `user.id`, `group.id` (spec; older docs for the last two).
fn check_filter(attr: &str, op: Op, lit: &mut Lit) -> Result<(), ApiError> {
    let ok = op == Op::Eq
        && match attr {
            "id" | "status" | "name" | "credentials.signing.kid" | "user.id" | "group.id" => {
                matches!(lit, Lit::Str(_))
            }
            "settings.slo.enabled" => matches!(lit, Lit::Bool(_) | Lit::Str(_)),
            _ => false,
        };
    if ok {
        Ok(())
    } else {
        Err(invalid_search(
            "filter",
            &format!("unsupported expression '{attr} {}'", op.as_str()),
        ))
    }
}

fn field<'a>(a: &'a App, attr: &str) -> Field<'a> {
    match attr {
        "id" => Field::Str(Cow::Borrowed(&a.id)),
        "status" => Field::Str(Cow::Borrowed(a.status.as_str())),
        "name" => Field::Str(Cow::Borrowed(&a.name)),
        // No simulated app has SLO enabled or its own signing key.
        "settings.slo.enabled" => Field::Str(Cow::Borrowed("false")),
        _ => Field::Missing,
    }
}

/// `user.id eq` (assigned, directly or through a group) / `group.id eq` (group assigned).
fn membership_match(org: &Org, a: &App, lit: &Lit, user: bool) -> bool {
    let Lit::Str(id) = lit else { return false };
    if user {
        org.user_by_id
            .get(id)
            .is_some_and(|u| a.users.contains_key(u))
    } else {
        org.group_by_id
            .get(id)
            .is_some_and(|g| a.groups.contains_key(g))
    }
}

/// `GET /api/v1/apps/{id}`.
pub async fn get_one(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadApps, uri.path())?;
    let org = state.org.read();
    let a = find(&org, &id)?;
    let v = render_app(&org, &org.apps[a as usize], state.base_url());
    drop(org);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/apps/{id}/users`: assignments in user order; `q` is a prefix on `userName`,
/// `firstName`, `lastName`, `email`; `expand=user` embeds the user.
pub async fn users(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    authorize(&state, &principal, SCOPE, Permission::ReadApps, path)?;
    let q = Query::parse(uri.query());
    let base = state.base_url();
    let limit = paging::limit(&q, USERS_LIMIT)?;
    let embed = expands(&q, "user");
    let prefix = q.non_empty("q").map(str::to_lowercase);
    let pager = paging::Pager::new(base, path, &q, "au");
    let org = state.org.read();
    let a = &org.apps[find(&org, &id)? as usize];
    let from = pager
        .after(|uid| org.user_by_id.get(uid).copied())?
        .map_or(Bound::Unbounded, Bound::Excluded);
    let (page, more) = paging::take_page(
        a.users.range((from, Bound::Unbounded)).filter(|(u, au)| {
            prefix.as_ref().is_none_or(|p| {
                let pr = &org.users[**u as usize].profile;
                [&au.user_name, &pr.first_name, &pr.last_name, &pr.email]
                    .iter()
                    .any(|v| v.to_lowercase().starts_with(p.as_str()))
            })
        }),
        limit,
    );
    let next = paging::next_key(&page, more, |(u, _)| org.users[**u as usize].id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|(u, au)| render::app_user(&org, a, *u, au, base, embed))
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}

/// `GET /api/v1/apps/{id}/users/{userId}`: one assignment (`expand=user` embeds the user);
/// 404 `E0000007` when the user is unknown or not assigned.
pub async fn user_one(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadApps, uri.path())?;
    let q = Query::parse(uri.query());
    let embed = expands(&q, "user");
    let org = state.org.read();
    let a = &org.apps[find(&org, &id)? as usize];
    let (u, au) = org
        .user_by_id
        .get(&user_id)
        .and_then(|u| a.users.get_key_value(u))
        .ok_or_else(|| ApiError::not_found(&user_id, "AppUser"))?;
    let v = render::app_user(&org, a, *u, au, state.base_url(), embed);
    drop(org);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/apps/{id}/groups/{groupId}`: one group assignment; 404 `E0000007` when the
/// group is unknown, deleted or not assigned.
pub async fn group_one(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path((id, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    authorize(&state, &principal, SCOPE, Permission::ReadApps, uri.path())?;
    let org = state.org.read();
    let a = &org.apps[find(&org, &id)? as usize];
    let (g, ag) = org
        .group_by_id
        .get(&group_id)
        .filter(|g| !org.groups[**g as usize].deleted)
        .and_then(|g| a.groups.get_key_value(g))
        .ok_or_else(|| ApiError::not_found(&group_id, "AppGroup"))?;
    let v = render::app_group(&org, a, *g, ag, state.base_url());
    drop(org);
    Ok(Json(v).into_response())
}

/// `GET /api/v1/apps/{id}/groups`: group assignments in group order; `q` is a prefix on the
/// group name; `expand=group` embeds the group.
pub async fn groups(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    authorize(&state, &principal, SCOPE, Permission::ReadApps, path)?;
    let q = Query::parse(uri.query());
    let base = state.base_url();
    let limit = paging::limit(&q, GROUPS_LIMIT)?;
    let embed = expands(&q, "group");
    let prefix = q.non_empty("q").map(str::to_lowercase);
    let pager = paging::Pager::new(base, path, &q, "ag");
    let org = state.org.read();
    let a = &org.apps[find(&org, &id)? as usize];
    let from = pager
        .after(|gid| org.group_by_id.get(gid).copied())?
        .map_or(Bound::Unbounded, Bound::Excluded);
    let (page, more) = paging::take_page(
        a.groups.range((from, Bound::Unbounded)).filter(|(g, _)| {
            let grp = &org.groups[**g as usize];
            !grp.deleted
                && prefix
                    .as_ref()
                    .is_none_or(|p| grp.name.to_lowercase().starts_with(p.as_str()))
        }),
        limit,
    );
    let next = paging::next_key(&page, more, |(g, _)| org.groups[**g as usize].id.clone());
    let items: Vec<_> = page
        .into_iter()
        .map(|(g, ag)| {
            let mut v = render::app_group(&org, a, *g, ag, base);
            if let (true, Some(map)) = (embed, v.as_object_mut()) {
                let group = render::group(&org, &org.groups[*g as usize], base, false);
                map.insert("_embedded".into(), serde_json::json!({ "group": group }));
            }
            v
        })
        .collect();
    drop(org);
    Ok(pager.respond(items, next))
}
