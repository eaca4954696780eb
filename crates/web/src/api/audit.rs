//! `GET /api/v1/audit` (admin): audit events, newest first, with the filters of the Audit
//! page and `next_before` for the next page; `GET /api/v1/audit/verify` (admin): the hash
//! chain's verification; `GET /api/v1/jobs` (admin): pending, running and failed jobs.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use steward_app::Role;
use steward_store::jobs::JobState;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::audit::AuditParams;
use crate::state::AppState;

/// `GET /api/v1/audit`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<AuditParams>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let filter = p.filter()?;
    let events = state.app.list_audit(&filter).await?;
    let full = i64::try_from(events.len()).unwrap_or(0) >= filter.limit;
    let next = events.last().filter(|_| full).map(|e| e.seq);
    Ok(Json(json!({"events": events, "next_before": next})).into_response())
}

/// `GET /api/v1/audit/verify`.
pub async fn verify(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    Ok(Json(state.app.verify_audit().await?).into_response())
}

/// `?state=pending|running|succeeded|failed` (default: all but succeeded), `?limit=`.
#[derive(Debug, Default, Deserialize)]
pub struct JobsParams {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/v1/jobs`.
pub async fn jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<JobsParams>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let states = match p.state.as_deref().map(str::trim) {
        None | Some("") => vec![JobState::Pending, JobState::Running, JobState::Failed],
        Some(s) => vec![s.parse::<JobState>().map_err(|_| {
            AppError::BadRequest("state must be pending, running, succeeded or failed".into())
        })?],
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let jobs = state.app.list_jobs(&states, limit).await?;
    Ok(Json(json!({ "jobs": jobs })).into_response())
}
