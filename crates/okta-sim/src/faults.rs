//! Faults injected per route through the control API (`/__sim/faults`), applied by the
//! `okta_envelope` middleware before the handler runs.
//!
//! A fault matches a request by method (optional) and path: `path` is a prefix, `pattern` uses
//! the rate-limit pattern syntax (see [`crate::ratelimit::pattern`]); with neither, every
//! request outside `/__sim/` matches. Kinds (`"kind"` in the JSON):
//!
//! - `status` `{status}`: answer that status with an Okta error body (`E0000009`; `E0000047`
//!   for 429); `Date` and `X-Rate-Limit-*` come along (the Python SDK needs both on 429/503/504,
//!   reference 10.7);
//! - `latency` (alias `latency_ms`) `{ms}`: wait, then carry on;
//! - `reset` `{after_bytes?}`: run the handler, send its status and headers and part of the
//!   body (default: half), then fail the body stream so the connection is dropped;
//! - `rate_limit_burst` `{reset_secs}`: 429 `E0000047` with `Remaining: 0` and
//!   `Reset` = now + `reset_secs`.
//!
//! Firing: the first `after` matches are skipped; then with `count` the fault fires on the
//! next `count` matches and expires; with `probability` it fires with that chance (seeded RNG,
//! `seed` or the fault id); with neither it fires until deleted. Faults are evaluated in
//! creation order: latencies add up, and the first `status`/`reset`/`rate_limit_burst` that
//! fires ends the evaluation.

use crate::ratelimit::pattern::{PathPattern, method_matches};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status.
    Status {
        /// 4xx or 5xx.
        status: u16,
    },
    /// Delay the request.
    #[serde(alias = "latency_ms")]
    Latency {
        /// Milliseconds to wait.
        #[serde(alias = "latency_ms")]
        ms: u64,
    },
    /// Drop the connection in the middle of the response body.
    Reset {
        /// Bytes of the real body sent before the drop (default: half of it).
        #[serde(default)]
        after_bytes: Option<usize>,
    },
    /// A 429 `E0000047` whose window resets `reset_secs` from now.
    RateLimitBurst {
        /// Seconds until `X-Rate-Limit-Reset`.
        #[serde(default = "default_reset_secs")]
        reset_secs: u64,
    },
}

fn default_reset_secs() -> u64 {
    2
}

/// A fault as posted to `POST /__sim/faults`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Only this method (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Path pattern (`*` one segment, trailing `/**` any rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What to do.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Fire on this many matches, then expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire with this probability (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Skip this many matches first.
    #[serde(default)]
    pub after: u64,
    /// Seed of the RNG used with `probability` (default: the fault id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FaultSpec {
    /// Checks the spec; returns the compiled pattern, if any.
    fn validate(&self) -> Result<Option<PathPattern>, String> {
        if self.path.is_some() && self.pattern.is_some() {
            return Err("give either `path` (a prefix) or `pattern`, not both".into());
        }
        if self.count.is_some() && self.probability.is_some() {
            return Err("give either `count` or `probability`, not both".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("`probability` must be between 0 and 1".into());
        }
        if let FaultKind::Status { status } = self.kind
            && !(400..=599).contains(&status)
        {
            return Err("`status` must be a 4xx or 5xx code".into());
        }
        if let Some(path) = &self.path
            && !path.starts_with('/')
        {
            return Err("`path` must start with `/`".into());
        }
        self.pattern.as_deref().map(PathPattern::parse).transpose()
    }
}

/// A terminal action: the handler's response is replaced (or truncated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// Answer with this status.
    Status(u16),
    /// Truncate the body and drop the connection.
    Reset {
        /// Bytes sent before the drop (`None`: half).
        after_bytes: Option<usize>,
    },
    /// 429 with `Reset` = now + this many seconds.
    RateLimitBurst(u64),
}

/// What to inject into one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Injection {
    /// Wait this long first.
    pub delay: Duration,
    /// Then replace the response this way, if set.
    pub terminal: Option<Terminal>,
    /// Ids of the faults that fired.
    pub fired: Vec<u64>,
}

#[derive(Debug)]
struct Fault {
    id: u64,
    spec: FaultSpec,
    pattern: Option<PathPattern>,
    matched: u64,
    fired: u64,
    rng: StdRng,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.spec.method
            && !method_matches(std::slice::from_ref(m), method)
        {
            return false;
        }
        match (&self.spec.path, &self.pattern) {
            (Some(prefix), _) => path.starts_with(prefix.as_str()),
            (None, Some(p)) => p.matches(path),
            (None, None) => true,
        }
    }

    /// Counts a match; whether the fault fires on it.
    fn fires(&mut self) -> bool {
        self.matched += 1;
        if self.matched <= self.spec.after {
            return false;
        }
        let fire = match (self.spec.count, self.spec.probability) {
            (Some(n), _) => self.fired < n,
            (None, Some(p)) => self.rng.random_bool(p),
            (None, None) => true,
        };
        if fire {
            self.fired += 1;
        }
        fire
    }

    fn expired(&self) -> bool {
        self.spec.count.is_some_and(|n| self.fired >= n)
    }

    fn view(&self) -> Value {
        json!({"id": self.id.to_string(), "spec": self.spec, "matched": self.matched, "fired": self.fired})
    }
}

/// The injected faults.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
    /// Number of faults in `list`, read without the lock on the fast path.
    active: AtomicUsize,
    next_id: AtomicU64,
}

impl Faults {
    /// Adds a fault; returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, String> {
        let pattern = spec.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let rng = StdRng::seed_from_u64(spec.seed.unwrap_or(id));
        let mut list = self.list.lock();
        list.push(Fault {
            id,
            spec,
            pattern,
            matched: 0,
            fired: 0,
            rng,
        });
        self.active.store(list.len(), Ordering::Release);
        Ok(id)
    }

    /// Removes one fault; false when unknown (or already expired).
    pub fn remove(&self, id: u64) -> bool {
        let mut list = self.list.lock();
        let before = list.len();
        list.retain(|f| f.id != id);
        self.active.store(list.len(), Ordering::Release);
        list.len() != before
    }

    /// Removes every fault; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut list = self.list.lock();
        let n = list.len();
        list.clear();
        self.active.store(0, Ordering::Release);
        n
    }

    /// The faults in force with their counters.
    pub fn view(&self) -> Vec<Value> {
        self.list.lock().iter().map(Fault::view).collect()
    }

    /// Decides what to inject into a request (see the module doc for the order).
    pub fn evaluate(&self, method: &str, path: &str) -> Injection {
        let mut out = Injection::default();
        if self.active.load(Ordering::Acquire) == 0 {
            return out;
        }
        let mut list = self.list.lock();
        for f in list.iter_mut() {
            if !f.matches(method, path) || !f.fires() {
                continue;
            }
            out.fired.push(f.id);
            match f.spec.kind {
                FaultKind::Latency { ms } => out.delay += Duration::from_millis(ms),
                FaultKind::Status { status } => out.terminal = Some(Terminal::Status(status)),
                FaultKind::Reset { after_bytes } => {
                    out.terminal = Some(Terminal::Reset { after_bytes })
                }
                FaultKind::RateLimitBurst { reset_secs } => {
                    out.terminal = Some(Terminal::RateLimitBurst(reset_secs))
                }
            }
            if out.terminal.is_some() {
                break;
            }
        }
        list.retain(|f| !f.expired());
        self.active.store(list.len(), Ordering::Release);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> FaultSpec {
        serde_json::from_value(v).expect("valid spec")
    }

    #[test]
    fn count_after_and_expiry() {
        let faults = Faults::default();
        faults
            .add(spec(json!({"kind": "status", "status": 503, "path": "/api/v1/users", "count": 2, "after": 1})))
            .expect("added");
        let hits: Vec<Option<Terminal>> = (0..5)
            .map(|_| faults.evaluate("GET", "/api/v1/users/00u1").terminal)
            .collect();
        let s = Some(Terminal::Status(503));
        assert_eq!(hits, vec![None, s, s, None, None]);
        assert!(faults.view().is_empty());
        assert_eq!(
            faults.evaluate("GET", "/api/v1/groups"),
            Injection::default()
        );
    }

    #[test]
    fn latency_adds_up_and_method_filters() {
        let faults = Faults::default();
        faults
            .add(spec(
                json!({"kind": "latency_ms", "latency_ms": 5, "method": "get"}),
            ))
            .expect("added");
        faults
            .add(spec(
                json!({"kind": "latency", "ms": 7, "pattern": "/api/v1/*"}),
            ))
            .expect("added");
        assert_eq!(
            faults.evaluate("GET", "/api/v1/logs").delay,
            Duration::from_millis(12)
        );
        assert_eq!(
            faults.evaluate("POST", "/api/v1/logs").delay,
            Duration::from_millis(7)
        );
    }

    #[test]
    fn probability_is_seeded() {
        let run = || {
            let faults = Faults::default();
            faults
                .add(spec(
                    json!({"kind": "rate_limit_burst", "probability": 0.5, "seed": 9}),
                ))
                .expect("added");
            (0..64)
                .map(|_| faults.evaluate("GET", "/x").terminal.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }

    #[test]
    fn invalid_specs_are_refused() {
        let faults = Faults::default();
        assert!(
            faults
                .add(spec(json!({"kind": "status", "status": 200})))
                .is_err()
        );
        assert!(
            faults
                .add(spec(json!({"kind": "reset", "probability": 2.0})))
                .is_err()
        );
        assert!(
            faults
                .add(spec(
                    json!({"kind": "reset", "path": "/a", "pattern": "/b"})
                ))
                .is_err()
        );
    }
}
