//! `GET /settings/tokens`: the API tokens (name, role, owner, created, last used);
//! `POST /settings/tokens` creates one (its secret is shown on that response only, as by
//! `POST /api/v1/tokens`); `POST /settings/tokens/{id}/revoke` revokes one. Admins only; the
//! forms carry the session's CSRF token (checked by the auth middleware like every other
//! form).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use steward_app::{Error, Role, TokenId};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::inventory::when;
use crate::pages::layout::{self, csrf_field};
use crate::secret::Secret;
use crate::state::AppState;

/// `GET /settings/tokens`.
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    render(&state, &user, None).await
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    name: String,
    role: String,
}

/// What the page says above the list: an error, or a new token's secret (shown once).
enum Notice {
    Failed(String),
    Created { name: String, secret: Secret },
}

/// `POST /settings/tokens`: creates a token; its secret is shown on this response only.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return render(&state, &user, Some(Notice::Failed(e))).await,
    };
    let creator = state
        .app
        .find_account(user.account)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (token, secret) = match state
        .app
        .create_token(&user.actor(), &creator, &form.name, role)
        .await
    {
        Ok(t) => t,
        Err(Error::BadRequest(msg)) => {
            return render(&state, &user, Some(Notice::Failed(msg))).await;
        }
        Err(e) => return Err(e.into()),
    };
    let notice = Notice::Created {
        name: token.name,
        secret,
    };
    render(&state, &user, Some(notice)).await
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<Notice>,
) -> Result<Response, AppError> {
    let tokens = state.app.list_tokens().await?;
    let mut owners = HashMap::new();
    for t in &tokens {
        if let std::collections::hash_map::Entry::Vacant(e) = owners.entry(t.created_by) {
            let name = state
                .app
                .find_account(t.created_by)
                .await?
                .map_or_else(|| format!("account {}", t.created_by.0), |a| a.username);
            e.insert(name);
        }
    }
    let body = html! {
        h1 { "API tokens" }
        @match &notice {
            Some(Notice::Failed(msg)) => p.notice.bad role="alert" { (msg) },
            Some(Notice::Created { name, secret }) => div.notice.ok #new-token role="status" {
                p { "Token " strong { (name) } ", shown only now:" }
                pre.copy { (secret.expose()) }
                p.muted { "Send it as " code { "Authorization: Bearer <token>" } "." }
            },
            None => {},
        }
        section.card {
            p.muted {
                "Requests with a token act with its role. The secret is shown once, when the "
                "token is created (here or with " code { "POST /api/v1/tokens" } "). "
                "Revoking is immediate and cannot be undone."
            }
            @if tokens.is_empty() {
                p.muted #no-tokens { "No API tokens." }
            } @else {
                table #tokens {
                    thead { tr { th { "Name" } th { "Role" } th { "Owner" } th { "Created" } th { "Last used" } th {} } }
                    tbody {
                        @for t in &tokens {
                            tr id={"token-" (t.id.0)} {
                                td { (t.name) }
                                td { (t.role.as_str()) }
                                td { (owners.get(&t.created_by).map_or("", String::as_str)) }
                                td { (when(Some(t.created))) }
                                td { (when(t.last_used)) }
                                td {
                                    form method="post" action={"/settings/tokens/" (t.id.0) "/revoke"} {
                                        (csrf_field(user))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Create a token" }
            form #new-token-form method="post" action="/settings/tokens" {
                (csrf_field(user))
                label { "Name (what it is for)" input type="text" name="name" required maxlength="64" autocomplete="off"; }
                label { "Role" select name="role" {
                    @for r in [Role::Viewer, Role::Approver, Role::Admin] {
                        option value=(r.as_str()) { (r.as_str()) }
                    }
                } }
                button type="submit" { "Create token" }
            }
        }
    };
    Ok(layout::page("API tokens", Some(user), body).into_response())
}

/// `POST /settings/tokens/{id}/revoke`: deletes the token, then back to the list.
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let token = state.app.revoke_token(&user.actor(), TokenId(id)).await?;
    tracing::info!(token = %token.name, id, "API token revoked");
    Ok(Redirect::to("/settings/tokens").into_response())
}
