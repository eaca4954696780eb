//! End-to-end sync tests against okta-sim (rate limits off unless a test says otherwise).
//! One binary, modules independent of each other and of order.

mod assignments;
mod common;
mod crash;
mod equality;
mod faults;
mod sql_store;
