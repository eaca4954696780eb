//! Okta's two error shapes: the management API body with `errorCode` and `errorId`
//! (reference 3.2) and the OAuth body `{"error","error_description"}` (reference 3.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A management API error (`/api/v1/*`).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorCode`, e.g. `E0000007`.
    pub code: &'static str,
    /// `errorSummary`.
    pub summary: String,
    /// `errorCauses[].errorSummary`.
    pub causes: Vec<String>,
    /// Extra headers (e.g. `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with Okta's status for `code`.
    pub fn new(code: &'static str, summary: impl Into<String>) -> Self {
        let status = match code {
            "E0000001" | "E0000003" | "E0000031" | "E0000053" => StatusCode::BAD_REQUEST,
            "E0000004" | "E0000011" | "E0000015" => StatusCode::UNAUTHORIZED,
            "E0000005" | "E0000006" | "E0000038" => StatusCode::FORBIDDEN,
            "E0000007" => StatusCode::NOT_FOUND,
            "E0000022" => StatusCode::METHOD_NOT_ALLOWED,
            "E0000047" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
            headers: Vec::new(),
        }
    }
    /// `E0000007 Not found: Resource not found: {id} ({kind})`.
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }
    /// `E0000006`: the admin role does not allow the action.
    pub fn forbidden() -> Self {
        Self::new(
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }
    /// `E0000001 Api validation failed: {what}`.
    pub fn validation(what: impl Into<String>, cause: Option<String>) -> Self {
        let mut e = Self::new(
            "E0000001",
            format!("Api validation failed: {}", what.into()),
        );
        e.causes.extend(cause);
        e
    }
    /// `E0000047` rate limit.
    pub fn rate_limited() -> Self {
        Self::new(
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }
    /// `E0000009` internal error.
    pub fn internal() -> Self {
        Self::new("E0000009", "Internal Server Error")
    }
    /// Adds a cause.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }
    /// Adds a header.
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{}", crate::ids::random_token(22)),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().append(name.clone(), v);
            }
        }
        resp
    }
}

/// An OAuth 2.0 error from the token endpoint (RFC 6749 section 5.2 shape).
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// A `DPoP-Nonce` to send along (for `use_dpop_nonce`).
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    /// Builds an error.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            dpop_nonce: None,
        }
    }
    /// `401 invalid_client`.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    /// `400 invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    /// `400 invalid_dpop_proof`.
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }
    /// `400 invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store"),
        );
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(nonce) = self
            .dpop_nonce
            .as_deref()
            .and_then(|n| HeaderValue::from_str(n).ok())
        {
            h.insert("dpop-nonce", nonce);
        }
        resp
    }
}
