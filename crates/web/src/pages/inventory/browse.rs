//! `GET /groups`, `/groups/{id}`, `/apps`, `/apps/{id}`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steward_store::browse::ListQuery;

use super::{db, no_inventory, pager, scope, when};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::layout;
use crate::state::AppState;
use steward_app::Role;

/// `?search=&page=&connection=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Name (groups) or label (apps) prefix.
    #[serde(default)]
    pub search: Option<String>,
    /// Page from 0.
    #[serde(default)]
    pub page: Option<u32>,
    /// Connection name.
    #[serde(default)]
    pub connection: Option<String>,
    /// Page size (API; pages use 50).
    #[serde(default)]
    pub page_size: Option<u32>,
}

impl ListParams {
    /// The store query.
    pub fn query(&self) -> ListQuery {
        ListQuery {
            search: self.search.clone().filter(|s| !s.trim().is_empty()),
            page: self.page.unwrap_or(0),
            page_size: self.page_size.unwrap_or(50),
        }
    }
}

fn search_form(action: &str, conn: &str, search: &str, what: &str) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            input type="hidden" name="connection" value=(conn);
            div { label for="search" { "Search" }
                input type="text" id="search" name="search" value=(search) placeholder=(what); }
            button type="submit" { "Search" }
        }
    }
}

/// `GET /groups`.
pub async fn groups(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let Some(s) = scope(&state, p.connection.as_deref()).await? else {
        return Ok(layout::page("Groups", Some(&user), no_inventory(&user)).into_response());
    };
    let q = ListParams {
        page_size: None,
        ..p
    }
    .query();
    let page = s.store().list_groups(s.id, &q).await.map_err(db)?;
    let search = q.search.clone().unwrap_or_default();
    let params = [("search", search.clone()), ("connection", s.name.clone())];
    let body = html! {
        h1 { "Groups" }
        section.card { (search_form("/groups", &s.name, &search, "group name")) }
        section.card {
            table {
                thead { tr { th { "Group" } th { "Type" } th { "Members" } th { "Apps" } } }
                tbody {
                    @for g in &page.items {
                        tr {
                            td { a href={"/groups/" (g.id) "?connection=" (s.name)} { (g.name) } }
                            td { (g.group_type) } td { (g.members) } td { (g.apps) }
                        }
                    }
                }
            }
            (pager("/groups", &params, page.page, page.page_size, page.total))
        }
    };
    Ok(layout::page("Groups", Some(&user), body).into_response())
}

/// `GET /groups/{id}`: members (paged) and apps.
pub async fn group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = scope(&state, p.connection.as_deref())
        .await?
        .ok_or(AppError::NotFound)?;
    let page = p.page.unwrap_or(0);
    let d = s
        .store()
        .group_detail(s.id, &id, page, 100)
        .await
        .map_err(db)?
        .ok_or(AppError::NotFound)?;
    let conn = &s.name;
    let body = html! {
        h1 { (d.group.name) }
        section.card {
            p { (d.group.group_type) " · " (d.group.members) " members" }
            @if let Some(desc) = &d.group.description { p.muted { (desc) } }
        }
        section.card {
            h2 { "Apps (" (d.apps.len()) ")" }
            ul { @for a in &d.apps { li { a href={"/apps/" (a.id) "?connection=" (conn)} { (a.name) } } } }
        }
        section.card {
            h2 { "Members" }
            table {
                thead { tr { th { "Login" } th { "Name" } th { "Status" } } }
                tbody {
                    @for m in &d.members.items {
                        tr {
                            td { a href={"/users/" (m.id) "?connection=" (conn)} { (m.login) } }
                            td { (m.name) } td { (m.status) }
                        }
                    }
                }
            }
            (pager(&format!("/groups/{}", d.group.id), &[("connection", conn.clone())],
                d.members.page, d.members.page_size, d.members.total))
        }
    };
    Ok(layout::page(&d.group.name, Some(&user), body).into_response())
}

/// `GET /apps`: apps with assignments and usage (active in 30 and 90 days, never used).
pub async fn apps(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let Some(s) = scope(&state, p.connection.as_deref()).await? else {
        return Ok(layout::page("Apps", Some(&user), no_inventory(&user)).into_response());
    };
    let q = ListParams {
        page_size: None,
        ..p
    }
    .query();
    let page = s.store().list_apps(s.id, &q).await.map_err(db)?;
    let search = q.search.clone().unwrap_or_default();
    let params = [("search", search.clone()), ("connection", s.name.clone())];
    let body = html! {
        h1 { "Apps" }
        section.card { (search_form("/apps", &s.name, &search, "app label")) }
        section.card {
            table {
                thead { tr { th { "App" } th { "Status" } th { "Users" } th { "Groups" }
                    th { "Active 30 d" } th { "Active 90 d" } th { "Never used" } } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td { a href={"/apps/" (a.id) "?connection=" (s.name)} { (a.label) } }
                            td { (a.status) } td { (a.assigned_users) } td { (a.assigned_groups) }
                            td { (a.active_30d) } td { (a.active_90d) } td { (a.never_used) }
                        }
                    }
                }
            }
            (pager("/apps", &params, page.page, page.page_size, page.total))
        }
    };
    Ok(layout::page("Apps", Some(&user), body).into_response())
}

/// `GET /apps/{id}`: assignees (paged, with last SSO) and groups.
pub async fn app(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = scope(&state, p.connection.as_deref())
        .await?
        .ok_or(AppError::NotFound)?;
    let page = p.page.unwrap_or(0);
    let d = s
        .store()
        .app_detail(s.id, &id, page, 100)
        .await
        .map_err(db)?
        .ok_or(AppError::NotFound)?;
    let conn = &s.name;
    let a = &d.app;
    let body = html! {
        h1 { (a.label) }
        section.card {
            div.figures {
                div { span.n { (a.assigned_users) } "users assigned" }
                div { span.n { (a.active_30d) } "active in 30 days" }
                div { span.n { (a.active_90d) } "active in 90 days" }
                div { span.n { (a.never_used) } "never used" }
            }
            p.muted { (a.status) " · " (a.sign_on_mode.as_deref().unwrap_or("")) }
        }
        section.card {
            h2 { "Groups (" (d.groups.len()) ")" }
            ul { @for g in &d.groups { li { a href={"/groups/" (g.id) "?connection=" (conn)} { (g.name) } } } }
        }
        section.card {
            h2 { "Assignees" }
            table {
                thead { tr { th { "Login" } th { "Name" } th { "Assigned" } th { "Last SSO" } th { "SSOs (30 d)" } } }
                tbody {
                    @for m in &d.assignees.items {
                        tr {
                            td { a href={"/users/" (m.id) "?connection=" (conn)} { (m.login) } }
                            td { (m.name) }
                            td { @if m.scope.as_deref() == Some("GROUP") { "via group" } @else { "directly" } }
                            td { (when(m.last_sso_at)) } td { (m.sso_count_30d) }
                        }
                    }
                }
            }
            (pager(&format!("/apps/{}", a.id), &[("connection", conn.clone())],
                d.assignees.page, d.assignees.page_size, d.assignees.total))
        }
    };
    Ok(layout::page(&a.label, Some(&user), body).into_response())
}
