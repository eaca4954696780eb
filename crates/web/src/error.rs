//! [`AppError`]: every handler error. Each kind has a status and a short code; the user sees
//! a short message and the request id, the cause chain goes to the log only.
//!
//! `IntoResponse` cannot see the request, so it only attaches an [`ErrorInfo`]; the
//! [`render_errors`] middleware, which knows the path and the request id, turns it into an
//! HTML page (or a login redirect) for pages and JSON for `/api/`.

use std::error::Error as StdError;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::secret::CryptoError;

/// A handler error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No valid session or token (pages: redirect to the login page; API: 401).
    #[error("authentication required")]
    Unauthenticated,
    /// Signed in, but the role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// Missing or wrong CSRF token.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// No such object.
    #[error("not found")]
    NotFound,
    /// A name is taken.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed; the message is safe to show.
    #[error("{0}")]
    BadRequest(String),
    /// Too many failed sign-ins.
    #[error("too many attempts; retry in {0} s")]
    TooManyAttempts(i64),
    /// Anything else: logged with its cause chain, shown as "internal error".
    #[error("internal error")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl AppError {
    /// Wraps an unexpected failure.
    pub fn internal(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        AppError::Internal(e.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::BadRequest(_) => "bad_request",
            AppError::TooManyAttempts(_) => "too_many_attempts",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<steward_app::Error> for AppError {
    fn from(e: steward_app::Error) -> Self {
        use steward_app::Error as E;
        match e {
            E::BadRequest(msg) => AppError::BadRequest(msg),
            E::NotFound => AppError::NotFound,
            E::Conflict(msg) => AppError::Conflict(msg),
            E::Forbidden => AppError::Forbidden,
            other => AppError::internal(other),
        }
    }
}

impl From<steward_store::StoreError> for AppError {
    fn from(e: steward_store::StoreError) -> Self {
        AppError::internal(e)
    }
}

impl From<CryptoError> for AppError {
    fn from(e: CryptoError) -> Self {
        AppError::internal(e)
    }
}

/// What [`render_errors`] renders: attached to the response by `AppError::into_response`.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// Short stable code (`forbidden`, `csrf`, …).
    pub code: &'static str,
    /// The message shown to the user.
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            let mut chain = cause.to_string();
            let mut source = cause.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let mut resp = self.status().into_response();
        if let AppError::TooManyAttempts(secs) = &self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.extensions_mut().insert(ErrorInfo {
            code: self.code(),
            message: self.to_string(),
        });
        resp
    }
}

/// Whether the path belongs to the JSON API.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The request id set by the request-id layer.
pub(crate) fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// Renders [`ErrorInfo`] responses: HTML error page, login redirect, or JSON.
pub(crate) async fn render_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let next_target = if req.method() == axum::http::Method::GET {
        req.uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into())
    } else {
        "/".to_owned()
    };
    let rid = request_id(req.headers());
    let resp = next.run(req).await;
    let Some(info) = resp.extensions().get::<ErrorInfo>().cloned() else {
        return resp;
    };
    let status = resp.status();
    let mut headers = resp.headers().clone();
    if is_api(&path) {
        let body = serde_json::json!({
            "error": {"code": info.code, "message": info.message},
            "request_id": rid,
        });
        let mut out = (status, axum::Json(body)).into_response();
        if let Some(v) = headers.remove(header::RETRY_AFTER) {
            out.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return out;
    }
    if status == StatusCode::UNAUTHORIZED {
        let loc = format!(
            "/login?next={}",
            utf8_percent_encode(&next_target, NON_ALPHANUMERIC)
        );
        return (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, loc),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
        )
            .into_response();
    }
    let page = crate::pages::layout::error_page(status, info.code, &info.message, &rid);
    let mut out = (status, page).into_response();
    if let Some(v) = headers.remove(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    out
}
