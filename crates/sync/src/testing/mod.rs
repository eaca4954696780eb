//! Test support: [`MemoryStore`], an in-memory [`steward_inventory::InventoryStore`] with the
//! same semantics as the SQL store (fast unit tests, examples), and [`snapshot`], the store's
//! content in the shape of okta-sim's `GET /__sim/snapshot`, for exact equality checks.

mod contract;
mod memory;
mod snapshot;

pub use memory::MemoryStore;
pub use snapshot::{diff, normalize, snapshot};
