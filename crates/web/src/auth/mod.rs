//! Who is asking: the [`authenticate`] middleware resolves a session cookie (pages and API)
//! or an API token (`Authorization: Bearer stw_…`, API only) into a [`CurrentUser`] and
//! checks CSRF on every state-changing request; handlers take [`CurrentUser`] and call
//! [`CurrentUser::require`] with the role they need.
//!
//! CSRF: forms carry the session's random CSRF token in a hidden `csrf` field, API calls
//! made with a session cookie send it as `X-CSRF-Token`; the login form, which has no
//! session yet, uses a double-submit cookie. Compared in constant time; missing or wrong
//! is 403. Bearer-token requests need no CSRF token (a browser never sends one by itself).

pub mod cookies;
pub mod session;
pub mod throttle;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, is_api};
use crate::secret::{Secret, constant_time_eq, sha256_hex};
use crate::state::AppState;
use cookies::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, get_cookie};
use steward_app::{AccountId, Actor, Role};

pub use steward_app::accounts::TOKEN_PREFIX;

/// Largest form body accepted (a pasted RSA-4096 JWK is about 3 KiB).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// User name (for a token: its creator's).
    pub username: String,
    /// The effective role (for a token: the token's).
    pub role: Role,
    /// The account (for a token: its creator).
    pub account: AccountId,
    pub(crate) via: Via,
}

#[derive(Clone, Debug)]
pub(crate) enum Via {
    Session { id_hash: String, csrf: Secret },
    Token { id: i64, name: String },
}

impl CurrentUser {
    /// `Ok` when the role includes `needed`, else [`AppError::Forbidden`].
    pub fn require(&self, needed: Role) -> Result<(), AppError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// How the audit trail names the caller: the account of a session, or the API token.
    pub fn actor(&self) -> Actor {
        match &self.via {
            Via::Session { .. } => Actor::account(self.account.0, &self.username),
            Via::Token { id, name } => Actor::api_token(*id, name),
        }
    }

    /// The CSRF token for forms (empty for token callers, who render no forms).
    pub(crate) fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf.expose(),
            Via::Token { .. } => "",
        }
    }

    /// The session's id hash (keys server-side per-session state); `None` for tokens.
    pub(crate) fn session_key(&self) -> Option<&str> {
        match &self.via {
            Via::Session { id_hash, .. } => Some(id_hash),
            Via::Token { .. } => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

/// Resolves the caller and enforces CSRF; see the module docs.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let user = match resolve(&state, req.uri().path().to_owned(), req.headers().clone()).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let path = req.uri().path().to_owned();
        let expected = match &user {
            Some(u) => match &u.via {
                Via::Token { .. } => None,
                Via::Session { csrf, .. } => Some(csrf.expose().to_owned()),
            },
            None if path == "/login" => {
                Some(get_cookie(req.headers(), LOGIN_CSRF_COOKIE).unwrap_or_default())
            }
            // Not signed in: the handler refuses (login redirect / 401).
            None => None,
        };
        if let Some(expected) = expected {
            let given = if is_api(&path) {
                req.headers()
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            } else {
                let (parts, body) = req.into_parts();
                let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
                    return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                        .into_response();
                };
                let given = url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned());
                req = Request::from_parts(parts, Body::from(bytes));
                given
            };
            let ok = match given {
                Some(g) => !expected.is_empty() && constant_time_eq(&g, &expected),
                None => false,
            };
            if !ok {
                tracing::warn!(path = %path, "CSRF token missing or wrong");
                return AppError::Csrf.into_response();
            }
        }
    }
    if let Some(u) = user {
        req.extensions_mut().insert(u);
    }
    // Every audit event the request records carries its id.
    let request_id = crate::error::request_id(req.headers());
    steward_app::with_request_id(request_id, next.run(req)).await
}

async fn resolve(
    state: &AppState,
    path: String,
    headers: HeaderMap,
) -> Result<Option<CurrentUser>, AppError> {
    if is_api(&path)
        && let Some(auth) = headers.get(header::AUTHORIZATION)
    {
        return resolve_token(state, auth).await.map(Some);
    }
    let Some(cookie) = get_cookie(&headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id_hash = sha256_hex(&cookie);
    let Some((session, account)) = state.app.resolve_session(&id_hash).await? else {
        return Ok(None);
    };
    Ok(Some(CurrentUser {
        username: account.username,
        role: account.role,
        account: account.id,
        via: Via::Session {
            id_hash,
            csrf: session.csrf,
        },
    }))
}

/// `Authorization: Bearer stw_…`: a token that is unknown, malformed, or whose creator is
/// disabled is refused (no fallback to the cookie). The effective role is the lower of the
/// token's and its creator's.
async fn resolve_token(state: &AppState, auth: &HeaderValue) -> Result<CurrentUser, AppError> {
    let token = auth
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthenticated)?;
    let (found, owner) = state
        .app
        .resolve_token(token)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(CurrentUser {
        username: owner.username,
        role: found.role.min(owner.role),
        account: owner.id,
        via: Via::Token {
            id: found.id.0,
            name: found.name,
        },
    })
}
