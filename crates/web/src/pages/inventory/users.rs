//! `GET /users` (search, status and department filters, pages) and `GET /users/{id}`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use steward_store::queries::UserQuery;

use super::{db, no_inventory, pager, scope, when};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::layout;
use crate::state::AppState;
use steward_app::Role;

/// Okta's user statuses, for the filter.
pub const STATUSES: &[&str] = &[
    "ACTIVE",
    "PROVISIONED",
    "STAGED",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

/// Users per page.
pub const PAGE_SIZE: u32 = 50;

/// `?search=&status=&department=&page=&connection=`.
#[derive(Debug, Default, Deserialize)]
pub struct UsersParams {
    /// Prefix of login, email, name or last name.
    #[serde(default)]
    pub search: Option<String>,
    /// Exact status.
    #[serde(default)]
    pub status: Option<String>,
    /// Exact department.
    #[serde(default)]
    pub department: Option<String>,
    /// Page from 0.
    #[serde(default)]
    pub page: Option<u32>,
    /// Connection name.
    #[serde(default)]
    pub connection: Option<String>,
    /// Page size (API only; the page uses 50).
    #[serde(default)]
    pub page_size: Option<u32>,
}

impl UsersParams {
    /// The store query.
    pub fn query(&self) -> UserQuery {
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        UserQuery {
            search: nonempty(&self.search),
            status: nonempty(&self.status),
            department: nonempty(&self.department),
            include_removed: false,
            page: self.page.unwrap_or(0),
            page_size: self.page_size.unwrap_or(PAGE_SIZE),
        }
    }
}

/// `GET /users`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<UsersParams>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let Some(s) = scope(&state, p.connection.as_deref()).await? else {
        return Ok(layout::page("Users", Some(&user), no_inventory(&user)).into_response());
    };
    let q = UsersParams {
        page_size: None,
        ..p
    }
    .query();
    let page = s.store().list_users(s.id, &q).await.map_err(db)?;
    let departments = s.store().departments(s.id).await.map_err(db)?;
    let search = q.search.clone().unwrap_or_default();
    let status = q.status.clone().unwrap_or_default();
    let department = q.department.clone().unwrap_or_default();
    let params = [
        ("search", search.clone()),
        ("status", status.clone()),
        ("department", department.clone()),
        ("connection", s.name.clone()),
    ];
    let body = html! {
        h1 { "Users" }
        section.card {
            form.filters method="get" action="/users" {
                input type="hidden" name="connection" value=(s.name);
                div { label for="search" { "Search" }
                    input type="text" id="search" name="search" value=(search)
                        placeholder="login, email, first or last name"; }
                div { label for="status" { "Status" }
                    select id="status" name="status" {
                        option value="" { "Any" }
                        @for st in STATUSES { option value=(st) selected[status == *st] { (st) } }
                    } }
                div { label for="department" { "Department" }
                    select id="department" name="department" {
                        option value="" { "Any" }
                        @for d in &departments { option value=(d) selected[department == *d] { (d) } }
                    } }
                button type="submit" { "Search" }
            }
        }
        section.card {
            table {
                thead { tr { th { "Login" } th { "Name" } th { "Status" } th { "Department" } th { "Last login" } } }
                tbody {
                    @for u in &page.items {
                        tr {
                            td { a href={"/users/" (u.id) "?connection=" (s.name)} { (u.login) } }
                            td { (u.first_name.as_deref().unwrap_or("")) " " (u.last_name.as_deref().unwrap_or("")) }
                            td { (u.status) }
                            td { (u.department.as_deref().unwrap_or("")) }
                            td { (when(u.last_login)) }
                        }
                    }
                }
            }
            @if page.items.is_empty() { p.muted { "No user matches." } }
            (pager("/users", &params, page.page, page.page_size, page.total))
        }
    };
    Ok(layout::page("Users", Some(&user), body).into_response())
}

/// `GET /users/{id}`: profile, groups, apps (how each is assigned, last SSO).
pub async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(p): Query<super::ConnParam>,
) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let s = scope(&state, p.connection.as_deref())
        .await?
        .ok_or(AppError::NotFound)?;
    let d = s
        .store()
        .user_detail(s.id, &id)
        .await
        .map_err(db)?
        .ok_or(AppError::NotFound)?;
    let u = &d.user;
    let name = format!(
        "{} {}",
        u.first_name.as_deref().unwrap_or(""),
        u.last_name.as_deref().unwrap_or("")
    );
    let conn = &s.name;
    let body = html! {
        h1 { (u.login) }
        section.card {
            table {
                tr { th { "Name" } td { (name) } }
                tr { th { "Email" } td { (u.email.as_deref().unwrap_or("")) } }
                tr { th { "Status" } td { (u.status) @if d.removed_at.is_some() { " (removed from Okta)" } } }
                tr { th { "Department" } td { (u.department.as_deref().unwrap_or("")) } }
                tr { th { "Title" } td { (u.title.as_deref().unwrap_or("")) } }
                tr { th { "Last login" } td { (when(u.last_login)) } }
                tr { th { "Okta id" } td { code { (u.id) } } }
            }
        }
        section.card {
            h2 { "Groups (" (d.groups.len()) ")" }
            ul {
                @for g in &d.groups {
                    li { a href={"/groups/" (g.id) "?connection=" (conn)} { (g.name) } " " span.muted { (g.group_type) } }
                }
            }
        }
        section.card {
            h2 { "Apps (" (d.apps.len()) ")" }
            table {
                thead { tr { th { "App" } th { "Assigned" } th { "Last SSO" } th { "SSOs (30 d)" } } }
                tbody {
                    @for a in &d.apps {
                        tr {
                            td { a href={"/apps/" (a.app_id) "?connection=" (conn)} { (a.label) } }
                            td {
                                @if a.scope.as_deref() == Some("USER") { "directly" }
                                @if !a.via_groups.is_empty() {
                                    @if a.scope.as_deref() == Some("USER") { "; " }
                                    "via group "
                                    @for (i, g) in a.via_groups.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        a href={"/groups/" (g) "?connection=" (conn)} {
                                            (d.groups.iter().find(|x| &x.id == g).map_or(g.as_str(), |x| x.name.as_str()))
                                        }
                                    }
                                }
                            }
                            td { (when(a.last_sso_at)) }
                            td { (a.sso_count_30d) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&u.login, Some(&user), body).into_response())
}
