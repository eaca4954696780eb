//! Request counters for one connection, shared by every clone of an
//! [`crate::OktaClient`] (and those made by `with_scopes`). Callers such as the
//! sync engine take a [`ClientStats`] snapshot before and after a run and report
//! the difference.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// HTTP requests sent (every attempt, token requests excluded).
    pub requests: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Attempts repeated after a 429, a 5xx, a connection error or a refreshed token/nonce.
    pub retries: u64,
    /// Requests that failed for good (the error returned to the caller).
    pub errors: u64,
    /// Time spent waiting for rate limits: client-side pacing plus 429 waits.
    pub wait_ms: u64,
}

impl ClientStats {
    /// `self - earlier`, field by field (saturating): the figures of one run.
    pub fn since(&self, earlier: &ClientStats) -> ClientStats {
        ClientStats {
            requests: self.requests.saturating_sub(earlier.requests),
            rate_limited: self.rate_limited.saturating_sub(earlier.rate_limited),
            retries: self.retries.saturating_sub(earlier.retries),
            errors: self.errors.saturating_sub(earlier.errors),
            wait_ms: self.wait_ms.saturating_sub(earlier.wait_ms),
        }
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    errors: AtomicU64,
    wait_ms: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn waited(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.wait_ms.fetch_add(ms, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            wait_ms: self.wait_ms.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_differences() {
        let c = Counters::default();
        let before = c.snapshot();
        c.request();
        c.request();
        c.rate_limited();
        c.retry();
        c.error();
        c.waited(Duration::from_millis(1500));
        let d = c.snapshot().since(&before);
        assert_eq!(
            (d.requests, d.rate_limited, d.retries, d.errors),
            (2, 1, 1, 1)
        );
        assert_eq!(d.wait_ms, 1500);
        assert_eq!(before.since(&c.snapshot()), ClientStats::default());
    }
}
