//! Steward's sync engine: reads an Okta org through [`okta_client`] and writes it through the
//! [`steward_inventory::InventoryStore`] contract, "as fast as Okta's rate limits allow and
//! no faster" (the client's governor paces each rate-limit bucket; the engine keeps enough
//! listings in flight to use it).
//!
//! # Layout
//!
//! * [`Syncer`] ([`syncer`]): runs: start, resume a killed run from its checkpoints, finish,
//!   figures ([`SyncReport`]).
//! * [`full`](crate::full): the full plan (also `reconcile`); its module doc gives the
//!   request count as a function of org size.
//! * [`incremental`](crate::incremental): `lastUpdated` listings, moved group memberships,
//!   and the System Log ([`logs`]) for what listings cannot show.
//! * `listing`: the checkpointed page loop; `relations`: per-group / per-app listings run
//!   concurrently; `convert`: Okta JSON to records.
//! * [`Clock`], [`SyncConfig`], [`Progress`] callbacks, [`SyncError`].
//! * [`testing`]: [`testing::MemoryStore`], an in-memory `InventoryStore` for fast tests,
//!   and [`testing::snapshot`], the store in the simulator's `/__sim/snapshot` shape.
//!
//! # Invariants
//!
//! * The engine never reads the wall clock (only [`SystemClock`] does) and never talks SQL.
//! * Every page is written before its checkpoint is saved, and every store call is
//!   idempotent, so a run killed at any point resumes without loss or duplicates.

#![warn(missing_docs)]

mod assignments;
mod clock;
mod config;
mod convert;
mod error;
mod full;
mod incremental;
mod listing;
pub mod logs;
mod progress;
mod relations;
pub mod syncer;
pub mod testing;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{PageSizes, SyncConfig};
pub use error::SyncError;
pub use progress::{Progress, ProgressFn};
pub use syncer::{SyncReport, Syncer};
