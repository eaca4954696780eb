//! The inventory under `/api/v1` (viewer and up): users, groups, apps, sync runs; and
//! `POST /api/v1/connections/{name}/sync` (admin) with `GET` for its progress.
//! Every list takes `?connection=NAME` (default: the first connection).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use steward_inventory::InventoryStore;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::inventory::browse::ListParams;
use crate::pages::inventory::sync::parse_kind;
use crate::pages::inventory::users::UsersParams;
use crate::pages::inventory::{ConnParam, Scope, db, scope};
use crate::state::AppState;
use steward_app::Role;
use steward_app::syncs::Started;

async fn need(state: &AppState, name: Option<&str>) -> Result<Scope, AppError> {
    scope(state, name).await?.ok_or(AppError::NotFound)
}

/// `GET /api/v1/users`.
pub async fn users(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<UsersParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let page = s.store().list_users(s.id, &p.query()).await.map_err(db)?;
    Ok(Json(json!({"connection": s.name, "page": page})).into_response())
}

/// `GET /api/v1/users/{id}`.
pub async fn user_detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ConnParam>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let d = s
        .store()
        .user_detail(s.id, &id)
        .await
        .map_err(db)?
        .ok_or(AppError::NotFound)?;
    Ok(Json(d).into_response())
}

/// `GET /api/v1/groups`.
pub async fn groups(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let page = s.store().list_groups(s.id, &p.query()).await.map_err(db)?;
    Ok(Json(json!({"connection": s.name, "page": page})).into_response())
}

/// `GET /api/v1/groups/{id}`.
pub async fn group_detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let (page, size) = (p.page.unwrap_or(0), p.page_size.unwrap_or(100));
    let d = s
        .store()
        .group_detail(s.id, &id, page, size)
        .await
        .map_err(db)?;
    Ok(Json(d.ok_or(AppError::NotFound)?).into_response())
}

/// `GET /api/v1/apps`.
pub async fn apps(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let page = s.store().list_apps(s.id, &p.query()).await.map_err(db)?;
    Ok(Json(json!({"connection": s.name, "page": page})).into_response())
}

/// `GET /api/v1/apps/{id}`.
pub async fn app_detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let (page, size) = (p.page.unwrap_or(0), p.page_size.unwrap_or(100));
    let d = s
        .store()
        .app_detail(s.id, &id, page, size)
        .await
        .map_err(db)?;
    Ok(Json(d.ok_or(AppError::NotFound)?).into_response())
}

/// `GET /api/v1/sync-runs`: the newest 50 runs.
pub async fn sync_runs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ConnParam>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, p.connection.as_deref()).await?;
    let runs = s.store().list_sync_runs(s.id, 50).await.map_err(db)?;
    Ok(Json(json!({"connection": s.name, "runs": runs})).into_response())
}

/// `POST /api/v1/connections/{name}/sync` body (optional).
#[derive(Debug, Default, Deserialize)]
pub struct SyncRequest {
    /// `incremental` (default), `full`, `reconcile`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// `POST /api/v1/connections/{name}/sync`: 202 when started, 409 when one is running.
pub async fn start_sync(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
    body: Result<Json<SyncRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    // No body (or not JSON) means the default kind.
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let kind = parse_kind(req.kind.as_deref())?;
    let started = state.app.start_sync(&user.actor(), &name, kind).await?;
    let status = match started {
        Started::Started => StatusCode::ACCEPTED,
        Started::AlreadyRunning => StatusCode::CONFLICT,
    };
    Ok((status, Json(json!({"status": started, "kind": kind}))).into_response())
}

/// `GET /api/v1/connections/{name}/sync`: the live sync of this process (if any), the
/// last finished run and the next scheduled one. The sync page polls the same data.
pub async fn sync_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = need(&state, Some(&name)).await?;
    let last = s.store().last_run(s.id, None).await.map_err(db)?;
    let next = state
        .app
        .next_due(last.as_ref().and_then(|r| r.finished_at));
    let counts = s.store().counts(s.id).await.map_err(db)?;
    Ok(Json(json!({
        "connection": s.name,
        "live": s.app.syncs().status(s.id),
        "last_run": last,
        "next_scheduled": next,
        "counts": {"users": counts.users(), "groups": counts.groups(), "apps": counts.apps(),
                   "memberships": counts.memberships, "app_assignments": counts.app_users()},
    }))
    .into_response())
}
