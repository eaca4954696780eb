//! The rate-limit counters (reference 7).
//!
//! - **Buckets**: a request counts against the first bucket (in configuration order, most
//!   specific first) whose methods and pattern match it. Each bucket has one window at a time.
//! - **Windows** last 60 s divided by `time_compression`. They are *not* aligned to wall-clock
//!   minutes (reference 7: "Windows are usually 60 s, not aligned to wall-clock minutes"): a
//!   window starts at the first request after the previous window ended.
//! - **Per-app share**: an identified OAuth client may use `ceil(limit × app_share_percent / 100)`
//!   of a bucket's window, *and* the org-wide count of the bucket must not be exhausted. Clients
//!   are identified by the access token (`Authorization: Bearer|DPoP <token>`). On
//!   `/oauth2/v1/token` only the org-wide count applies: the client is not known before the
//!   request is authenticated.
//! - **Concurrency**: an org-wide count of requests in flight; beyond `concurrency` the request
//!   gets 429 with `X-Rate-Limit-Limit: 0` and `Remaining: 0` and an estimated `Reset` of
//!   now + 1 s (reference 7).
//!
//! Refused requests do not consume the window: otherwise an app hammering past its share would
//! eat the org-wide count and starve the other apps, which is what the share exists to prevent.
//!
//! Cost per request: one uncontended read lock, a linear scan of the (about ten) bucket
//! patterns without allocation, and one mutex per bucket.

use super::pattern::{PathPattern, method_matches};
use super::{BucketSpec, RateLimitConfig};
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The ceiling announced when limits are off (see [`RateLimiter::check`]).
pub const OFF_LIMIT: u32 = 1_000_000;

/// The values of the three `X-Rate-Limit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateHeaders {
    /// `X-Rate-Limit-Limit`: the ceiling that applies to this caller.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`: UTC epoch seconds when the window resets.
    pub reset: i64,
}

impl RateHeaders {
    /// Headers used when limits are off: reference 10.3 wants `X-Rate-Limit-*` on every
    /// response and the Python SDK refuses a 429/503/504 without `X-Rate-Limit-Reset`, so a
    /// disabled limiter still sends them, with a huge constant ceiling and a nominal 60 s window.
    pub fn unlimited(now_ms: i64) -> Self {
        Self {
            limit: OFF_LIMIT,
            remaining: OFF_LIMIT - 1,
            reset: now_ms.div_euclid(1000) + 60,
        }
    }

    /// A concurrency refusal: `Limit: 0`, `Remaining: 0`, `Reset` now + 1 s (an estimate, as
    /// Okta's own is, reference 7).
    pub fn concurrency(now_ms: i64) -> Self {
        Self {
            limit: 0,
            remaining: 0,
            reset: now_ms.div_euclid(1000) + 1,
        }
    }

    /// Writes the three headers, replacing any present (Okta has been seen to duplicate
    /// `X-Rate-Limit-Reset`; the simulator never does, as the Node SDK then refuses to retry).
    pub fn apply(&self, h: &mut HeaderMap) {
        h.insert("x-rate-limit-limit", HeaderValue::from(self.limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(self.remaining));
        h.insert("x-rate-limit-reset", HeaderValue::from(self.reset));
    }
}

/// What the limiter decided for one request.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    /// Name of the bucket that applied.
    pub bucket: Option<String>,
    /// Headers to send (`None`: the request hit no bucket).
    pub headers: Option<RateHeaders>,
    /// False: answer 429 `E0000047`.
    pub allowed: bool,
}

#[derive(Debug)]
struct Window {
    start_ms: i64,
    end_ms: i64,
    org: u32,
    apps: HashMap<String, u32>,
}

#[derive(Debug)]
struct Bucket {
    spec: BucketSpec,
    pattern: PathPattern,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Limits {
    config: RateLimitConfig,
    buckets: Vec<Bucket>,
    window_ms: i64,
}

impl Limits {
    fn new(config: RateLimitConfig) -> Self {
        let buckets = config
            .buckets
            .iter()
            .filter_map(|spec| {
                // Invalid patterns are refused by `validate` at the control API; a config built
                // in code with a bad pattern simply never matches that bucket.
                let pattern = PathPattern::parse(&spec.pattern).ok()?;
                Some(Bucket {
                    spec: spec.clone(),
                    pattern,
                    window: Mutex::new(Window {
                        start_ms: i64::MIN,
                        end_ms: i64::MIN,
                        org: 0,
                        apps: HashMap::new(),
                    }),
                })
            })
            .collect();
        let window_ms = config.window_ms();
        Self {
            config,
            buckets,
            window_ms,
        }
    }
}

/// The org's rate limiter. Its configuration can be replaced at runtime.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RwLock<Limits>,
    in_flight: AtomicU32,
}

/// An admitted request counted in the org's concurrency; dropping it releases the slot.
#[derive(Debug)]
pub struct InFlight<'a> {
    counter: Option<&'a AtomicU32>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.counter {
            c.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// The client's share of a bucket: `ceil(limit × percent / 100)`.
pub fn app_share(limit: u32, percent: u32) -> u32 {
    let share = (u64::from(limit) * u64::from(percent.min(100))).div_ceil(100);
    u32::try_from(share).unwrap_or(u32::MAX)
}

impl RateLimiter {
    /// A limiter for `config`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            limits: RwLock::new(Limits::new(config)),
            in_flight: AtomicU32::new(0),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> RateLimitConfig {
        self.limits.read().config.clone()
    }

    /// Replaces the configuration; every window starts afresh. Requests in flight stay counted.
    pub fn replace(&self, config: RateLimitConfig) {
        *self.limits.write() = Limits::new(config);
    }

    /// Requests currently in flight (counted only while limits are on).
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Takes a concurrency slot, or refuses when `concurrency` requests are already in flight.
    pub fn enter(&self) -> Option<InFlight<'_>> {
        let (enabled, max) = {
            let l = self.limits.read();
            (l.config.enabled, l.config.concurrency)
        };
        if !enabled {
            return Some(InFlight { counter: None });
        }
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        if before >= max {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InFlight {
            counter: Some(&self.in_flight),
        })
    }

    /// Counts a request against its bucket at `now_ms` (the org clock, epoch milliseconds, the
    /// same clock the `Date` header comes from). `client` is asked only when a bucket applies
    /// and the per-app share matters.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        now_ms: i64,
        client: impl FnOnce() -> Option<String>,
    ) -> Verdict {
        let limits = self.limits.read();
        if !limits.config.enabled {
            return Verdict {
                bucket: None,
                headers: Some(RateHeaders::unlimited(now_ms)),
                allowed: true,
            };
        }
        let Some(bucket) = limits
            .buckets
            .iter()
            .find(|b| method_matches(&b.spec.methods, method) && b.pattern.matches(path))
        else {
            return Verdict {
                bucket: None,
                headers: None,
                allowed: true,
            };
        };
        // The token endpoint authenticates the client itself: before that the caller is
        // unknown, so only the org-wide count applies there.
        let client = if is_token_endpoint(path) {
            None
        } else {
            client()
        };
        let org_limit = bucket.spec.per_minute;
        let mut w = bucket.window.lock();
        if now_ms >= w.end_ms {
            w.start_ms = now_ms;
            w.end_ms = now_ms.saturating_add(limits.window_ms);
            w.org = 0;
            w.apps.clear();
        }
        let reset = ceil_div(w.end_ms, 1000);
        let org_left = org_limit.saturating_sub(w.org);
        let (limit, allowed, remaining) = match client {
            Some(c) => {
                let app_limit = app_share(org_limit, limits.config.app_share_percent);
                let used = w.apps.get(c.as_str()).copied().unwrap_or(0);
                let app_left = app_limit.saturating_sub(used);
                if app_left == 0 || org_left == 0 {
                    (app_limit, false, 0)
                } else {
                    w.org += 1;
                    *w.apps.entry(c).or_insert(0) += 1;
                    // Remaining is what this caller can still do: the smaller of its share
                    // and what the org has left (the stricter reading).
                    (app_limit, true, (app_left - 1).min(org_left - 1))
                }
            }
            None if org_left == 0 => (org_limit, false, 0),
            None => {
                w.org += 1;
                (org_limit, true, org_left - 1)
            }
        };
        Verdict {
            bucket: Some(bucket.spec.name.clone()),
            headers: Some(RateHeaders {
                limit,
                remaining,
                reset,
            }),
            allowed,
        }
    }

    /// The configuration and the current windows, for `GET /__sim/rate-limits`.
    pub fn view(&self, now_ms: i64) -> Value {
        let limits = self.limits.read();
        let windows: Vec<Value> = limits
            .buckets
            .iter()
            .map(|b| {
                let w = b.window.lock();
                let active = now_ms < w.end_ms;
                json!({
                    "bucket": b.spec.name,
                    "limit": b.spec.per_minute,
                    "app_limit": app_share(b.spec.per_minute, limits.config.app_share_percent),
                    "active": active,
                    "used": if active { w.org } else { 0 },
                    "window_start_ms": active.then_some(w.start_ms),
                    "reset": active.then(|| ceil_div(w.end_ms, 1000)),
                    "apps": if active { json!(w.apps) } else { json!({}) },
                })
            })
            .collect();
        json!({
            "config": limits.config,
            "window_ms": limits.window_ms,
            "in_flight": self.in_flight(),
            "windows": windows,
        })
    }
}

/// Whether `path` is a token endpoint (`/oauth2/v1/token` or a custom server's).
fn is_token_endpoint(path: &str) -> bool {
    path.starts_with("/oauth2/") && path.ends_with("/v1/token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_minute: u32) -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            buckets: vec![BucketSpec {
                name: "users".into(),
                methods: vec![],
                pattern: "/api/v1/users".into(),
                per_minute,
            }],
            app_share_percent: 50,
            concurrency: 2,
            time_compression: 1.0,
        }
    }

    #[test]
    fn org_window_counts_down_and_resets() {
        let l = RateLimiter::new(config(3));
        let t0 = 1_000_500;
        for left in [2, 1, 0] {
            let v = l.check("GET", "/api/v1/users", t0, || None);
            assert!(v.allowed);
            let h = v.headers.expect("headers");
            assert_eq!((h.limit, h.remaining, h.reset), (3, left, 1061));
        }
        assert!(
            !l.check("GET", "/api/v1/users", t0 + 59_000, || None)
                .allowed
        );
        // A new window starts with the first request after the old one ended.
        let v = l.check("GET", "/api/v1/users", t0 + 90_000, || None);
        assert!(v.allowed);
        assert_eq!(v.headers.map(|h| h.reset), Some(1151));
        assert!(l.check("GET", "/other", t0, || None).headers.is_none());
    }

    #[test]
    fn app_share_and_token_endpoint() {
        let l = RateLimiter::new(config(5));
        let a = || Some("a".to_string());
        for _ in 0..3 {
            assert!(l.check("GET", "/api/v1/users", 0, a).allowed);
        }
        let v = l.check("GET", "/api/v1/users", 0, a);
        assert!(!v.allowed);
        assert_eq!(v.headers.map(|h| h.limit), Some(3));
        assert!(
            l.check("GET", "/api/v1/users", 0, || Some("b".into()))
                .allowed
        );
        assert!(
            l.check("GET", "/api/v1/users", 0, || Some("c".into()))
                .allowed
        );
        assert!(
            !l.check("GET", "/api/v1/users", 0, || Some("d".into()))
                .allowed
        );
        assert!(is_token_endpoint("/oauth2/v1/token"));
        assert_eq!(app_share(5, 50), 3);
        assert_eq!(app_share(120, 50), 60);
    }

    #[test]
    fn concurrency_slots() {
        let l = RateLimiter::new(config(5));
        let a = l.enter();
        let b = l.enter();
        assert!(a.is_some() && b.is_some());
        assert!(l.enter().is_none());
        drop(a);
        assert!(l.enter().is_some());
        assert_eq!(l.in_flight(), 1);
    }

    #[test]
    fn ceil_div_rounds_up() {
        assert_eq!(ceil_div(1000, 1000), 1);
        assert_eq!(ceil_div(1001, 1000), 2);
    }
}
