//! Users, groups and memberships through the control API (see the routes in [`super`]).

use super::{CtlError, CtlResult, changed, created, no_content, ok, parse};
use crate::model::{GroupType, Org, UserProfile, UserStatus};
use crate::render;
use crate::state::SimState;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Deserialize)]
struct NewUser {
    profile: Map<String, Value>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct UserPatch {
    #[serde(default)]
    profile: Map<String, Value>,
    #[serde(default)]
    status: Option<String>,
}

fn parse_status(s: &str) -> Result<UserStatus, CtlError> {
    UserStatus::parse(&s.to_ascii_uppercase())
        .ok_or_else(|| CtlError::bad(format!("unknown user status `{s}`")))
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Builds a profile from Okta's attribute names (`login` required, `email` defaults to it).
pub fn profile_from(map: &Map<String, Value>) -> Result<UserProfile, CtlError> {
    let login = text(map, "login")
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| CtlError::bad("profile.login is required"))?;
    let mut p = UserProfile {
        first_name: text(map, "firstName").unwrap_or_default(),
        last_name: text(map, "lastName").unwrap_or_default(),
        email: text(map, "email").unwrap_or_else(|| login.clone()),
        login,
        department: text(map, "department"),
        title: text(map, "title"),
        manager_id: text(map, "managerId"),
        manager: text(map, "manager"),
        employee_number: text(map, "employeeNumber"),
        extra: Map::new(),
    };
    for (k, v) in map {
        let known = [
            "login",
            "firstName",
            "lastName",
            "email",
            "department",
            "title",
            "managerId",
            "manager",
            "employeeNumber",
        ];
        if !known.contains(&k.as_str()) {
            p.extra.insert(k.clone(), v.clone());
        }
    }
    Ok(p)
}

/// Refuses a login another user (deleted users excepted) already has, as Okta does.
fn check_login_free(org: &Org, login: &str, except: Option<u32>) -> Result<(), CtlError> {
    match org.user_by_login.get(&login.to_ascii_lowercase()) {
        Some(&u) if Some(u) != except && !org.users[u as usize].deleted => {
            Err(CtlError::bad(format!(
                "login `{login}` is already used by {}",
                org.users[u as usize].id
            )))
        }
        _ => Ok(()),
    }
}

fn find_user(org: &Org, id: &str) -> Result<u32, CtlError> {
    org.find_user(id)
        .ok_or_else(|| CtlError::not_found("user", id))
}

fn find_group(org: &Org, id: &str) -> Result<u32, CtlError> {
    org.find_group(id)
        .ok_or_else(|| CtlError::not_found("group", id))
}

/// `POST /__sim/users`.
pub async fn create_user(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: NewUser = parse(&body)?;
    let profile = profile_from(&req.profile)?;
    let status = req
        .status
        .as_deref()
        .map(parse_status)
        .transpose()?
        .unwrap_or(UserStatus::Active);
    let now = state.clock.now();
    let mut org = state.org.write();
    check_login_free(&org, &profile.login, None)?;
    let u = org.create_user(profile, status, now);
    created(render::user(&org, &org.users[u as usize], state.base_url()))
}

/// `PATCH /__sim/users/{idOrLogin}`.
pub async fn update_user(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> CtlResult {
    let req: UserPatch = parse(&body)?;
    let status = req.status.as_deref().map(parse_status).transpose()?;
    let now = state.clock.now();
    let mut org = state.org.write();
    let u = find_user(&org, &id)?;
    if let Some(login) = req.profile.get("login") {
        let login = login
            .as_str()
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| CtlError::bad("profile.login must be a non-empty string"))?;
        check_login_free(&org, login, Some(u))?;
    }
    if !req.profile.is_empty() {
        org.update_user_profile(u, &req.profile, now);
    }
    if let Some(s) = status {
        org.set_user_status(u, s, now);
    }
    ok(render::user(&org, &org.users[u as usize], state.base_url()))
}

/// `DELETE /__sim/users/{idOrLogin}`: deactivates first when needed (Okta deletes only
/// DEPROVISIONED users; a first DELETE on an active user deactivates it).
pub async fn delete_user(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let u = find_user(&org, &id)?;
    org.set_user_status(u, UserStatus::Deprovisioned, now);
    org.delete_user(u, now);
    no_content()
}

#[derive(Deserialize)]
struct NewGroup {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `POST /__sim/groups`.
pub async fn create_group(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: NewGroup = parse(&body)?;
    let kind = match req.kind.as_deref().unwrap_or("OKTA_GROUP") {
        "OKTA_GROUP" => GroupType::OktaGroup,
        "APP_GROUP" => GroupType::AppGroup,
        // Okta has exactly one BUILT_IN group (Everyone); none can be created.
        other => {
            return Err(CtlError::bad(format!(
                "cannot create a group of type `{other}`"
            )));
        }
    };
    if req.name.trim().is_empty() {
        return Err(CtlError::bad("name is required"));
    }
    let now = state.clock.now();
    let mut org = state.org.write();
    // Okta keeps OKTA_GROUP names unique (E0000001 "An object with this field already exists").
    if kind == GroupType::OktaGroup
        && org
            .live_groups()
            .any(|(_, g)| g.kind == GroupType::OktaGroup && g.name.eq_ignore_ascii_case(&req.name))
    {
        return Err(CtlError::bad(format!(
            "a group named `{}` exists",
            req.name
        )));
    }
    let g = org.create_group(req.name, req.description, kind, now);
    created(render::group(
        &org,
        &org.groups[g as usize],
        state.base_url(),
        false,
    ))
}

/// `PATCH /__sim/groups/{id}`: `name` and/or `description` (`null` clears it).
pub async fn update_group(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> CtlResult {
    let req: Map<String, Value> = parse(&body)?;
    let name = match req.get("name") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(_) => return Err(CtlError::bad("name must be a non-empty string")),
    };
    let description = match req.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => return Err(CtlError::bad("description must be a string or null")),
    };
    let now = state.clock.now();
    let mut org = state.org.write();
    let g = find_group(&org, &id)?;
    if org.groups[g as usize].kind == GroupType::BuiltIn {
        return Err(CtlError::bad("BUILT_IN groups cannot be changed"));
    }
    org.update_group(g, name, description, now);
    ok(render::group(
        &org,
        &org.groups[g as usize],
        state.base_url(),
        false,
    ))
}

/// `DELETE /__sim/groups/{id}`.
pub async fn delete_group(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let g = find_group(&org, &id)?;
    if org.groups[g as usize].kind == GroupType::BuiltIn {
        return Err(CtlError::bad("BUILT_IN groups cannot be deleted"));
    }
    org.delete_group(g, now);
    no_content()
}

/// `PUT /__sim/groups/{gid}/users/{uid}`.
pub async fn add_member(
    State(state): State<Arc<SimState>>,
    Path((gid, uid)): Path<(String, String)>,
) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let g = find_group(&org, &gid)?;
    let u = find_user(&org, &uid)?;
    changed(org.add_member(g, u, now, crate::model::LogRef::System))
}

/// `DELETE /__sim/groups/{gid}/users/{uid}`.
pub async fn remove_member(
    State(state): State<Arc<SimState>>,
    Path((gid, uid)): Path<(String, String)>,
) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let g = find_group(&org, &gid)?;
    let u = find_user(&org, &uid)?;
    changed(org.remove_member(g, u, now, crate::model::LogRef::System))
}
