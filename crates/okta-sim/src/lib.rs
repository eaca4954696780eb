//! `okta-sim`: a faithful simulator of an Okta org, for tests, benchmarks and demos.
//!
//! It serves what a service app integration talks to: the org authorization server
//! (`/oauth2/v1/token` with `private_key_jwt` and DPoP), the management API (users, groups,
//! memberships, apps, assignments), the System Log, rate limits, and a control API under
//! `/__sim/` to mutate the org, inject faults and read the ground truth.
//!
//! Fidelity comes first: behaviour follows `shared/okta-reference.md` and Okta's public docs;
//! where they are unsure, the simulator picks the stricter reading and says so in a comment.
//!
//! # Layout
//! - [`config`]: what to generate and behaviour switches; [`generate`]: the seeded org generator.
//! - [`model`]: compact in-memory objects; [`mutate`]: changes that keep Okta's invariants and
//!   write System Log events; [`render`]: Okta's JSON shapes.
//! - [`auth`]: token endpoint, client assertions, DPoP, resource-side token checks.
//! - [`api`]: `/api/v1/*`; [`wellknown`]: discovery; [`control`]: `/__sim/`.
//! - [`ratelimit`], [`faults`], [`middleware`], [`reqlog`]: cross-cutting behaviour.
//! - [`server`]: [`RunningSim::start`] serves an org in-process on `127.0.0.1:0`.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod control;
pub mod credentials;
pub mod error;
pub mod faults;
pub mod generate;
pub mod ids;
pub mod middleware;
pub mod model;
pub mod mutate;
pub mod ratelimit;
pub mod render;
pub mod reqlog;
pub mod server;
pub mod state;
pub mod wellknown;

pub use config::{DpopMode, SimConfig};
pub use credentials::Credentials;
pub use server::{RunningSim, ServeOptions};
