//! The simulator's clock. Real time plus an adjustable offset, so tests can put the org's
//! clock ahead of or behind the client's (clock-skew checks) without touching the system clock.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall clock with a settable skew in milliseconds.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    /// The org's current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
    /// The org's current time in epoch seconds.
    pub fn now_secs(&self) -> i64 {
        self.now().timestamp()
    }
    /// Sets the skew of the org's clock against real time.
    pub fn set_offset_ms(&self, ms: i64) {
        self.offset_ms.store(ms, Ordering::Relaxed);
    }
    /// The current skew in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Formats a time as Okta does in JSON: RFC 3339 UTC with milliseconds and a `Z`.
pub fn okta_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
