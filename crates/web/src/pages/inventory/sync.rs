//! `GET /sync` (sync history and live progress; the page reloads itself while a sync runs)
//! and `POST /sync` ("Sync now", admin, CSRF-checked by the auth middleware).

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steward_inventory::SyncKind;

use super::{ConnParam, db, no_inventory, run_health, scope, when};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::layout::{self, csrf_field};
use crate::state::AppState;
use steward_app::Role;
use steward_app::syncs::Started;

/// The "Sync now" button.
pub(crate) fn sync_now_form(user: &CurrentUser, conn: &str) -> Markup {
    html! {
        form method="post" action="/sync" {
            (csrf_field(user))
            input type="hidden" name="connection" value=(conn);
            button type="submit" { "Sync now" }
        }
    }
}

/// Who started a sync, for people: `account:NAME` is shown as `NAME`, `api_token:NAME` as
/// `API token NAME`, `system:scheduler` as `the scheduler`; anything else as is.
fn actor_label(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("account", name)) => name.to_owned(),
        Some(("api_token", name)) => format!("API token {name}"),
        Some(("cli", name)) => format!("{name} (command line)"),
        Some(("system", name)) => format!("the {name}"),
        _ => actor.to_owned(),
    }
}

/// `GET /sync`.
pub async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ConnParam>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let Some(s) = scope(&state, p.connection.as_deref()).await? else {
        return Ok(layout::page("Sync", Some(&user), no_inventory(&user)).into_response());
    };
    let runs = s.store().list_sync_runs(s.id, 50).await.map_err(db)?;
    let live = s.app.syncs().status(s.id);
    let running = live
        .as_ref()
        .is_some_and(|l| l.state == "running" || l.state == "queued");
    let body = html! {
        h1 { "Sync of " (s.name) }
        @if let Some(l) = &live {
            section.card #live {
                h2 { "Current sync" }
                p { (l.kind.as_str()) " sync started by " (actor_label(&l.started_by)) " at " (when(Some(l.started))) ": "
                    strong.state { (l.state) } }
                @if running { p { "Reading " (l.resource) "…" } }
                p { (l.requests) " requests · " (l.rate_limited) " rate-limited (429)" }
                ul { @for (k, v) in &l.items { li { (k) ": " (v) } } }
                @if let Some(e) = &l.error { p.notice.bad { (e) } }
            }
        }
        @if user.role.allows(Role::Admin) && !running {
            section.card { (sync_now_form(&user, &s.name)) }
        }
        section.card {
            h2 { "History" }
            table {
                thead { tr { th { "Run" } th { "Kind" } th { "Status" } th { "Started" } th { "Finished" } th { "Health" } } }
                tbody {
                    @for r in &runs {
                        tr {
                            td { (r.id) } td { (r.kind.as_str()) } td { (r.status) }
                            td { (when(Some(r.started_at))) } td { (when(r.finished_at)) }
                            td { (run_health(r)) @if let Some(e) = &r.error { br; span.muted { (e) } } }
                        }
                    }
                }
            }
        }
    };
    let refresh = running.then_some(2);
    Ok(layout::page_refreshing("Sync", Some(&user), body, refresh).into_response())
}

/// The "Sync now" form.
#[derive(Debug, Deserialize)]
pub struct SyncNowForm {
    /// Connection name.
    pub connection: String,
    /// `incremental` (default), `full` or `reconcile`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// `incremental`, `full`, `reconcile`.
pub(crate) fn parse_kind(kind: Option<&str>) -> Result<SyncKind, AppError> {
    match kind.unwrap_or("incremental") {
        "incremental" | "" => Ok(SyncKind::Incremental),
        "full" => Ok(SyncKind::Full),
        "reconcile" => Ok(SyncKind::Reconcile),
        _ => Err(AppError::BadRequest(
            "kind must be incremental, full or reconcile".into(),
        )),
    }
}

/// `POST /sync`: starts a sync and shows its progress.
pub async fn sync_now(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<SyncNowForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let kind = parse_kind(form.kind.as_deref())?;
    let started = state
        .app
        .start_sync(&user.actor(), &form.connection, kind)
        .await?;
    if started == Started::AlreadyRunning {
        tracing::info!(connection = %form.connection, "sync already running");
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("connection", &form.connection)
        .finish();
    Ok(Redirect::to(&format!("/sync?{q}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::actor_label;

    #[test]
    fn actors_are_shown_by_name() {
        assert_eq!(actor_label("account:admin"), "admin");
        assert_eq!(actor_label("api_token:ci"), "API token ci");
        assert_eq!(actor_label("system:scheduler"), "the scheduler");
        assert_eq!(actor_label("other"), "other");
    }
}
