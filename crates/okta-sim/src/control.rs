//! The control API under `/__sim/`, outside Okta's namespace: a test tool, so it needs no
//! authentication (it is only served on the simulator's own listener). JSON in and out;
//! errors are `{"error": "..."}` with 400 (bad input) or 404 (unknown object). Every change to
//! the org goes through [`crate::mutate`], so invariants hold and System Log events are written
//! exactly as for changes made through the management API.
//!
//! # Routes
//!
//! API Services apps (OAuth service clients), [`apps`]:
//! - `POST /__sim/apps` — body [`crate::credentials::ServiceAppSpec`] (`label`, `public_keys`
//!   (JWKs; none → an RSA-2048 key is generated as Okta's "Generate new key" does),
//!   `client_secret`, `dpop` (`required`|`optional`), `scopes`, `roles`, `application_type`)
//!   → 201 `{client_id, kid?, private_key_jwk?, private_key_pem?}`.
//! - `PATCH /__sim/apps/{client_id}` — `{scopes?, roles?, dpop?, add_keys?: [jwk],
//!   remove_kids?: [kid], deactivate_kids?, activate_kids?, generate_key?: bool,
//!   token_endpoint_auth_method?: "private_key_jwt"|"client_secret_basic"}` → the client.
//!
//! Directory, [`directory`]:
//! - `POST /__sim/users` — `{profile: {firstName, lastName, login, email?, department?, title?,
//!   …custom}, status?: "ACTIVE"}` → 201 the user (Okta JSON).
//! - `PATCH /__sim/users/{idOrLogin}` — `{profile?: {…partial}, status?}` → the user.
//! - `DELETE /__sim/users/{idOrLogin}` → 204 (deactivates first when needed, as Okta requires).
//! - `POST /__sim/groups` — `{name, description?, type?: "OKTA_GROUP"|"APP_GROUP"}` → 201 group.
//! - `PATCH /__sim/groups/{id}` — `{name?, description?}` → the group.
//! - `DELETE /__sim/groups/{id}` → 204.
//! - `PUT|DELETE /__sim/groups/{gid}/users/{uid}` → `{changed}` (any group type: this is the
//!   control plane, e.g. an AD import changing an APP_GROUP).
//!
//! Apps and SSO, [`org_apps`]:
//! - `POST /__sim/org-apps` — `{label, name?, signOnMode?: "SAML_2_0"}` → 201 the app.
//! - `PATCH /__sim/org-apps/{id}` — `{label?, status?: "ACTIVE"|"INACTIVE"}` → the app.
//! - `DELETE /__sim/org-apps/{id}` → 204 (deactivates first).
//! - `PUT|DELETE /__sim/org-apps/{id}/users/{uid}` → `{changed}`.
//! - `PUT|DELETE /__sim/org-apps/{id}/groups/{gid}` (PUT body `{priority?}`) → `{changed}`.
//! - `POST /__sim/sso` — `{user, app, success?: true}` → 201 `{published}`.
//!
//! Behaviour, [`ops`]:
//! - `POST /__sim/tokens/revoke` — `{client_id?}` → `{revoked}`.
//! - `POST /__sim/dpop-nonce/rotate` — `{hard?: false}` → `{nonce}`.
//! - `GET|PUT /__sim/clock` — PUT `{offset_ms}` → `{offset_ms, now}`.
//! - `POST /__sim/faults` — a [`crate::faults::FaultSpec`] → 201 `{id}`; `GET /__sim/faults` →
//!   `{faults}`; `DELETE /__sim/faults` → `{cleared}`; `DELETE /__sim/faults/{id}` → 204.
//! - `GET /__sim/rate-limits` → `{config, window_ms, in_flight, windows}`;
//!   `PUT /__sim/rate-limits` — `{preset?: "okta"|"off", enabled?, buckets?,
//!   app_share_percent?, concurrency?, time_compression?}` (missing fields keep their current
//!   value; windows restart) → the same as GET.
//! - `GET /__sim/requests?after=SEQ` → `{last_seq, requests}`; `DELETE /__sim/requests` → 204.
//!
//! Ground truth, [`random`] and [`truth`]:
//! - `POST /__sim/mutations/random` — `{count, seed}` → `{applied: [{op, …}]}`.
//! - `GET /__sim/summary` — counts (users by status, groups by type, memberships, apps,
//!   assignments, log events within 90 days).
//! - `GET /__sim/snapshot` — every relation, compact, for exact equality checks.

pub mod apps;
pub mod directory;
pub mod ops;
pub mod org_apps;
pub mod random;
pub mod truth;

use crate::state::SimState;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::Arc;

/// Control routes (nested under `/__sim`).
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
        .route("/apps", post(apps::create))
        .route("/apps/{client_id}", patch(apps::update))
        .route("/users", post(directory::create_user))
        .route(
            "/users/{id}",
            patch(directory::update_user).delete(directory::delete_user),
        )
        .route("/groups", post(directory::create_group))
        .route(
            "/groups/{id}",
            patch(directory::update_group).delete(directory::delete_group),
        )
        .route(
            "/groups/{gid}/users/{uid}",
            put(directory::add_member).delete(directory::remove_member),
        )
        .route("/org-apps", post(org_apps::create))
        .route(
            "/org-apps/{id}",
            patch(org_apps::update).delete(org_apps::delete),
        )
        .route(
            "/org-apps/{id}/users/{uid}",
            put(org_apps::assign_user).delete(org_apps::unassign_user),
        )
        .route(
            "/org-apps/{id}/groups/{gid}",
            put(org_apps::assign_group).delete(org_apps::unassign_group),
        )
        .route("/sso", post(org_apps::sso))
        .route("/tokens/revoke", post(ops::revoke_tokens))
        .route("/dpop-nonce/rotate", post(ops::rotate_nonce))
        .route("/clock", get(ops::get_clock).put(ops::set_clock))
        .route(
            "/faults",
            post(ops::add_fault)
                .get(ops::list_faults)
                .delete(ops::clear_faults),
        )
        .route("/faults/{id}", axum::routing::delete(ops::delete_fault))
        .route(
            "/rate-limits",
            get(ops::get_rate_limits).put(ops::put_rate_limits),
        )
        .route(
            "/requests",
            get(ops::list_requests).delete(ops::clear_requests),
        )
        .route("/mutations/random", post(random::apply))
        .route("/summary", get(truth::summary))
        .route("/snapshot", get(truth::snapshot))
        .fallback(|| async { CtlError::not_found("control route", "") })
}

/// A control API error: `{"error": "..."}`.
#[derive(Debug)]
pub struct CtlError {
    status: StatusCode,
    message: String,
}

impl CtlError {
    /// 400 with `message`.
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
    /// 404 for an unknown `kind` `id`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("no such {kind} {id}").trim_end().to_string(),
        }
    }
}

impl IntoResponse for CtlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

/// What control handlers return.
pub type CtlResult = Result<Response, CtlError>;

/// Parses a JSON body; an empty body reads as `{}`.
pub fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, CtlError> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| CtlError::bad(format!("invalid JSON body: {e}")))
}

/// 200 with a JSON body.
pub fn ok(v: serde_json::Value) -> CtlResult {
    Ok(Json(v).into_response())
}

/// 201 with a JSON body.
pub fn created(v: serde_json::Value) -> CtlResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// 204.
pub fn no_content() -> CtlResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `{"changed": bool}` for relation PUT/DELETE.
pub fn changed(c: crate::mutate::Change) -> CtlResult {
    ok(json!({"changed": c == crate::mutate::Change::Changed}))
}
