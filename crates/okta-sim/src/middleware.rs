//! What every response carries (reference 10.3): `Date` (RFC 1123, GMT), `X-Okta-Request-Id`,
//! `X-Rate-Limit-*`, and the request log entry. Rate limits and injected faults are applied
//! here, before the handler, in this order:
//!
//! 1. the org-wide concurrency limit (429, `X-Rate-Limit-Limit: 0`);
//! 2. the bucket's window and the per-app share (429 `E0000047`) — see [`crate::ratelimit`];
//! 3. injected faults (latency, status, connection reset, 429 bursts) — see [`crate::faults`];
//! 4. the handler.
//!
//! `/__sim/*` (the control API) bypasses limits and faults and is not recorded in the request
//! log, so reading the log does not change it. `/.well-known/*` is exempt from rate limits
//! (reference 7 lists no bucket for discovery) but faults can still target it.

use crate::error::ApiError;
use crate::faults::Terminal;
use crate::ratelimit::RateHeaders;
use crate::reqlog::RequestRecord;
use crate::state::SimState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;

/// The request id of the current request, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Whether `path` belongs to the control API.
pub fn is_control(path: &str) -> bool {
    path == "/__sim" || path.starts_with("/__sim/")
}

/// Wraps every request: assigns the request id, applies limits and faults, stamps the common
/// headers, and records the request.
pub async fn okta_envelope(
    State(state): State<Arc<SimState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = format!("aB{}", crate::ids::random_token(24));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    if is_control(req.uri().path()) {
        let mut resp = next.run(req).await;
        stamp(&state, resp.headers_mut(), &request_id, None);
        return resp;
    }
    let uri = req.uri().clone();
    let path = uri.path();
    let method = req.method().as_str().to_string();
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

    let now_ms = state.clock.now().timestamp_millis();
    let mut bucket = None;
    let mut rate: Option<RateHeaders>;
    let mut fired = Vec::new();
    let limited = !path.starts_with("/.well-known/");
    let slot = if limited { state.limits.enter() } else { None };
    let resp = if limited && slot.is_none() {
        rate = Some(RateHeaders::concurrency(now_ms));
        ApiError::rate_limited().into_response()
    } else {
        let verdict = if limited {
            state
                .limits
                .check(&method, path, now_ms, || client_of(&state, req.headers()))
        } else {
            Default::default()
        };
        bucket = verdict.bucket;
        rate = verdict.headers;
        if limited && !verdict.allowed {
            ApiError::rate_limited().into_response()
        } else {
            let injection = state.faults.evaluate(&method, path);
            fired = injection.fired;
            if !injection.delay.is_zero() {
                tokio::time::sleep(injection.delay).await;
            }
            match injection.terminal {
                None => next.run(req).await,
                Some(Terminal::Reset { after_bytes }) => {
                    truncate(next.run(req).await, after_bytes).await
                }
                Some(Terminal::Status(status)) => {
                    let resp = status_fault(status);
                    if matches!(status, 429 | 503 | 504) {
                        let now_ms = state.clock.now().timestamp_millis();
                        let h = rate.unwrap_or_else(|| RateHeaders::unlimited(now_ms));
                        let remaining = if status == 429 { 0 } else { h.remaining };
                        rate = Some(RateHeaders { remaining, ..h });
                    }
                    resp
                }
                Some(Terminal::RateLimitBurst(secs)) => {
                    let now_s = state.clock.now().timestamp();
                    let limit = rate.map_or(crate::ratelimit::limiter::OFF_LIMIT, |h| h.limit);
                    rate = Some(RateHeaders {
                        limit,
                        remaining: 0,
                        reset: now_s.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)),
                    });
                    ApiError::rate_limited().into_response()
                }
            }
        }
    };
    drop(slot);

    let mut resp = resp;
    stamp(&state, resp.headers_mut(), &request_id, rate);
    state.requests.push(RequestRecord {
        seq: 0,
        at_ms: now_ms,
        method,
        uri: uri.to_string(),
        status: resp.status().as_u16(),
        request_id,
        auth_scheme,
        dpop_jti,
        bucket,
        faults: fired,
        micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
    resp
}

/// Sets `Date` (from the org clock, so `X-Rate-Limit-Reset − Date` is what a client should
/// wait), `X-Okta-Request-Id` and the rate-limit headers.
fn stamp(state: &SimState, h: &mut HeaderMap, request_id: &str, rate: Option<RateHeaders>) {
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(state.clock.now().into())) {
        h.insert(header::DATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-okta-request-id", v);
    }
    if let Some(r) = rate {
        r.apply(h);
    }
}

/// The client id of the access token in `Authorization: Bearer|DPoP <token>`, if known.
fn client_of(state: &SimState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop")) {
        return None;
    }
    state.auth.client_of(token.trim())
}

/// The response of a `status` fault: Okta's error body for that status. 5xx use `E0000009`
/// (Okta's internal error; the body of an edge 502/504 is not documented, so the simulator
/// keeps Okta's JSON shape, which clients must parse anyway).
fn status_fault(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut err = match status {
        400 => ApiError::validation("injected fault", None),
        401 => ApiError::new("E0000011", "Invalid token provided"),
        403 => ApiError::forbidden(),
        404 => ApiError::new("E0000007", "Not found: Resource not found (injected fault)"),
        429 => ApiError::rate_limited(),
        _ => ApiError::new(
            "E0000009",
            code.canonical_reason().unwrap_or("Internal Server Error"),
        ),
    };
    err.status = code;
    err.into_response()
}

/// The `reset` fault: keeps the handler's status and headers (a real reset happens mid-transfer
/// of a normal response), sends part of the body, then fails the stream, which makes hyper
/// abort the connection: the client sees a body error.
async fn truncate(resp: Response, after_bytes: Option<usize>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let cut = after_bytes
        .unwrap_or(bytes.len() / 2)
        .min(bytes.len().saturating_sub(1));
    if bytes.is_empty() {
        // Nothing to cut: go chunked so the missing terminator still breaks the body.
        parts.headers.remove(header::CONTENT_LENGTH);
    } else {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    }
    use futures::StreamExt;
    let head = futures::stream::iter([Ok::<Bytes, std::io::Error>(bytes.slice(..cut))]);
    // The pause lets hyper flush the headers and the first bytes (it writes when the body
    // stream is pending) before the error aborts the connection.
    let fail = futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "okta-sim: injected connection reset",
        ))
    });
    Response::from_parts(parts, Body::from_stream(head.chain(fail)))
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
