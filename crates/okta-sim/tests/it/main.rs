//! okta-sim integration tests: one binary, one module per area.

mod common;

mod api_apps;
mod api_groups;
mod api_logs;
mod api_users;
mod auth_dpop;
mod auth_resource;
mod auth_token;
mod control;
mod faults;
mod generator;
mod ratelimit;
