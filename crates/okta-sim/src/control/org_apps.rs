//! Apps of the org (the inventory's apps, not OAuth service clients), their user and group
//! assignments, and SSO events, through the control API (see the routes in [`super`]).

use super::{CtlError, CtlResult, changed, created, no_content, ok, parse};
use crate::clock::okta_time;
use crate::model::{AppStatus, Org, UserStatus};
use crate::render;
use crate::state::SimState;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The `signOnMode` values Okta documents for app instances.
pub const SIGN_ON_MODES: [&str; 10] = [
    "AUTO_LOGIN",
    "BASIC_AUTH",
    "BOOKMARK",
    "BROWSER_PLUGIN",
    "OPENID_CONNECT",
    "SAML_1_1",
    "SAML_2_0",
    "SECURE_PASSWORD_STORE",
    "WS_FEDERATION",
    "Unknown",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewApp {
    label: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    sign_on_mode: Option<String>,
}

#[derive(Deserialize)]
struct AppPatch {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct GroupAssignment {
    #[serde(default)]
    priority: Option<u32>,
}

#[derive(Deserialize)]
struct Sso {
    user: String,
    app: String,
    #[serde(default = "yes")]
    success: bool,
}

fn yes() -> bool {
    true
}

fn find_app(org: &Org, id: &str) -> Result<u32, CtlError> {
    org.find_app(id)
        .ok_or_else(|| CtlError::not_found("app", id))
}

fn find_user(org: &Org, id: &str) -> Result<u32, CtlError> {
    org.find_user(id)
        .ok_or_else(|| CtlError::not_found("user", id))
}

fn find_group(org: &Org, id: &str) -> Result<u32, CtlError> {
    org.find_group(id)
        .ok_or_else(|| CtlError::not_found("group", id))
}

fn render_app(state: &SimState, org: &Org, a: u32) -> serde_json::Value {
    let app = &org.apps[a as usize];
    render::app(app, state.base_url(), org.clients.get(&app.id))
}

/// `POST /__sim/org-apps`.
pub async fn create(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: NewApp = parse(&body)?;
    if req.label.trim().is_empty() {
        return Err(CtlError::bad("label is required"));
    }
    let wanted = req.sign_on_mode.as_deref().unwrap_or("SAML_2_0");
    let mode = SIGN_ON_MODES
        .into_iter()
        .find(|m| *m == wanted)
        .ok_or_else(|| CtlError::bad(format!("unknown signOnMode `{wanted}`")))?;
    // Template-based modes use the template's key name (Okta's SDKs check `template_swa*`);
    // custom SAML 2.0 and auto-login apps get a generated one, as Okta's app wizard does.
    let template = match mode {
        "BASIC_AUTH" => Some("template_basic_auth"),
        "BOOKMARK" => Some("bookmark"),
        "BROWSER_PLUGIN" => Some("template_swa"),
        "OPENID_CONNECT" => Some("oidc_client"),
        "SAML_1_1" => Some("template_saml_1_1"),
        "SECURE_PASSWORD_STORE" => Some("template_sps"),
        "WS_FEDERATION" => Some("template_wsfed"),
        _ => None,
    };
    let name = req.name.or(template.map(String::from)).unwrap_or_else(|| {
        let slug: String = req
            .label
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("{slug}_1")
    });
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = org.create_app(name, req.label, mode, now);
    created(render_app(&state, &org, a))
}

/// `PATCH /__sim/org-apps/{id}`.
pub async fn update(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> CtlResult {
    let req: AppPatch = parse(&body)?;
    let status = match req.status.as_deref() {
        None => None,
        Some("ACTIVE") => Some(AppStatus::Active),
        Some("INACTIVE") => Some(AppStatus::Inactive),
        Some(other) => return Err(CtlError::bad(format!("unknown app status `{other}`"))),
    };
    if req.label.as_deref().is_some_and(|l| l.trim().is_empty()) {
        return Err(CtlError::bad("label must not be empty"));
    }
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = find_app(&org, &id)?;
    org.update_app(a, req.label, status, now);
    ok(render_app(&state, &org, a))
}

/// `DELETE /__sim/org-apps/{id}`: deactivates first (Okta deletes only INACTIVE apps). Deleting
/// an API Services app also removes its OAuth client and revokes its tokens.
pub async fn delete(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> CtlResult {
    let now = state.clock.now();
    let is_service = {
        let mut org = state.org.write();
        let a = find_app(&org, &id)?;
        if org.apps[a as usize].status == AppStatus::Active {
            org.update_app(a, None, Some(AppStatus::Inactive), now);
        }
        org.delete_app(a, now);
        org.clients.remove(&id).is_some()
    };
    if is_service {
        state.auth.revoke(Some(&id));
    }
    no_content()
}

/// `PUT /__sim/org-apps/{id}/users/{uid}`: a direct (USER-scoped) assignment.
pub async fn assign_user(
    State(state): State<Arc<SimState>>,
    Path((id, uid)): Path<(String, String)>,
) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = find_app(&org, &id)?;
    let u = find_user(&org, &uid)?;
    // Okta refuses to assign a deactivated user to an app.
    if org.users[u as usize].status == UserStatus::Deprovisioned {
        return Err(CtlError::bad(format!("user {uid} is DEPROVISIONED")));
    }
    changed(org.assign_user_to_app(a, u, now))
}

/// `DELETE /__sim/org-apps/{id}/users/{uid}`: removes the direct assignment (access through a
/// group stays, as in Okta).
pub async fn unassign_user(
    State(state): State<Arc<SimState>>,
    Path((id, uid)): Path<(String, String)>,
) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = find_app(&org, &id)?;
    let u = find_user(&org, &uid)?;
    changed(org.unassign_user_from_app(a, u, now))
}

/// `PUT /__sim/org-apps/{id}/groups/{gid}` with an optional `{priority}` (default: last).
pub async fn assign_group(
    State(state): State<Arc<SimState>>,
    Path((id, gid)): Path<(String, String)>,
    body: Bytes,
) -> CtlResult {
    let req: GroupAssignment = parse(&body)?;
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = find_app(&org, &id)?;
    let g = find_group(&org, &gid)?;
    let priority = req.priority.unwrap_or_else(|| {
        org.apps[a as usize]
            .groups
            .values()
            .map(|ag| ag.priority + 1)
            .max()
            .unwrap_or(0)
    });
    changed(org.assign_group_to_app(a, g, priority, now))
}

/// `DELETE /__sim/org-apps/{id}/groups/{gid}`.
pub async fn unassign_group(
    State(state): State<Arc<SimState>>,
    Path((id, gid)): Path<(String, String)>,
) -> CtlResult {
    let now = state.clock.now();
    let mut org = state.org.write();
    let a = find_app(&org, &id)?;
    let g = find_group(&org, &gid)?;
    changed(org.unassign_group_from_app(a, g, now))
}

/// `POST /__sim/sso`: records `user.authentication.sso` for `user` (id or login) into `app`.
pub async fn sso(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: Sso = parse(&body)?;
    let now = state.clock.now();
    let mut org = state.org.write();
    let u = find_user(&org, &req.user)?;
    let a = find_app(&org, &req.app)?;
    org.record_sso(u, a, req.success, now);
    let published = org.log.last().map_or(now, |e| e.published);
    created(json!({"published": okta_time(published)}))
}
