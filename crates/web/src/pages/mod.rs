//! Server-rendered pages (maud templates, compiled in).

pub mod layout;
pub mod okta;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::repo::Role;
use crate::state::AppState;

/// `GET /`: the overview (any role).
pub async fn home(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Role::Viewer)?;
    let connections = state.repos.connections.list_connections().await?;
    let body = html! {
        h1 { "Overview" }
        section.card {
            h2 { "Okta connections" }
            @if connections.is_empty() {
                p { "No Okta org is connected yet." }
                @if user.role.allows(Role::Admin) {
                    p { a.button href="/settings/okta" { "Connect Okta" } }
                } @else {
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
    Ok(layout::page("Overview", Some(&user), body).into_response())
}

/// `GET /static/style.css`.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        layout::STYLE_CSS,
    )
        .into_response()
}

/// `GET /healthz` (no authentication).
pub async fn healthz() -> &'static str {
    "ok"
}
