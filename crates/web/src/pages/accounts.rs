//! Account management (admins): `GET /settings/accounts` lists the accounts; forms add one,
//! change a role, disable or enable, and reset a password. A new or reset password is
//! generated here and shown once on the response page, never stored in clear or logged.
//! `GET|POST /account/password` lets anyone signed in change their own password.
//!
//! The guards (the last enabled admin, disabling oneself, sessions ending with a disable or
//! a password change) and the audit events are steward-app's; refusals are shown on the page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use steward_app::accounts::AccountChange;
use steward_app::{Account, AccountId, Error, Role};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::inventory::when;
use crate::pages::layout::{self, csrf_field};
use crate::secret::{Secret, random_token};
use crate::state::AppState;

const ROLES: [Role; 3] = [Role::Viewer, Role::Approver, Role::Admin];

/// What the page says above the list.
enum Notice {
    Done(String),
    Failed(String),
    /// A generated password for `username`, shown once.
    Password {
        username: String,
        password: Secret,
    },
}

/// `GET /settings/accounts`.
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    render(&state, &user, None).await
}

/// The add-account form.
#[derive(Debug, Deserialize)]
pub struct NewAccountForm {
    username: String,
    role: String,
}

/// `POST /settings/accounts`: creates the account with a generated password, shown once.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return render(&state, &user, Some(Notice::Failed(e))).await,
    };
    let password = random_token()?;
    let account = match state
        .app
        .create_account(&user.actor(), &form.username, &password, role)
        .await
    {
        Ok(a) => a,
        Err(Error::BadRequest(msg) | Error::Conflict(msg)) => {
            return render(&state, &user, Some(Notice::Failed(msg))).await;
        }
        Err(e) => return Err(e.into()),
    };
    let notice = Notice::Password {
        username: account.username,
        password,
    };
    render(&state, &user, Some(notice)).await
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

/// `POST /settings/accounts/{id}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return render(&state, &user, Some(Notice::Failed(e))).await,
    };
    let account = match change(&state, &user, id, AccountChange::Role(role)).await? {
        Ok(a) => a,
        Err(refused) => return Ok(refused),
    };
    if account.id == user.account && !role.allows(Role::Admin) {
        // The admin demoted themselves: this page is no longer theirs.
        return Ok(Redirect::to("/").into_response());
    }
    let msg = format!("{} is now {}.", account.username, role.as_str());
    render(&state, &user, Some(Notice::Done(msg))).await
}

/// `POST /settings/accounts/{id}/disable`: the account can't sign in; its sessions end and
/// its API tokens stop working.
pub async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_disabled(state, user, id, true).await
}

/// `POST /settings/accounts/{id}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    set_disabled(state, user, id, false).await
}

async fn set_disabled(
    state: AppState,
    user: CurrentUser,
    id: i64,
    disabled: bool,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let (c, verb) = if disabled {
        (AccountChange::Disable, "disabled")
    } else {
        (AccountChange::Enable, "enabled")
    };
    let account = match change(&state, &user, id, c).await? {
        Ok(a) => a,
        Err(refused) => return Ok(refused),
    };
    let msg = format!("{} is {verb}.", account.username);
    render(&state, &user, Some(Notice::Done(msg))).await
}

/// `POST /settings/accounts/{id}/reset-password`: a new generated password, shown once; the
/// old one stops working and the account's sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let account = find(&state, id).await?;
    let password = state.app.reset_password(&user.actor(), account.id).await?;
    if account.id == user.account {
        // Their own session just ended with the others.
        return Ok(Redirect::to("/login").into_response());
    }
    let notice = Notice::Password {
        username: account.username,
        password,
    };
    render(&state, &user, Some(notice)).await
}

/// `GET /account/password`: the form to change one's own password.
pub async fn password_form(user: CurrentUser) -> Result<Response, AppError> {
    user.session_key().ok_or(AppError::Forbidden)?;
    Ok(password_page(&user, None).into_response())
}

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    current: Secret,
    new: Secret,
    confirm: Secret,
}

/// `POST /account/password`: checks the current password, sets the new one (at least 12
/// characters), then ends every session of the account, this one included.
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    user.session_key().ok_or(AppError::Forbidden)?;
    let fail = |msg: &str| Ok(password_page(&user, Some(msg)).into_response());
    if form.new.expose() != form.confirm.expose() {
        return fail("the new password and its confirmation differ");
    }
    match state
        .app
        .change_own_password(&user.actor(), user.account, form.current, &form.new)
        .await
    {
        Ok(()) => Ok(Redirect::to("/login").into_response()),
        Err(Error::BadRequest(msg)) => fail(&msg),
        Err(e) => Err(e.into()),
    }
}

fn password_page(user: &CurrentUser, error: Option<&str>) -> axum::response::Html<String> {
    let body = html! {
        h1 { "Change your password" }
        section.card {
            @if let Some(msg) = error {
                p.notice.bad role="alert" { (msg) }
            }
            p.muted { "At least 12 characters. Every session of your account ends; sign in again with the new password." }
            form method="post" action="/account/password" {
                (csrf_field(user))
                label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                label { "New password" input type="password" name="new" autocomplete="new-password" minlength="12" required; }
                label { "New password, again" input type="password" name="confirm" autocomplete="new-password" minlength="12" required; }
                button type="submit" { "Change password" }
            }
        }
    };
    layout::page("Change your password", Some(user), body)
}

async fn find(state: &AppState, id: i64) -> Result<Account, AppError> {
    state
        .app
        .find_account(AccountId(id))
        .await?
        .ok_or(AppError::NotFound)
}

/// Applies `c` to account `id`: the changed account, or the page saying why it was refused
/// (the last admin, disabling oneself).
async fn change(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    c: AccountChange,
) -> Result<Result<Account, Response>, AppError> {
    match state
        .app
        .change_account(&user.actor(), user.account, AccountId(id), c)
        .await
    {
        Ok(a) => Ok(Ok(a)),
        Err(Error::Conflict(msg) | Error::BadRequest(msg)) => {
            Ok(Err(render(state, user, Some(Notice::Failed(msg))).await?))
        }
        Err(e) => Err(e.into()),
    }
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<Notice>,
) -> Result<Response, AppError> {
    let accounts = state.app.list_accounts().await?;
    let body = html! {
        h1 { "Accounts" }
        @if let Some(n) = &notice { (notice_markup(n)) }
        section.card {
            p.muted {
                "Viewers read the inventory; approvers also approve access requests; admins "
                "also manage the Okta connection, accounts and API tokens."
            }
            table #accounts {
                thead { tr { th { "User name" } th { "Role" } th { "Status" } th { "Created" } th { "Actions" } } }
                tbody {
                    @for a in &accounts { (account_row(user, a)) }
                }
            }
        }
        section.card {
            h2 { "Add an account" }
            form #new-account method="post" action="/settings/accounts" {
                (csrf_field(user))
                label { "User name" input type="text" name="username" required maxlength="64" autocomplete="off"; }
                label { "Role" (role_select(Role::Viewer)) }
                button type="submit" { "Add account" }
            }
            p.muted { "Steward generates the password and shows it once." }
        }
    };
    Ok(layout::page("Accounts", Some(user), body).into_response())
}

fn notice_markup(n: &Notice) -> Markup {
    match n {
        Notice::Done(msg) => html! { p.notice.ok role="status" { (msg) } },
        Notice::Failed(msg) => html! { p.notice.bad role="alert" { (msg) } },
        Notice::Password { username, password } => html! {
            div.notice.ok #one-time-password role="status" {
                p { "Password for " strong { (username) } ", shown only now:" }
                pre.copy { (password.expose()) }
                p.muted {
                    "Hand it over through a safe channel. They can change it after signing in, "
                    "under " code { "/account/password" } "."
                }
            }
        },
    }
}

fn account_row(user: &CurrentUser, a: &Account) -> Markup {
    let base = format!("/settings/accounts/{}", a.id.0);
    html! {
        tr id={"account-" (a.id.0)} {
            td { (a.username) @if a.id == user.account { " (you)" } }
            td { (a.role.as_str()) }
            td { @if a.disabled { "disabled" } @else { "active" } }
            td { (when(Some(a.created))) }
            td.actions {
                form.inline method="post" action={(base) "/role"} {
                    (csrf_field(user))
                    (role_select(a.role))
                    button type="submit" { "Set role" }
                }
                @if a.disabled {
                    form.inline method="post" action={(base) "/enable"} {
                        (csrf_field(user))
                        button type="submit" { "Enable" }
                    }
                } @else if a.id != user.account {
                    form.inline method="post" action={(base) "/disable"} {
                        (csrf_field(user))
                        button.danger type="submit" { "Disable" }
                    }
                }
                form.inline method="post" action={(base) "/reset-password"} {
                    (csrf_field(user))
                    button type="submit" { "Reset password" }
                }
            }
        }
    }
}

fn role_select(selected: Role) -> Markup {
    html! {
        select name="role" {
            @for r in ROLES {
                option value=(r.as_str()) selected[r == selected] { (r.as_str()) }
            }
        }
    }
}
