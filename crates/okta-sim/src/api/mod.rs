//! The management API (`/api/v1/*`): users, groups, memberships, apps, assignments and the
//! System Log (reference 4, 5, 6).
//!
//! Every handler authenticates first (the [`Principal`] extractor), then checks the endpoint's
//! scope (403 + `WWW-Authenticate … insufficient_scope`), then the admin role (403 `E0000006`),
//! in that order (reference 3.3). The exceptions are the `GET /api/v1/users` and
//! `GET /api/v1/apps` lists, which answer `200 []` without the role when
//! [`MissingRoleBehaviour::OktaLike`] is configured (reference 3.3 [reported]).

pub mod apps;
pub mod filter;
pub mod groups;
pub mod logs;
pub mod membership;
pub mod paging;
pub mod users;

use crate::auth::Principal;
use crate::auth::principal::Permission;
use crate::config::MissingRoleBehaviour;
use crate::error::ApiError;
use crate::state::SimState;
use axum::response::Response;
use axum::routing::{get, put};
use paging::Query;
use std::sync::Arc;

/// Management API routes.
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
        .route("/api/v1/users", get(users::list))
        .route("/api/v1/users/{id}", get(users::get_one))
        .route("/api/v1/users/{id}/groups", get(users::groups))
        .route("/api/v1/users/{id}/appLinks", get(users::app_links))
        .route("/api/v1/groups", get(groups::list))
        .route("/api/v1/groups/{id}", get(groups::get_one))
        .route("/api/v1/groups/{id}/users", get(groups::members))
        .route("/api/v1/groups/{id}/apps", get(groups::apps))
        .route(
            "/api/v1/groups/{gid}/users/{uid}",
            put(membership::add).delete(membership::remove),
        )
        .route("/api/v1/apps", get(apps::list))
        .route("/api/v1/apps/{id}", get(apps::get_one))
        .route("/api/v1/apps/{id}/users", get(apps::users))
        .route("/api/v1/apps/{id}/users/{user_id}", get(apps::user_one))
        .route("/api/v1/apps/{id}/groups", get(apps::groups))
        .route("/api/v1/apps/{id}/groups/{group_id}", get(apps::group_one))
        .route("/api/v1/logs", get(logs::list))
}

/// Scope, then role (reference 3.3).
pub(crate) fn authorize(
    state: &SimState,
    principal: &Principal,
    scope: &str,
    perm: Permission,
    path: &str,
) -> Result<(), ApiError> {
    principal.require_scope(scope, state.base_url(), path)?;
    principal.require_role(perm)
}

/// For `GET /api/v1/users` and `GET /api/v1/apps`: checks the scope, then the role. Without the
/// role, `Ok(Some(200 []))` under `OktaLike` (reference 3.3 [reported]: "may instead return 200
/// with an empty array"), 403 `E0000006` under `AlwaysForbidden`.
pub(crate) fn authorize_list_or_empty(
    state: &SimState,
    principal: &Principal,
    scope: &str,
    perm: Permission,
    path: &str,
    q: &Query,
) -> Result<Option<Response>, ApiError> {
    let base = state.base_url();
    principal.require_scope(scope, base, path)?;
    if principal.has(perm) {
        return Ok(None);
    }
    match state.config.missing_role {
        MissingRoleBehaviour::OktaLike => Ok(Some(paging::list_response(
            Vec::new(),
            &paging::self_url(base, path, q),
            None,
        ))),
        MissingRoleBehaviour::AlwaysForbidden => Err(ApiError::forbidden()),
    }
}

/// 400 `E0000031 Invalid search criteria.` for a `filter`/`search` the endpoint does not support
/// (reference 3.2, 5.2). `param` and `detail` go into `errorCauses`.
pub(crate) fn invalid_search(param: &str, detail: &str) -> ApiError {
    ApiError::new("E0000031", "Invalid search criteria.").with_cause(format!("{param}: {detail}"))
}

/// Parses a `filter`/`search` expression; a syntax error is `E0000031` (reference 5.2).
pub(crate) fn parse_expr(param: &str, s: &str) -> Result<filter::Expr, ApiError> {
    filter::parse(s).map_err(|e| invalid_search(param, &e.message))
}

/// Checks a timestamp literal for `attr` and converts it in place; a string that is not
/// RFC 3339 is `E0000031`.
pub(crate) fn time_lit(param: &str, attr: &str, lit: &mut filter::Lit) -> Result<(), ApiError> {
    match lit {
        filter::Lit::Str(s) => {
            let t = filter::parse_time(s).ok_or_else(|| {
                invalid_search(param, &format!("'{s}' is not a valid date-time for {attr}"))
            })?;
            *lit = filter::Lit::Time(t);
            Ok(())
        }
        filter::Lit::Time(_) => Ok(()),
        _ => Err(invalid_search(
            param,
            &format!("{attr} needs a quoted date-time"),
        )),
    }
}

/// `asc` (default) or `desc` for `sortOrder` on searches; anything else is 400 `E0000001`.
pub(crate) fn sort_desc(q: &Query) -> Result<bool, ApiError> {
    match q
        .non_empty("sortOrder")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(other) => Err(ApiError::validation(
            format!("'sortOrder': '{other}' is not one of asc, desc."),
            None,
        )),
    }
}

/// Whether the comma-separated `expand` contains `what`.
pub(crate) fn expands(q: &Query, what: &str) -> bool {
    q.get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == what))
}
