//! The org authorization server: the token endpoint (`private_key_jwt` client assertions,
//! RFC 7523; DPoP, RFC 9449), issued tokens, and the resource-side token check that guards
//! the management API.
//!
//! - [`token`]: `POST /oauth2/v1/token`; [`assertion`]: client assertions; [`scopes`]: scope
//!   checks; [`dpop`]: proof validation shared with the resource side; [`nonce`]: the
//!   server nonces (rotation is driven from the control API);
//! - [`tokens`]: issued tokens and replay caches; [`principal`] and [`resource`]: the check of
//!   every `/api/v1/*` request.

pub mod assertion;
pub mod dpop;
pub mod nonce;
pub mod principal;
pub mod resource;
pub mod scopes;
pub mod token;
pub mod tokens;

pub use principal::Principal;
pub use tokens::{AuthState, IssuedToken};

use crate::state::SimState;
use std::sync::Arc;

/// Path of the org authorization server's token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/v1/token";

/// Allowed clock skew, in seconds, for "issued in the future" checks of client assertions and
/// DPoP proofs. Okta's leeway is [unconfirmed]; a small one is the stricter choice.
pub const CLOCK_SKEW_SECS: i64 = 5;

/// A client assertion may expire at most one hour ahead (reference 1.2).
pub const ASSERTION_MAX_LIFETIME_SECS: i64 = 3600;

/// A DPoP proof older than five minutes is refused (reference 2.2).
pub const PROOF_MAX_AGE_SECS: i64 = 300;

/// Token endpoint routes.
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new().route(TOKEN_PATH, axum::routing::post(token::handle))
}
