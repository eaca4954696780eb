//! `/settings/okta`: the Okta integration wizard and each connection's page (admin only).
//!
//! A pasted or generated private key is parsed at once and kept in server memory for the
//! session ([`crate::state::PendingKeys`]): the form is re-shown without it, with
//! "key received (kid, thumbprint)", so a mistake in another field never forces a re-paste
//! and the key is never echoed into a page.

mod rotate;
mod view;

pub use rotate::{disconnect, rotate};

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use okta_client::{ClientId, DpopMode, Field, InputError, OktaDomain, PrivateKeyInput};
use serde::Deserialize;
use steward_doctor::SetupStep;
use steward_jose::PrivateKey;
use zeroize::Zeroize;

use steward_app::connections::{ConnectionRequest, validate_name};
use steward_app::{Error, Role};
use zeroize::Zeroizing;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::layout::page;
use crate::state::{AppState, PendingKey};
use view::{FieldError, KeyInfo, Wizard};

const NEW: &str = "new";

fn rotate_purpose(name: &str) -> String {
    format!("rotate:{name}")
}

/// The wizard's fields. The key text is zeroized on drop and never rendered.
#[derive(Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    dpop: String,
    #[serde(default)]
    action: String,
}

impl Drop for SetupForm {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

/// The step an input error belongs to (same mapping as the doctor's).
fn step_of(e: &InputError) -> SetupStep {
    match e.field() {
        Field::Domain => SetupStep::OktaDomain,
        Field::ClientId => SetupStep::ClientId,
        Field::KeyId => SetupStep::AddKey,
        Field::Dpop => SetupStep::Dpop,
        _ => SetupStep::CopyPrivateKey,
    }
}

fn input_error(e: &InputError) -> FieldError {
    FieldError {
        message: format!("{}.", capitalize(&e.to_string())),
        fix: e.fix(),
        step: Some(step_of(e)),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn key_info(p: &PendingKey) -> KeyInfo {
    KeyInfo {
        kid: p.key.kid().map(str::to_owned),
        thumbprint: p.key.key().thumbprint(),
        generated: p.generated,
        public_jwk: p
            .generated
            .then(|| p.key.key().public_jwk().to_json().to_string()),
    }
}

/// A new RSA-2048 pair with kid = its RFC 7638 thumbprint.
fn generate_key(state: &AppState) -> Result<PendingKey, AppError> {
    let mut key = PrivateKey::generate_rsa(2048).map_err(AppError::internal)?;
    let kid = key.thumbprint();
    key.set_kid(Some(kid));
    Ok(PendingKey {
        key: PrivateKeyInput::from_key(key),
        generated: true,
        at: state.app.now(),
    })
}

fn session_of(user: &CurrentUser) -> Result<&str, AppError> {
    // Pages are only reachable with a session (tokens are API-only).
    user.session_key().ok_or(AppError::Forbidden)
}

async fn render_wizard(
    state: &AppState,
    user: &CurrentUser,
    w: Wizard,
) -> Result<Html<String>, AppError> {
    let connections = state.app.list_connections().await?;
    Ok(page(
        "Okta integration",
        Some(user),
        view::wizard(user, &w, &connections),
    ))
}

/// `GET /settings/okta`.
pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let session = session_of(&user)?;
    let w = Wizard {
        key: state
            .pending
            .get(session, NEW, state.app.now())
            .as_ref()
            .map(key_info),
        ..Wizard::default()
    };
    Ok(render_wizard(&state, &user, w).await?.into_response())
}

/// `POST /settings/okta`: `action` = `generate` (Steward makes the key pair) or `save`
/// (validate, run the doctor, save when every check passes).
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let session = session_of(&user)?.to_owned();
    let now = state.app.now();
    let mut w = Wizard {
        name: form.name.trim().to_owned(),
        domain: form.domain.trim().to_owned(),
        client_id: form.client_id.trim().to_owned(),
        key_id: form.key_id.trim().to_owned(),
        dpop: form.dpop.trim().to_owned(),
        ..Wizard::default()
    };
    let mut errors = BTreeMap::new();

    // The key: a new paste replaces the pending one; a valid one is kept server-side.
    if form.action == "generate" {
        state.pending.put(&session, NEW, generate_key(&state)?);
    } else if !form.private_key.trim().is_empty() {
        let kid = Some(w.key_id.as_str()).filter(|k| !k.is_empty());
        match PrivateKeyInput::parse(&form.private_key, kid) {
            Ok(key) => state.pending.put(
                &session,
                NEW,
                PendingKey {
                    key,
                    generated: false,
                    at: now,
                },
            ),
            Err(e) => {
                let field = if e.field() == Field::KeyId {
                    "key_id"
                } else {
                    "private_key"
                };
                errors.insert(field, input_error(&e));
            }
        }
    }
    let pending = state.pending.get(&session, NEW, now);
    w.key = pending.as_ref().map(key_info);
    if form.action == "generate" {
        w.errors = errors;
        return Ok(render_wizard(&state, &user, w).await?.into_response());
    }

    let name = validate_name(&w.name);
    if let Err(e) = &name {
        errors.insert(
            "name",
            FieldError {
                message: format!("{}.", capitalize(&e.to_string())),
                fix: String::new(),
                step: None,
            },
        );
    }
    if let Err(e) = OktaDomain::parse(&w.domain, state.config.allow_insecure_loopback) {
        errors.insert("domain", input_error(&e));
    }
    if let Err(e) = ClientId::parse(&w.client_id) {
        errors.insert("client_id", input_error(&e));
    }
    let dpop = DpopMode::from_str(&w.dpop);
    if let Err(e) = &dpop {
        errors.insert("dpop", input_error(e));
    }
    if pending.is_none() && !errors.contains_key("private_key") && !errors.contains_key("key_id") {
        errors.insert(
            "private_key",
            input_error(&InputError::Empty {
                field: Field::PrivateKey,
            }),
        );
    }
    let (Ok(name), Ok(dpop), Some(pending), true) = (name, dpop, pending, errors.is_empty()) else {
        w.errors = errors;
        return Ok(render_wizard(&state, &user, w).await?.into_response());
    };
    let request = ConnectionRequest {
        name,
        domain: w.domain.clone(),
        client_id: w.client_id.clone(),
        private_key: Zeroizing::new(pending.key.key().to_private_jwk().to_string()),
        key_id: pending.key.kid().map(str::to_owned),
        dpop,
        ca_cert_pem: None,
        allow_insecure_loopback: state.config.allow_insecure_loopback,
        force: false,
    };
    let outcome = match state
        .app
        .create_connection(&user.actor(), request, |_| {})
        .await
    {
        Err(Error::Conflict(msg)) => {
            w.errors.insert(
                "name",
                FieldError {
                    message: msg,
                    fix: "Choose another name, or open the existing connection.".into(),
                    step: None,
                },
            );
            return Ok(render_wizard(&state, &user, w).await?.into_response());
        }
        other => other?,
    };
    let name = outcome
        .connection
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    if outcome.connection.is_some() {
        state.pending.remove(&session, NEW);
        let done = Wizard {
            notice: Some((
                true,
                format!(
                    "Connected: {name}. The private key is stored encrypted and will not be shown again."
                ),
            )),
            report: Some(outcome.report),
            ..Wizard::default()
        };
        return Ok(render_wizard(&state, &user, done).await?.into_response());
    }
    w.report = Some(outcome.report);
    Ok(render_wizard(&state, &user, w).await?.into_response())
}

async fn render_connection(
    state: &AppState,
    user: &CurrentUser,
    name: &str,
    report: Option<&steward_doctor::Report>,
    notice: Option<(bool, String)>,
) -> Result<Response, AppError> {
    let conn = state.app.connection(name).await?;
    let session = session_of(user)?;
    let rotation = state
        .pending
        .get(session, &rotate_purpose(name), state.app.now())
        .as_ref()
        .map(key_info);
    let body = view::connection_page(user, &conn, report, rotation.as_ref(), notice);
    Ok(page(&format!("Connection {name}"), Some(user), body).into_response())
}

/// `GET /settings/okta/{name}`.
pub async fn connection(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    render_connection(&state, &user, &name, None, None).await
}

/// `POST /settings/okta/{name}/test`.
pub async fn test(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let report = state.app.test_connection(&user.actor(), &name).await?;
    render_connection(&state, &user, &name, Some(&report), None).await
}
