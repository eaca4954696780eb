//! Client-side pacing so that normal work never hits a 429 (reference 7).
//!
//! Okta reports each bucket's state in `X-Rate-Limit-Remaining` and
//! `X-Rate-Limit-Reset`. The governor remembers that per bucket; when few
//! requests remain it spreads them evenly until the reset, and when none
//! remain it holds callers until the reset. A semaphore caps concurrency
//! (Okta's org-wide concurrency limit is 75, or 35 on Integrator Free).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::retry::{rate_limit_reset, server_date};
use crate::error::OktaError;

/// The rate-limit bucket a request counts against, after the published
/// per-endpoint table (reference 7). Unknown paths share `other`.
pub fn bucket_for(method: &Method, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["oauth2", "v1", "token"] => "token",
        ["api", "v1", "logs", ..] => "logs",
        ["api", "v1", "apps"] => "apps",
        ["api", "v1", "apps", _] => "apps/{id}",
        ["api", "v1", "apps", ..] => "apps",
        ["api", "v1", "groups"] => "groups",
        ["api", "v1", "groups", _] => "groups/{id}",
        ["api", "v1", "users"] => "users",
        ["api", "v1", "users", _] if *method == Method::GET => "users/{id}:get",
        ["api", "v1", "users", _] => "users/{id}",
        _ => "other",
    }
}

#[derive(Debug, Default)]
struct Bucket {
    remaining: Option<u64>,
    limit: Option<u64>,
    reset_epoch: Option<i64>,
    reset_at: Option<Instant>,
    next_slot: Option<Instant>,
}

/// Paces requests per bucket within a concurrency limit.
#[derive(Debug)]
pub struct Governor {
    permits: Arc<Semaphore>,
    concurrency: u64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

/// Held for the duration of one request.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
    paced: Duration,
}

impl Permit {
    /// How long [`Governor::acquire`] held the caller back for the bucket's pace
    /// (not counting the wait for a concurrency slot).
    pub fn paced(&self) -> Duration {
        self.paced
    }
}

impl Governor {
    /// A governor allowing `concurrency` requests at once.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Governor {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency: concurrency as u64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a concurrency slot and for the bucket's pace.
    pub async fn acquire(&self, bucket: &'static str) -> Result<Permit, OktaError> {
        let delay = self.schedule(bucket, Instant::now());
        if !delay.is_zero() {
            tracing::debug!(
                bucket,
                delay_ms = delay.as_millis() as u64,
                "pacing for rate limit"
            );
            tokio::time::sleep(delay).await;
        }
        // The semaphore is never closed, so this cannot fail in practice.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| OktaError::Config("the request limiter was shut down".into()))?;
        Ok(Permit {
            _permit: permit,
            paced: delay,
        })
    }

    /// Computes how long a request on `bucket` issued at `now` should wait,
    /// and reserves its slot.
    pub fn schedule(&self, bucket: &'static str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(bucket).or_default();
        if b.reset_at.is_some_and(|r| now >= r) {
            // New window: unknown until the next response tells us.
            *b = Bucket::default();
        }
        let (Some(remaining), Some(reset_at)) = (b.remaining, b.reset_at) else {
            return Duration::ZERO;
        };
        let low_water = self.concurrency.max(b.limit.unwrap_or(0) / 10).max(1);
        if remaining == 0 {
            // Nothing left: queue behind the reset, a little apart.
            let slot = b.next_slot.map_or(reset_at, |s| s.max(reset_at));
            b.next_slot = Some(slot + Duration::from_millis(20));
            return slot.saturating_duration_since(now);
        }
        b.remaining = Some(remaining - 1);
        if remaining > low_water {
            return Duration::ZERO;
        }
        let spacing = reset_at.saturating_duration_since(now) / (remaining as u32).max(1);
        let slot = b.next_slot.map_or(now, |s| s.max(now));
        b.next_slot = Some(slot + spacing);
        slot.saturating_duration_since(now)
    }

    /// Records the rate-limit headers of a response on `bucket`.
    pub fn observe(&self, bucket: &'static str, headers: &HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let (Some(remaining), Some(reset)) =
            (num("x-rate-limit-remaining"), rate_limit_reset(headers))
        else {
            return;
        };
        let limit = num("x-rate-limit-limit");
        // Convert the epoch reset to a local deadline using the server's Date,
        // so clock skew does not matter; +1 s for the partial second.
        let now_epoch = server_date(headers).unwrap_or_else(|| chrono::Utc::now().timestamp());
        let until = Duration::from_secs(u64::try_from(reset - now_epoch).unwrap_or(0) + 1);
        let reset_at = Instant::now() + until;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(bucket).or_default();
        if b.reset_epoch.is_some_and(|r| r == reset) {
            // Same window: responses may arrive out of order; keep the lowest.
            b.remaining = Some(b.remaining.map_or(remaining, |r| r.min(remaining)));
        } else if b.reset_epoch.is_none_or(|r| r < reset) {
            b.remaining = Some(remaining);
            b.reset_epoch = Some(reset);
            b.reset_at = Some(reset_at);
            b.next_slot = None;
        }
        if limit.is_some() {
            b.limit = limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn buckets() {
        assert_eq!(bucket_for(&Method::GET, "/api/v1/users?limit=200"), "users");
        assert_eq!(
            bucket_for(&Method::GET, "/api/v1/users/00u1"),
            "users/{id}:get"
        );
        assert_eq!(bucket_for(&Method::GET, "/api/v1/apps/0oa1/users"), "apps");
        assert_eq!(bucket_for(&Method::GET, "/api/v1/apps/0oa1"), "apps/{id}");
        assert_eq!(
            bucket_for(&Method::PUT, "/api/v1/groups/00g1/users/00u1"),
            "other"
        );
        assert_eq!(bucket_for(&Method::GET, "/api/v1/logs?since=x"), "logs");
        assert_eq!(bucket_for(&Method::POST, "/oauth2/v1/token"), "token");
    }

    #[tokio::test(start_paused = true)]
    async fn spreads_remaining_requests_until_reset() {
        let g = Governor::new(2);
        let now = Instant::now();
        assert_eq!(
            g.schedule("users", now),
            Duration::ZERO,
            "unknown state: no wait"
        );
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let reset = chrono::Utc::now().timestamp() + 9; // window ends ~10 s from now
        let mut h = HeaderMap::new();
        h.insert("date", HeaderValue::from_str(&date).expect("v"));
        h.insert("x-rate-limit-limit", HeaderValue::from_static("20"));
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("2"));
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from_str(&reset.to_string()).expect("v"),
        );
        g.observe("users", &h);
        let now = Instant::now();
        let d1 = g.schedule("users", now);
        let d2 = g.schedule("users", now);
        let d3 = g.schedule("users", now);
        assert_eq!(d1, Duration::ZERO);
        assert!(
            d2 >= Duration::from_secs(4),
            "second of two spread out: {d2:?}"
        );
        assert!(
            d3 >= Duration::from_secs(9),
            "exhausted: wait for reset: {d3:?}"
        );
        // Other buckets are unaffected.
        assert_eq!(g.schedule("groups", now), Duration::ZERO);
    }
}
