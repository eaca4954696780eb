//! `/settings/okta/{name}/rotate` and `/disconnect`: key rotation (add a new key, verify it
//! with the doctor, switch; the admin then deletes the old key in Okta) and disconnect.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use okta_client::PrivateKeyInput;
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use super::{generate_key, input_error, render_connection, rotate_purpose, session_of};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::{AppState, PendingKey};
use steward_app::Role;

/// The rotation form.
#[derive(Deserialize, Default)]
pub struct RotateForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    private_key: String,
}

impl Drop for RotateForm {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

/// `POST /settings/okta/{name}/rotate`: `generate`, `paste`, `verify` or `cancel`.
pub async fn rotate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    state.app.connection(&name).await?;
    let session = session_of(&user)?.to_owned();
    let purpose = rotate_purpose(&name);
    let now = state.app.now();
    let notice = match form.action.as_str() {
        "generate" => {
            state.pending.put(&session, &purpose, generate_key(&state)?);
            None
        }
        "paste" => match PrivateKeyInput::parse(&form.private_key, None) {
            Ok(key) => {
                state.pending.put(
                    &session,
                    &purpose,
                    PendingKey {
                        key,
                        generated: false,
                        at: now,
                    },
                );
                None
            }
            Err(e) => {
                let fe = input_error(&e);
                Some((false, format!("{} {}", fe.message, fe.fix)))
            }
        },
        "cancel" => {
            state.pending.remove(&session, &purpose);
            None
        }
        "verify" => {
            let Some(p) = state.pending.get(&session, &purpose, now) else {
                return Err(AppError::BadRequest(
                    "no new key to verify: add one first".into(),
                ));
            };
            let outcome = state
                .app
                .rotate_key(
                    &user.actor(),
                    &name,
                    Zeroizing::new(p.key.key().to_private_jwk().to_string()),
                    p.key.kid().map(str::to_owned),
                )
                .await?;
            if outcome.connection.is_some() {
                state.pending.remove(&session, &purpose);
                let msg = "Switched to the new key. Now deactivate and delete the old key in Okta."
                    .to_owned();
                return render_connection(
                    &state,
                    &user,
                    &name,
                    Some(&outcome.report),
                    Some((true, msg)),
                )
                .await;
            }
            return render_connection(
                &state,
                &user,
                &name,
                Some(&outcome.report),
                Some((
                    false,
                    "The new key did not pass; the connection still uses the old key.".into(),
                )),
            )
            .await;
        }
        _ => return Err(AppError::BadRequest("unknown action".into())),
    };
    render_connection(&state, &user, &name, None, notice).await
}

/// `POST /settings/okta/{name}/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    state.app.disconnect(&user.actor(), &name).await?;
    if let Some(s) = user.session_key() {
        state.pending.remove(s, &rotate_purpose(&name));
    }
    Ok(Redirect::to("/settings/okta").into_response())
}
