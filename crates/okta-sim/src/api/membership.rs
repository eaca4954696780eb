//! `PUT` / `DELETE /api/v1/groups/{groupId}/users/{userId}` (reference 5.2, 10.5): scope
//! `okta.groups.manage`, a role that may change memberships, and only `OKTA_GROUP` groups.

use super::authorize;
use super::groups::find as find_group;
use crate::auth::Principal;
use crate::auth::principal::Permission;
use crate::error::ApiError;
use crate::model::{GroupType, LogRef};
use crate::state::SimState;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use std::sync::Arc;

const SCOPE: &str = "okta.groups.manage";

#[derive(Clone, Copy)]
enum Action {
    Add,
    Remove,
}

fn change(
    state: &SimState,
    principal: &Principal,
    path: &str,
    gid: &str,
    uid: &str,
    action: Action,
) -> Result<StatusCode, ApiError> {
    authorize(
        state,
        principal,
        SCOPE,
        Permission::ManageGroupMembership,
        path,
    )?;
    let now = state.clock.now();
    let mut org = state.org.write();
    let g = find_group(&org, gid)?;
    // `{userId}` is an id; Okta's spec names it `userId` (no login form here).
    let u = org
        .user_by_id
        .get(uid)
        .copied()
        .filter(|u| !org.users[*u as usize].deleted)
        .ok_or_else(|| ApiError::not_found(uid, "User"))?;
    // Only OKTA_GROUP memberships can be changed. APP_GROUP (imported) and BUILT_IN (Everyone)
    // answer 403 E0000006 even for SUPER_ADMIN (reference 5.2 last paragraph, [reported]
    // terraform-provider-okta#118).
    if org.groups[g as usize].kind != GroupType::OktaGroup {
        return Err(ApiError::forbidden());
    }
    let actor = LogRef::Client(principal.client_id.clone());
    // Adding a member twice (or removing a non-member) is a no-op answered with 204 and writes
    // no System Log event: idempotent, reference 5.2 [unconfirmed].
    match action {
        Action::Add => org.add_member(g, u, now, actor),
        Action::Remove => org.remove_member(g, u, now, actor),
    };
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/groups/{groupId}/users/{userId}` → 204.
pub async fn add(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path((gid, uid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    change(&state, &principal, uri.path(), &gid, &uid, Action::Add)
}

/// `DELETE /api/v1/groups/{groupId}/users/{userId}` → 204.
pub async fn remove(
    principal: Principal,
    State(state): State<Arc<SimState>>,
    OriginalUri(uri): OriginalUri,
    Path((gid, uid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    change(&state, &principal, uri.path(), &gid, &uid, Action::Remove)
}
