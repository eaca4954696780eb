//! Shared state of a running simulator.

use crate::auth::AuthState;
use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::faults::Faults;
use crate::model::Org;
use crate::ratelimit::RateLimiter;
use crate::reqlog::RequestLog;
use parking_lot::RwLock;
use std::sync::OnceLock;

/// Everything the handlers share. One per simulated org.
#[derive(Debug)]
pub struct SimState {
    /// The configuration the org was built from.
    pub config: SimConfig,
    /// The org's clock.
    pub clock: SimClock,
    /// Users, groups, apps, clients and the System Log.
    pub org: RwLock<Org>,
    /// Issued tokens, used `jti`s and DPoP nonces.
    pub auth: AuthState,
    /// Rate-limit buckets.
    pub limits: RateLimiter,
    /// Injected faults.
    pub faults: Faults,
    /// Log of received requests (for tests).
    pub requests: RequestLog,
    /// `http://127.0.0.1:PORT` or `https://…`, set once the listener is bound.
    pub base_url: OnceLock<String>,
}

impl SimState {
    /// A state around an already generated org.
    pub fn new(config: SimConfig, org: Org) -> Self {
        let limits = RateLimiter::new(config.rate_limits.clone());
        Self {
            config,
            clock: SimClock::default(),
            org: RwLock::new(org),
            auth: AuthState::default(),
            limits,
            faults: Faults::default(),
            requests: RequestLog::default(),
            base_url: OnceLock::new(),
        }
    }
    /// The base URL the simulator is served at (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }
}
