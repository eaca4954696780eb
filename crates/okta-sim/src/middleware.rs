//! What every response carries (reference 10.3): `Date` (RFC 1123, GMT), `X-Okta-Request-Id`,
//! and the request log entry. Rate limits and injected faults hook in here as well.

use crate::error::ApiError;
use crate::reqlog::RequestRecord;
use crate::state::SimState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// The request id of the current request, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Wraps every request: assigns the request id, applies faults and rate limits, stamps the
/// common headers, and records the request.
pub async fn okta_envelope(
    State(state): State<Arc<SimState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = format!("aB{}", crate::ids::random_token(24));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let auth_scheme = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_string);
    let dpop_jti = req
        .headers()
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| steward_jose::jws::decode(v).ok())
        .and_then(|d| {
            d.claims
                .get("jti")
                .and_then(|j| j.as_str())
                .map(str::to_string)
        });

    let mut resp = next.run(req).await;

    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(state.clock.now().into())) {
        h.insert(header::DATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-okta-request-id", v);
    }
    state.requests.push(RequestRecord {
        seq: 0,
        at_ms: state.clock.now().timestamp_millis(),
        method,
        uri,
        status: resp.status().as_u16(),
        request_id,
        auth_scheme,
        dpop_jti,
        bucket: None,
        micros: started.elapsed().as_micros() as u64,
    });
    resp
}

/// Okta's answer for an unknown path: 404 `E0000007`.
pub async fn not_found(req: Request) -> Response {
    ApiError::new(
        "E0000007",
        format!(
            "Not found: Resource not found: {} (Endpoint)",
            req.uri().path()
        ),
    )
    .into_response()
}
