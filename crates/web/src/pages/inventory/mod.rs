//! The inventory pages (viewer and up): the dashboard, users, groups, apps, sync runs and
//! "Sync now" (admin). Every list is paged and searched in the database.
//!
//! A page shows one connection: `?connection=NAME`, or the first one.

pub mod browse;
pub mod sync;
pub mod users;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use steward_inventory::{InventoryStore, SyncRun};
use steward_store::Store;

use super::layout;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use steward_app::Role;

/// The connection a page or API call is about.
pub(crate) struct Scope {
    pub app: steward_app::App,
    pub id: i64,
    pub name: String,
}

impl Scope {
    pub fn store(&self) -> &Store {
        self.app.store()
    }
}

/// `?connection=NAME` (or the first connection). `None` when there is no connection yet;
/// `NotFound` when the named one does not exist.
pub(crate) async fn scope(state: &AppState, name: Option<&str>) -> Result<Option<Scope>, AppError> {
    let conn = match name.filter(|n| !n.is_empty()) {
        Some(n) => state.app.connection(n).await?,
        None => match state.app.list_connections().await?.into_iter().next() {
            Some(c) => c,
            None => return Ok(None),
        },
    };
    Ok(Some(Scope {
        app: state.app.clone(),
        id: conn.id,
        name: conn.name,
    }))
}

/// Store failures are internal errors (their text goes to the log only).
pub(crate) fn db(e: steward_store::StoreError) -> AppError {
    AppError::internal(e)
}

/// `2025-03-01 12:00 UTC`, or `never`.
pub(crate) fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// The page for "nothing to show yet".
pub(crate) fn no_inventory(user: &CurrentUser) -> Markup {
    html! {
        section.card {
            p { "No Okta org is connected yet, or it has not been synced." }
            @if user.role.allows(Role::Admin) {
                p { a.button href="/settings/okta" { "Connect Okta" } }
            }
        }
    }
}

/// Previous/next links keeping the other query parameters.
pub(crate) fn pager(
    path: &str,
    params: &[(&str, String)],
    page: u32,
    page_size: u32,
    total: i64,
) -> Markup {
    let link = |p: u32| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        q.append_pair("page", &p.to_string());
        format!("{path}?{}", q.finish())
    };
    let shown_to = (i64::from(page) + 1) * i64::from(page_size);
    html! {
        div.pager {
            @if page > 0 { a href=(link(page - 1)) { "← Previous" } }
            span.muted { (total) " in all · page " (page + 1) }
            @if shown_to < total { a href=(link(page + 1)) { "Next →" } }
        }
    }
}

/// The `?connection=` parameter.
#[derive(Debug, Default, Deserialize)]
pub struct ConnParam {
    /// Connection name.
    #[serde(default)]
    pub connection: Option<String>,
}

/// The health figures of a run.
pub(crate) fn run_health(run: &SyncRun) -> Markup {
    html! {
        (run.stats.requests) " requests · " (run.stats.rate_limited) " rate-limited (429) · "
        (run.stats.errors) " errors"
    }
}

/// `GET /`: the dashboard (viewer).
pub async fn dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ConnParam>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let connections = state.app.list_connections().await?;
    let scope = scope(&state, q.connection.as_deref()).await?;
    let mut summary = None;
    if let Some(s) = &scope {
        let counts = s.store().counts(s.id).await.map_err(db)?;
        let last = s.store().last_run(s.id, None).await.map_err(db)?;
        let next = state
            .app
            .next_due(last.as_ref().and_then(|r| r.finished_at));
        summary = Some((counts, last, next, s.app.syncs().status(s.id)));
    }
    let running = summary
        .as_ref()
        .and_then(|x| x.3.as_ref())
        .is_some_and(|l| l.state == "running" || l.state == "queued");
    let body = html! {
        h1 { "Overview" }
        @if let (Some(s), Some((counts, last, next, live))) = (&scope, &summary) {
            section.card {
                h2 { "Inventory of " (s.name) }
                div.figures {
                    div { span.n { (counts.users()) } a href="/users" { "users" } }
                    div { span.n { (counts.groups()) } a href="/groups" { "groups" } }
                    div { span.n { (counts.apps()) } a href="/apps" { "apps" } }
                    div { span.n { (counts.memberships) } "memberships" }
                    div { span.n { (counts.app_users()) } "app assignments" }
                }
            }
            section.card {
                h2 { "Sync" }
                @if let Some(l) = live.as_ref().filter(|l| l.state == "running" || l.state == "queued") {
                    p.notice { "A " (l.kind.as_str()) " sync is " (l.state) ": " (l.resource) ", "
                        (l.requests) " requests. " a href="/sync" { "Progress" } }
                }
                @match last {
                    Some(run) => {
                        p { "Last sync: " (run.kind.as_str()) " " strong { (run.status) } " at "
                            (when(run.finished_at)) }
                        p { "Health of the last run: " (run_health(run)) }
                    }
                    None => p { "Not synced yet." }
                }
                p { "Next scheduled sync: " (when(Some(*next))) }
                @if user.role.allows(Role::Admin) && !running {
                    (sync::sync_now_form(&user, &s.name))
                }
            }
        } @else {
            (no_inventory(&user))
        }
        section.card {
            h2 { "Okta connections" }
            @if connections.is_empty() {
                p { "No Okta org is connected yet." }
                @if !user.role.allows(Role::Admin) {
                    p.muted { "An administrator connects Okta under Okta integration." }
                }
            } @else {
                ul {
                    @for c in &connections {
                        li { strong { (c.name) } " · " (c.domain) }
                    }
                }
            }
        }
    };
    let refresh = running.then_some(5);
    Ok(layout::page_refreshing("Overview", Some(&user), body, refresh).into_response())
}
