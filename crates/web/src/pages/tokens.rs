//! `GET /settings/tokens`: the API tokens (name, role, owner, created, last used), and
//! `POST /settings/tokens/{id}/revoke`. Admins only; the form carries the session's CSRF
//! token (checked by the auth middleware like every other form). Tokens are created through
//! `POST /api/v1/tokens`; their secret is shown only then, so this page never has it.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::inventory::when;
use crate::pages::layout::{self, csrf_field};
use crate::repo::{AuditEvent, Role, TokenId};
use crate::state::AppState;

/// `GET /settings/tokens`.
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let tokens = state.repos.tokens.list_tokens().await?;
    let mut owners = HashMap::new();
    for t in &tokens {
        if let std::collections::hash_map::Entry::Vacant(e) = owners.entry(t.created_by) {
            let name = state
                .repos
                .accounts
                .find_account(t.created_by)
                .await?
                .map_or_else(|| format!("account {}", t.created_by.0), |a| a.username);
            e.insert(name);
        }
    }
    let body = html! {
        h1 { "API tokens" }
        section.card {
            p.muted {
                "Requests with a token act with its role. Create tokens with "
                code { "POST /api/v1/tokens" } "; the secret is shown only then. "
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
                                        (csrf_field(&user))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("API tokens", Some(&user), body).into_response())
}

/// `POST /settings/tokens/{id}/revoke`: deletes the token, then back to the list.
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let tokens = state.repos.tokens.list_tokens().await?;
    let token = tokens
        .into_iter()
        .find(|t| t.id == TokenId(id))
        .ok_or(AppError::NotFound)?;
    if !state.repos.tokens.revoke_token(token.id).await? {
        return Err(AppError::NotFound);
    }
    state
        .repos
        .audit
        .append_audit(AuditEvent {
            at: state.clock.now(),
            actor: user.actor(),
            action: "token.revoke".into(),
            target: token.name.clone(),
            detail: format!("id {}, role {}", id, token.role.as_str()),
        })
        .await?;
    tracing::info!(token = %token.name, id, "API token revoked");
    Ok(Redirect::to("/settings/tokens").into_response())
}
