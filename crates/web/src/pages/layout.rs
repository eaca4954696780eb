//! The page frame (head, navigation, footer), the error page and small shared pieces.

use axum::http::StatusCode;
use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::auth::CurrentUser;
use steward_app::Role;

/// The stylesheet, compiled in.
pub const STYLE_CSS: &str = include_str!("../../assets/style.css");

/// A full page.
pub fn page(title: &str, user: Option<&CurrentUser>, body: Markup) -> Html<String> {
    page_refreshing(title, user, body, None)
}

/// A full page that reloads itself every `refresh` seconds (live sync progress without
/// JavaScript: the CSP allows no script).
pub fn page_refreshing(
    title: &str,
    user: Option<&CurrentUser>,
    body: Markup,
    refresh: Option<u32>,
) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    @if let Some(secs) = refresh {
                        meta http-equiv="refresh" content=(secs);
                    }
                    title { (title) " · Steward" }
                    link rel="stylesheet" href="/static/style.css";
                }
                body {
                    header.top {
                        a.brand href="/" { "Steward" }
                        @if let Some(u) = user {
                            nav {
                                a href="/" { "Overview" }
                                a href="/users" { "Users" }
                                a href="/groups" { "Groups" }
                                a href="/apps" { "Apps" }
                                a href="/sync" { "Sync" }
                                @if u.role.allows(Role::Admin) {
                                    a href="/settings/okta" { "Okta integration" }
                                    a href="/settings/accounts" { "Accounts" }
                                    a href="/settings/tokens" { "API tokens" }
                                    a href="/settings/audit" { "Audit" }
                                }
                            }
                            form.logout method="post" action="/logout" {
                                (csrf_field(u))
                                a.who href="/account/password" title="Change your password" { (u.username) " (" (u.role.as_str()) ")" }
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(user: &CurrentUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf()); }
}

/// The error page: status, short code, message and request id; never a cause chain.
pub fn error_page(status: StatusCode, code: &str, message: &str, request_id: &str) -> Html<String> {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        title,
        None,
        html! {
            section.card.error {
                h1 { (status.as_u16()) " " (title) }
                p { (message) }
                p.muted { "Code " code { (code) } " · request id " code { (request_id) } }
                p { a href="/" { "Back to Steward" } }
            }
        },
    )
}
