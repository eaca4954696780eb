//! The control API under `/__sim/`, outside Okta's namespace. (Being implemented.)

use crate::state::SimState;
use std::sync::Arc;

/// Control routes (nested under `/__sim`).
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
}
