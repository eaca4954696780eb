//! Steward's inventory: the records a sync writes (users, groups, memberships, apps,
//! assignments, app usage) and [`InventoryStore`], the contract between the sync engine and
//! the database. The sync engine only sees this trait; `steward-store` implements it on SQLite
//! and PostgreSQL.
//!
//! Every method is scoped by a [`ConnectionId`] (one Okta org connection inside a workspace).
//! Objects removed in Okta are marked removed with a time, never deleted, so history and
//! audit trails keep their references.
#![warn(missing_docs)]

mod records;
mod store;

pub use records::*;
pub use store::{
    AppAssignmentFacts, AssignmentReads, InventoryStore, MembershipStamps, StoreError,
    UserAssignmentFacts,
};
