//! Integration tests of steward-jobs, one binary: the runner on in-memory SQLite, a SQLite
//! file and (when `STEWARD_TEST_POSTGRES_URL` is set) PostgreSQL in a schema of its own.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod exactly_once;
mod outcomes;
mod takeover;
