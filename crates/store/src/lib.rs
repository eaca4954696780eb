//! Steward's database: the only crate with SQL in it.
//!
//! [`Store`] runs on SQLite (the default, one file in the data directory) or PostgreSQL,
//! chosen by the URL given to [`Store::connect`]. It implements
//! [`steward_inventory::InventoryStore`] for the sync engine, a read API for the CLI and the
//! web UI ([`queries`]), and workspaces and Okta connections whose private keys are stored
//! encrypted under a [`MasterKey`] ([`connections`]).
//!
//! # Layout
//!
//! - `db`: [`Store`], connecting, pool settings, migrations (embedded, one directory per
//!   backend: `migrations/sqlite`, `migrations/postgres`).
//! - `url`: which backend a URL names, and [`redact_url`] for logs.
//! - `inventory`: `impl InventoryStore for Store` (batched upserts, removal marking, usage).
//! - [`queries`]: reads for `steward status`, the UI and the sync tests.
//! - [`connections`]: workspaces and Okta connections.
//! - `connection_transport`: a connection's [`ConnectionTransport`] (extra CA certificate,
//!   plain http on loopback).
//! - `secret`: [`MasterKey`] and AES-256-GCM sealing of private keys.
//! - [`accounts`]: the web app's accounts, sessions and API tokens (hashes only).
//! - [`audit`]: the tamper-evident audit trail (per-workspace HMAC chain, verify, export;
//!   every change method appends its event in its own transaction).
//! - [`locks`]: sync locks that keep one sync per connection across processes and die with
//!   their holder (advisory locks on PostgreSQL, lock files on SQLite).
//! - [`browse`]: reads for the web UI's inventory pages (groups, apps, runs).
//! - [`jobs`]: the durable job queue (enqueue, claim with a lease, finish) that
//!   `steward-jobs` runs.
//!
//! # Conventions
//!
//! - Times are stored as `BIGINT` milliseconds since the Unix epoch (UTC) on both backends:
//!   SQLite has no timestamp type, Okta's times have millisecond precision, and integers
//!   compare and index the same way everywhere. Sub-millisecond precision is dropped.
//! - JSON is `JSONB` on PostgreSQL and `TEXT` on SQLite.
//! - SQL is written once with `$n` placeholders (which SQLite also accepts) and run on the
//!   concrete pool of either backend; no compile-time checked `query!` macros, since those
//!   check against a single database.
//! - Sync never deletes inventory rows: a removed object keeps its row with `removed_at` set.
#![warn(missing_docs)]

mod db;
mod inventory;
mod secret;
mod time;
mod url;
mod writer;

pub mod accounts;
pub mod audit;
pub mod browse;
mod connection_transport;
pub mod connections;
pub mod jobs;
pub mod locks;
pub mod queries;

pub use connection_transport::ConnectionTransport;
pub use connections::{AccountError, Connection, NewConnection, Workspace, WorkspaceId};
#[doc(hidden)]
pub use db::embedded_migrations;
pub use db::{Backend, Clock, Store};
pub use locks::{LockHolder, SyncLock};
pub use secret::{MASTER_KEY_ENV, MASTER_KEY_FILE, MASTER_KEY_FILE_ENV};
pub use secret::{MasterKey, MasterKeyError};
pub use steward_inventory::StoreError;
pub use url::{
    DATA_DIR_ENV, DATABASE_URL_ENV, data_dir_from_env, database_url_from_env, default_sqlite_url,
    redact_url,
};
