//! Integration tests of steward-store, one binary. Every test that takes [`common::backends`]
//! runs on in-memory SQLite and, when `STEWARD_TEST_POSTGRES_URL` is set, on PostgreSQL in a
//! schema of its own (created for the test, dropped after it).

// Helpers outside `#[test]` functions are test code too (clippy.toml allows unwrap in tests).
#![allow(clippy::unwrap_used)]

mod audit;
mod audited;
mod common;
mod connections;
mod inventory;
mod jobs;
mod locks;
mod queries;
mod runs;
mod schema;
mod search;
mod usage;
mod web;
mod writer;
