//! Behaviour switches of the control API: token revocation, DPoP nonce rotation, clock skew,
//! faults, rate limits and the request log (see the routes in [`super`]).

use super::{CtlError, CtlResult, created, no_content, ok, parse};
use crate::clock::okta_time;
use crate::faults::FaultSpec;
use crate::ratelimit::RateLimitFile;
use crate::state::SimState;
use axum::extract::{Path, Query, State};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
struct Revoke {
    #[serde(default)]
    client_id: Option<String>,
}

/// `POST /__sim/tokens/revoke`: revokes the tokens of one client, or all tokens.
pub async fn revoke_tokens(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: Revoke = parse(&body)?;
    let revoked = state.auth.revoke(req.client_id.as_deref());
    ok(json!({"revoked": revoked}))
}

#[derive(Deserialize)]
struct Rotate {
    #[serde(default)]
    hard: bool,
}

/// `POST /__sim/dpop-nonce/rotate`: a new token-endpoint nonce; `hard` also invalidates the
/// earlier ones at once instead of after the grace period.
pub async fn rotate_nonce(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: Rotate = parse(&body)?;
    let nonce = if req.hard {
        crate::auth::nonce::rotate_hard(&state)
    } else {
        crate::auth::nonce::rotate(&state)
    };
    ok(json!({"nonce": nonce}))
}

#[derive(Deserialize)]
struct Clock {
    offset_ms: i64,
}

fn clock_view(state: &SimState) -> serde_json::Value {
    json!({"offset_ms": state.clock.offset_ms(), "now": okta_time(state.clock.now())})
}

/// `GET /__sim/clock`.
pub async fn get_clock(State(state): State<Arc<SimState>>) -> CtlResult {
    ok(clock_view(&state))
}

/// `PUT /__sim/clock`: sets the org clock's skew against real time.
pub async fn set_clock(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: Clock = parse(&body)?;
    state.clock.set_offset_ms(req.offset_ms);
    ok(clock_view(&state))
}

/// `POST /__sim/faults`.
pub async fn add_fault(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let spec: FaultSpec = parse(&body)?;
    let id = state.faults.add(spec).map_err(CtlError::bad)?;
    created(json!({"id": id.to_string()}))
}

/// `GET /__sim/faults`.
pub async fn list_faults(State(state): State<Arc<SimState>>) -> CtlResult {
    ok(json!({"faults": state.faults.view()}))
}

/// `DELETE /__sim/faults`.
pub async fn clear_faults(State(state): State<Arc<SimState>>) -> CtlResult {
    ok(json!({"cleared": state.faults.clear()}))
}

/// `DELETE /__sim/faults/{id}`.
pub async fn delete_fault(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> CtlResult {
    match id.parse::<u64>() {
        Ok(n) if state.faults.remove(n) => no_content(),
        _ => Err(CtlError::not_found("fault", &id)),
    }
}

/// `GET /__sim/rate-limits`.
pub async fn get_rate_limits(State(state): State<Arc<SimState>>) -> CtlResult {
    ok(state.limits.view(state.clock.now().timestamp_millis()))
}

/// `PUT /__sim/rate-limits`: fields present replace the current ones; windows restart.
pub async fn put_rate_limits(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let req: RateLimitFile = parse(&body)?;
    let config = req.apply_to(state.limits.config()).map_err(CtlError::bad)?;
    state.limits.replace(config);
    ok(state.limits.view(state.clock.now().timestamp_millis()))
}

/// The query of `GET /__sim/requests`.
#[derive(Deserialize)]
pub struct After {
    /// Only requests with a larger sequence number.
    #[serde(default)]
    pub after: u64,
}

/// `GET /__sim/requests?after=SEQ`: requests with a sequence number above `after`.
pub async fn list_requests(
    State(state): State<Arc<SimState>>,
    Query(q): Query<After>,
) -> CtlResult {
    let requests = state.requests.since(q.after);
    ok(json!({"last_seq": state.requests.last_seq(), "requests": requests}))
}

/// `DELETE /__sim/requests`.
pub async fn clear_requests(State(state): State<Arc<SimState>>) -> CtlResult {
    state.requests.clear();
    no_content()
}
