//! The JSON API under `/api/v1`, described by [`openapi::document`] at `/api/openapi.json`.
//!
//! Authentication: `Authorization: Bearer stw_…` (an API token, role-scoped), or the browser
//! session cookie plus `X-CSRF-Token` for state-changing calls. Errors are
//! `{"error": {"code", "message"}, "request_id"}`. No response ever contains key material.

pub mod audit;
pub mod inventory;
pub mod openapi;
mod openapi_audit;
mod openapi_inventory;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use okta_client::DpopMode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use steward_app::connections::ConnectionRequest;
use steward_app::{Role, TokenId};
use zeroize::{Zeroize, Zeroizing};

use crate::auth::{CurrentUser, Via};
use crate::error::AppError;
use crate::state::AppState;

/// Every API route as (method, OpenAPI path); the OpenAPI test checks the document
/// against this list, so add a route here and in [`routes`] together.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("get", "/api/v1/connections"),
    ("post", "/api/v1/connections"),
    ("post", "/api/v1/connections/{name}/test"),
    ("delete", "/api/v1/connections/{name}"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("get", "/api/v1/groups"),
    ("get", "/api/v1/groups/{id}"),
    ("get", "/api/v1/apps"),
    ("get", "/api/v1/apps/{id}"),
    ("get", "/api/v1/sync-runs"),
    ("post", "/api/v1/connections/{name}/sync"),
    ("get", "/api/v1/connections/{name}/sync"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/jobs"),
];

/// The `/api` router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/connections",
            get(list_connections).post(create_connection),
        )
        .route("/api/v1/connections/{name}/test", post(test_connection))
        .route("/api/v1/connections/{name}", delete(delete_connection))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/users", get(inventory::users))
        .route("/api/v1/users/{id}", get(inventory::user_detail))
        .route("/api/v1/groups", get(inventory::groups))
        .route("/api/v1/groups/{id}", get(inventory::group_detail))
        .route("/api/v1/apps", get(inventory::apps))
        .route("/api/v1/apps/{id}", get(inventory::app_detail))
        .route("/api/v1/sync-runs", get(inventory::sync_runs))
        .route(
            "/api/v1/connections/{name}/sync",
            get(inventory::sync_status).post(inventory::start_sync),
        )
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/jobs", get(audit::jobs))
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    // The rejection text can quote the body; say only what is expected.
    r.map(|Json(v)| v).map_err(|_| {
        AppError::BadRequest(
            "the body must be JSON with the fields listed in /api/openapi.json".into(),
        )
    })
}

async fn me(user: CurrentUser) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Role::Viewer)?;
    let (via, token) = match &user.via {
        Via::Session { .. } => ("session", None),
        Via::Token { name, .. } => ("token", Some(name.clone())),
    };
    Ok(Json(json!({
        "username": user.username,
        "role": user.role,
        "via": via,
        "token_name": token,
    })))
}

async fn list_connections(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let list = state.app.list_connections().await?;
    Ok(Json(json!({ "connections": list })).into_response())
}

/// `POST /api/v1/connections` body. The key is zeroized on drop and has no `Debug`.
#[derive(Deserialize)]
struct CreateConnection {
    name: String,
    domain: String,
    client_id: String,
    private_key: String,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    dpop: Option<String>,
}

impl Drop for CreateConnection {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

async fn create_connection(
    State(state): State<AppState>,
    user: CurrentUser,
    req: Result<Json<CreateConnection>, JsonRejection>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let req = body(req)?;
    let dpop: DpopMode = req
        .dpop
        .as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e: okta_client::InputError| AppError::BadRequest(format!("dpop: {e}")))?;
    let request = ConnectionRequest {
        name: req.name.clone(),
        domain: req.domain.clone(),
        client_id: req.client_id.clone(),
        private_key: Zeroizing::new(req.private_key.clone()),
        key_id: req.key_id.clone(),
        dpop,
        ca_cert_pem: None,
        allow_insecure_loopback: state.config.allow_insecure_loopback,
        force: false,
    };
    let outcome = state
        .app
        .create_connection(&user.actor(), request, |_| {})
        .await?;
    let saved = outcome.connection.is_some();
    let status = if saved {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let out = json!({
        "saved": saved,
        "connection": outcome.connection,
        "report": outcome.report.to_json(),
    });
    Ok((status, Json(out)).into_response())
}

async fn test_connection(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let report = state.app.test_connection(&user.actor(), &name).await?;
    Ok(Json(report.to_json()).into_response())
}

async fn delete_connection(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    state.app.disconnect(&user.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct CreateToken {
    name: String,
    role: String,
}

/// The token as created: the only time `token` is ever returned.
#[derive(Serialize)]
struct CreatedToken {
    id: TokenId,
    name: String,
    role: Role,
    created: DateTime<Utc>,
    token: String,
}

async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    req: Result<Json<CreateToken>, JsonRejection>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let req = body(req)?;
    let role: Role = req.role.parse().map_err(AppError::BadRequest)?;
    let creator = state
        .app
        .find_account(user.account)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (token, secret) = state
        .app
        .create_token(&user.actor(), &creator, &req.name, role)
        .await?;
    let out = CreatedToken {
        id: token.id,
        name: token.name,
        role: token.role,
        created: token.created,
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}
