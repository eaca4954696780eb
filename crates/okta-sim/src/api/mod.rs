//! The management API (`/api/v1/*`). (Being implemented.)

use crate::state::SimState;
use std::sync::Arc;

/// Management API routes.
pub fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
}
