//! The org authorization server: the token endpoint (`private_key_jwt` client assertions,
//! RFC 7523; DPoP, RFC 9449), issued tokens, and the resource-side token check that guards
//! the management API.

pub mod principal;
pub mod tokens;

pub use principal::Principal;
pub use tokens::{AuthState, IssuedToken};

use crate::state::SimState;
use std::sync::Arc;

/// Token endpoint routes.
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
}
