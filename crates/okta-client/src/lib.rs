//! Steward's client for an Okta org through an API Services app.
//!
//! No web framework, no database: this crate turns what an admin pastes into
//! a working, rate-limit-friendly connection.
//!
//! # Layout
//!
//! * [`inputs`]: parsing of the Okta domain, Client ID, private key and DPoP
//!   setting, with admin-facing errors ([`InputError`]: field, problem, fix).
//! * [`auth`]: RFC 7523 client assertions, RFC 9449 DPoP proofs and nonces,
//!   the client-credentials grant and the single-flight [`auth::TokenCache`].
//! * [`transport`]: the reqwest/rustls client (no redirects, timeouts, bounded
//!   bodies), retry timing and the per-bucket rate-limit governor.
//! * [`client`]: [`OktaClient`], which signs every request (fresh DPoP proof per
//!   attempt), retries 5xx/connection errors for idempotent methods, waits out
//!   429s using `X-Rate-Limit-Reset` and `Date`, retries once after
//!   `use_dpop_nonce` or a `401`, and maps errors to [`OktaError`].
//! * [`pagination`], [`models`], [`logs`]: `Link`-header paging, typed objects
//!   and the System Log poller.
//! * [`stats`]: request, 429, retry and wait counters ([`OktaClient::stats`]).
//!
//! # Secrets
//!
//! Private keys ([`steward_jose::PrivateKey`]) and access tokens
//! ([`auth::AccessToken`]) have redacted `Debug` and no `Display`; token strings
//! and key copies are zeroized on drop. Client assertions and proofs are
//! built per attempt and never logged. Errors never quote a secret.

#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod inputs;
pub mod logs;
pub mod models;
pub mod pagination;
pub mod stats;
pub mod transport;

pub use client::{DEFAULT_SCOPES, OktaClient, OktaConfig, fetch_public};
pub use error::OktaError;
pub use inputs::{ClientId, DpopMode, Field, InputError, OktaDomain, PrivateKeyInput};
/// HTTP methods and status codes, re-exported so callers need no reqwest dependency.
pub use reqwest::{Method, StatusCode};
pub use stats::ClientStats;
pub use transport::{Response, TransportOptions};
