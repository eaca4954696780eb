//! Client-side pacing so that normal work never hits a 429 (reference 7).
//!
//! # What the server tells us
//!
//! Each rate-limit bucket has one window at a time. A window lasts `W` (60 s at Okta) and is
//! not aligned to wall-clock minutes: it starts at the first request after the previous window
//! ended. Every response of a bucket carries
//!
//! * `X-Rate-Limit-Limit`: this client's limit per window;
//! * `X-Rate-Limit-Remaining`: what this client may still do in the window *after* this
//!   request;
//! * `X-Rate-Limit-Reset`: `ceil(window_end)` in epoch seconds;
//! * `Date`: the server's time, floored to the second.
//!
//! Refused requests (429) do not consume the window.
//!
//! # When does a window end, on our clock?
//!
//! Local time is tokio's monotonic [`Instant`]. For a response to a request sent at local
//! `t_s` and received at local `t_r`, the server generated it at some local instant
//! `g ∈ [t_s, t_r]`, and its clock then read `d ≤ g + offset < d + 1 s` (`Date` is floored),
//! where `offset` is the server clock minus ours. Hence
//!
//! ```text
//! d − t_r  ≤  offset  <  d + 1 s − t_s
//! ```
//!
//! [`ServerClock`] keeps the largest lower bound seen. Because `Date` ticks are observed at
//! different phases, it converges to within about one round trip of the true offset. A
//! window whose `Reset` is `R` ends at server time `≤ R`, that is at local time
//! `≤ R − offset ≤ R − offset_low`: this is the *reset deadline*. (The previous rule,
//! `(R − Date) + 1 s` after receipt, is always at least as late, and a whole window late
//! when windows last one second.) Without `Date` we fall back to that rule, on the local
//! wall clock.
//!
//! The window also started no later than the server generated the first response we see
//! from it, so it ends no later than `t_r(first) + W`: the *length deadline*. This is only
//! true if `W` is not shorter than the server's window, which is why
//! [`crate::TransportOptions::rate_limit_window`] defaults to Okta's documented 60 s. The
//! deadline of a window is the earlier of the two. Two checks guard the length rule: it is
//! not applied to a response whose `Reset` is further away than one window (`R > Date +
//! 1 s + W`, e.g. Okta's longer penalty resets), and if a request sent after a window's
//! deadline is still answered from that window, the governor knows its deadline was wrong,
//! stops using the length rule and restarts the clock estimate (a warning is logged).
//!
//! Clocks drift: bounds are widened by [`DRIFT`] (0.1 %, far beyond NTP-disciplined clocks)
//! of the time elapsed since they were measured, and a response whose upper bound contradicts
//! the stored lower bound (the server clock was stepped back) restarts the estimate.
//!
//! # How many requests may still go?
//!
//! Within one window, let `q*` be the counted response with the smallest `Remaining` `r*`.
//! Any other request the server counts in this window after `q*` either has completed (then
//! its `Remaining` would be below `r*`, a contradiction) or is still in flight. So the
//! server will never have counted more than `limit − r* + in_flight` of our requests, and
//! one more request is safe exactly while `in_flight < r*`. The governor admits on that
//! rule, counting *every* request of the bucket that is in flight (admitted and not yet
//! answered), whenever it was sent: a request sent before `q*` may still reach the server
//! after it (separate connections do not keep order). Counting those is not wasteful: as
//! soon as their answers arrive they leave `in_flight` and `r*` is unchanged, so the
//! budget comes back. In steady state this admits exactly `limit` requests per window.
//!
//! * After a window's deadline the server's window has certainly ended, so the next one
//!   has a full `limit`; requests still in flight may land in it, so they are counted
//!   against it too (`limit − in_flight`). Many requests fire at once at that moment,
//!   which is fine.
//! * A response with a new `Reset` means the server has started a new window (resets of
//!   consecutive windows differ when `W ≥ 1 s`): its `Remaining` applies from then on,
//!   even before our (conservative) deadline for the old one.
//! * A 429 with `X-Rate-Limit-Limit` > 0 is observed like any response: `Remaining: 0`
//!   holds callers until the deadline. A concurrency refusal (`X-Rate-Limit-Limit: 0`) says
//!   nothing about the bucket's window and only ends its request; the retry loop backs off.
//! * A request that ends without rate-limit headers (connection error, a proxy's 5xx) may
//!   have been counted: it is charged to the current window.
//! * Until a bucket's limit is known, one request at a time probes it. If the answer has no
//!   rate-limit headers the bucket is treated as unmetered until one does.
//!
//! Admitting until the budget is exhausted and then waiting for the deadline gives the most
//! requests per unit of time; there is no need to spread the last requests of a window out.
//! Callers held back are woken by every answer (the budget may come back) and at the
//! deadline. A semaphore caps concurrency (Okta's org-wide concurrency limit is 75, or 35 on
//! Integrator Free). Requests from other apps of the org that share an org-wide bucket are
//! invisible to the governor; `Remaining` already reflects what they used before our request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::retry::{rate_limit_reset, server_date};
use crate::error::OktaError;

/// Relative clock drift allowed between the server's clock and ours (0.1 %): every bound
/// derived from a measurement is widened by this fraction of the time since.
pub const DRIFT: f64 = 1e-3;

const NANOS: i128 = 1_000_000_000;

/// Okta's documented window length.
const OKTA_WINDOW: Duration = Duration::from_secs(60);

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

/// `d` widened by the allowed drift.
fn widen(d: Duration) -> Duration {
    d + d.mul_f64(DRIFT)
}

/// The offset of the server's clock against ours, as a lower bound (see the module docs).
#[derive(Debug)]
struct ServerClock {
    /// Local times are nanoseconds since this instant.
    origin: Instant,
    /// `(lower bound of server epoch ns − local ns, local instant it was established)`.
    low: Option<(i128, Instant)>,
}

impl ServerClock {
    fn local_ns(&self, t: Instant) -> i128 {
        t.saturating_duration_since(self.origin).as_nanos() as i128
    }

    /// The lower bound at `now`, widened for drift since it was measured.
    fn low_at(&self, now: Instant) -> Option<i128> {
        self.low.map(|(v, at)| {
            let aged = now.saturating_duration_since(at).as_nanos() as f64 * DRIFT;
            v - aged.ceil() as i128
        })
    }

    /// Learns from a response with `Date` = `date` (epoch seconds) to a request sent at
    /// `sent` and received at `received`.
    fn learn(&mut self, date: i64, sent: Instant, received: Instant) {
        let d = i128::from(date) * NANOS;
        let lower = d - self.local_ns(received);
        let upper = d + NANOS - self.local_ns(sent);
        self.low = Some(match self.low_at(received) {
            Some(cur) if cur >= upper => {
                tracing::warn!(
                    shift_ms = ((cur - upper) / 1_000_000) as i64,
                    "the server clock moved back; re-estimating its offset"
                );
                (lower, received)
            }
            Some(cur) => (cur.max(lower), received),
            None => (lower, received),
        });
    }

    /// The local instant by which the server clock has certainly reached `epoch` seconds,
    /// computed at `now` (widened for drift until then).
    fn local_instant(&self, epoch: i64, now: Instant) -> Option<Instant> {
        let low = self.low_at(now)?;
        let local = i128::from(epoch) * NANOS - low;
        let at =
            self.origin + Duration::from_nanos(u64::try_from(local.max(0)).unwrap_or(u64::MAX));
        Some(now + widen(at.saturating_duration_since(now)))
    }

    fn restart(&mut self) {
        self.low = None;
    }
}

/// A window the server has told us about.
#[derive(Debug)]
struct Window {
    /// Its `X-Rate-Limit-Reset`.
    reset: i64,
    /// The local instant by which it has certainly ended.
    deadline: Instant,
}

#[derive(Debug, Default)]
struct Bucket {
    /// The last `X-Rate-Limit-Limit` above 0.
    limit: Option<u64>,
    /// No limit known and a response came back without rate-limit headers.
    unmetered: bool,
    /// Requests admitted and not yet answered (including those waiting for a
    /// concurrency slot).
    in_flight: u64,
    /// What the server still allows in the current window, not counting requests in
    /// flight: the smallest `Remaining` seen in it, minus requests lost without an answer.
    /// `None` while the limit is unknown.
    remaining: Option<u64>,
    /// The current window, if a response has told us its reset; `None` before the first
    /// response of a new window.
    window: Option<Window>,
    /// The last window considered over, and the deadline it was given.
    expired: Option<(i64, Instant)>,
}

impl Bucket {
    /// Moves to a fresh window once the current one's deadline has passed.
    fn roll(&mut self, now: Instant) {
        if let Some(w) = &self.window
            && now >= w.deadline
        {
            self.expired = Some((w.reset, w.deadline));
            self.window = None;
            self.remaining = self.limit;
        }
    }

    /// How many requests may be in flight at once right now.
    fn cap(&self) -> u64 {
        match self.remaining {
            Some(r) => r,
            None if self.unmetered => u64::MAX,
            // Probe: one request at a time until the limit is known.
            None => 1,
        }
    }

    /// A request that may have been counted ended without telling us anything.
    fn charge_unknown(&mut self, had_response: bool) {
        match (&mut self.remaining, self.limit) {
            (Some(r), _) => *r = r.saturating_sub(1),
            (None, None) if had_response => self.unmetered = true,
            _ => {}
        }
    }
}

/// Paces requests per bucket within a concurrency limit.
#[derive(Debug)]
pub struct Governor {
    permits: Arc<Semaphore>,
    window: Duration,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Debug)]
struct State {
    clock: ServerClock,
    /// False once the length rule has been caught giving a deadline that was too early.
    trust_window: bool,
    buckets: HashMap<&'static str, Bucket>,
}

/// Held for the duration of one request; give it back with [`Governor::observe`] when
/// the response arrives. Dropping it without an observation (a connection error, a
/// cancelled request) counts the request as possibly used.
#[derive(Debug)]
pub struct Permit<'a> {
    /// `None` once the request has been observed.
    governor: Option<&'a Governor>,
    bucket: &'static str,
    sent_at: Option<Instant>,
    _permit: Option<OwnedSemaphorePermit>,
    paced: Duration,
}

impl Permit<'_> {
    /// How long [`Governor::acquire`] held the caller back for the bucket's budget
    /// (not counting the wait for a concurrency slot).
    pub fn paced(&self) -> Duration {
        self.paced
    }

    /// The bucket.
    pub fn bucket(&self) -> &'static str {
        self.bucket
    }

    /// When the request was let go (after the concurrency slot was obtained).
    pub fn sent_at(&self) -> Option<Instant> {
        self.sent_at
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // Not observed: the request ended without a response (or was never sent, if
        // `sent_at` is `None`, e.g. cancelled while waiting for a concurrency slot).
        let Some(governor) = self.governor.take() else {
            return;
        };
        let sent = self.sent_at.is_some();
        governor.finish(self.bucket, |b| {
            if sent {
                b.charge_unknown(false);
            }
        });
    }
}

impl Governor {
    /// A governor allowing `concurrency` requests at once, for Okta's 60 s windows.
    pub fn new(concurrency: usize) -> Self {
        Self::with_window(concurrency, OKTA_WINDOW)
    }

    /// A governor allowing `concurrency` requests at once, for a server whose rate-limit
    /// windows last at most `window` (see [`crate::TransportOptions::rate_limit_window`]).
    pub fn with_window(concurrency: usize, window: Duration) -> Self {
        Governor {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            window,
            state: Mutex::new(State {
                clock: ServerClock {
                    origin: Instant::now(),
                    low: None,
                },
                trust_window: true,
                buckets: HashMap::new(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `bucket` has budget for one more request and a concurrency slot is free.
    /// The request counts as in flight from the moment it is admitted.
    pub async fn acquire(&self, bucket: &'static str) -> Result<Permit<'_>, OktaError> {
        let start = Instant::now();
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Register before looking, so that a change in between is not missed.
            notified.as_mut().enable();
            let wait = {
                let mut st = self.lock();
                let now = Instant::now();
                let b = st.buckets.entry(bucket).or_default();
                b.roll(now);
                if b.in_flight < b.cap() {
                    b.in_flight += 1;
                    None
                } else {
                    Some(b.window.as_ref().map(|w| w.deadline))
                }
            };
            match wait {
                None => break,
                Some(deadline) => {
                    let now = Instant::now();
                    let wait_ms =
                        deadline.map(|d| d.saturating_duration_since(now).as_millis() as u64);
                    tracing::debug!(bucket, wait_ms, "holding a request for the rate limit");
                    match deadline {
                        Some(d) => {
                            tokio::select! {
                                () = tokio::time::sleep_until(d) => {}
                                () = &mut notified => {}
                            }
                        }
                        None => notified.await,
                    }
                }
            }
        }
        let mut permit = Permit {
            governor: Some(self),
            bucket,
            sent_at: None,
            _permit: None,
            paced: start.elapsed(),
        };
        // The semaphore is never closed, so this cannot fail in practice. Dropping `permit`
        // on the way out gives the admission back.
        let slot = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| OktaError::Config("the request limiter was shut down".into()))?;
        permit._permit = Some(slot);
        permit.sent_at = Some(Instant::now());
        Ok(permit)
    }

    /// Ends `permit`'s request: removes it from the in-flight count and runs `f` under the
    /// same lock, so that the count and the budget change together.
    fn finish(&self, bucket: &'static str, f: impl FnOnce(&mut Bucket)) {
        {
            let mut st = self.lock();
            let b = st.buckets.entry(bucket).or_default();
            b.in_flight = b.in_flight.saturating_sub(1);
            f(b);
        }
        self.changed.notify_waiters();
    }

    /// Records the response to `permit`'s request (any status, including 429).
    pub fn observe(&self, mut permit: Permit<'_>, headers: &HeaderMap) {
        let received = Instant::now();
        let sent = permit.sent_at.unwrap_or(received);
        // Taking the governor disarms the drop's accounting; the concurrency slot is
        // released when `permit` goes out of scope.
        if let Some(governor) = permit.governor.take() {
            governor.record(permit.bucket, headers, sent, received);
        }
    }

    fn record(&self, bucket: &'static str, headers: &HeaderMap, sent: Instant, received: Instant) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let remaining = num("x-rate-limit-remaining");
        let reset = rate_limit_reset(headers);
        let limit = num("x-rate-limit-limit");
        let date = server_date(headers);
        let window_len = self.window;
        {
            let mut st = self.lock();
            let st = &mut *st;
            if let Some(d) = date {
                st.clock.learn(d, sent, received);
            }
            let b = st.buckets.entry(bucket).or_default();
            b.in_flight = b.in_flight.saturating_sub(1);
            b.roll(received);
            match (limit, remaining, reset) {
                // A concurrency refusal: nothing about the bucket's window.
                (Some(0), _, _) => {}
                (_, Some(remaining), Some(reset)) => {
                    if let Some(l) = limit {
                        b.limit = Some(l);
                        b.unmetered = false;
                    } else if b.limit.is_none() {
                        b.limit = Some(remaining.saturating_add(1));
                    }
                    let ctx = Seen {
                        reset,
                        remaining,
                        date,
                        sent,
                        received,
                        window_len,
                    };
                    ctx.apply(st, bucket);
                }
                _ => b.charge_unknown(true),
            }
        }
        self.changed.notify_waiters();
    }

    #[cfg(test)]
    fn snapshot(&self, bucket: &'static str) -> (u64, Option<u64>, Option<Instant>) {
        let st = self.lock();
        st.buckets.get(bucket).map_or((0, None, None), |b| {
            (
                b.in_flight,
                b.remaining,
                b.window.as_ref().map(|w| w.deadline),
            )
        })
    }

    #[cfg(test)]
    fn offset_low(&self) -> Option<i128> {
        let st = self.lock();
        st.clock.low.map(|(v, _)| v)
    }
}

/// One response with rate-limit headers.
struct Seen {
    reset: i64,
    remaining: u64,
    date: Option<i64>,
    sent: Instant,
    received: Instant,
    window_len: Duration,
}

impl Seen {
    /// The deadline of the window this response came from, as far as this response tells.
    fn deadline(&self, st: &State, first_of_window: bool) -> Instant {
        let Some(date) = self.date else {
            // No `Date`: the conservative rule on our own wall clock.
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let secs = u64::try_from(self.reset - now).unwrap_or(0) + 1;
            return self.received + Duration::from_secs(secs);
        };
        let by_reset = st
            .clock
            .local_instant(self.reset, self.received)
            .unwrap_or(self.received);
        // The length rule, for the first response of a window whose reset fits in one window.
        let fits = self.reset <= date + 1 + self.window_len.as_secs_f64().ceil() as i64;
        if first_of_window && fits && st.trust_window {
            by_reset.min(self.received + widen(self.window_len))
        } else {
            by_reset
        }
    }

    fn apply(self, st: &mut State, bucket: &'static str) {
        let current = st
            .buckets
            .get(bucket)
            .and_then(|b| b.window.as_ref().map(|w| w.reset));
        let expired = st.buckets.get(bucket).and_then(|b| b.expired);
        match current {
            Some(r) if self.reset == r => {
                let deadline = self.deadline(st, false);
                let b = st.buckets.get_mut(bucket).expect("bucket exists");
                b.remaining = Some(
                    b.remaining
                        .map_or(self.remaining, |x| x.min(self.remaining)),
                );
                if let Some(w) = &mut b.window {
                    w.deadline = w.deadline.min(deadline);
                }
            }
            // A late answer from an earlier window.
            Some(r) if self.reset < r => {}
            _ => {
                if let Some((er, edl)) = expired
                    && self.reset <= er
                {
                    if self.reset == er && self.sent >= edl {
                        // Sent after we deemed the window over, yet counted in it: the
                        // deadline was too early. Stop trusting the length rule and, if the
                        // reset rule is contradicted too (the window ends before `R − low`,
                        // so at server time < R, while this request was sent no earlier
                        // than local `R − low`), the clock estimate. Go back to that window.
                        tracing::warn!(
                            bucket,
                            "a rate-limit window outlived its computed end; is \
                             rate_limit_window shorter than the server's window?"
                        );
                        st.trust_window = false;
                        let by_reset = st.clock.local_instant(self.reset, self.received);
                        if by_reset.is_none_or(|t| t <= self.sent) {
                            st.clock.restart();
                            if let Some(d) = self.date {
                                st.clock.learn(d, self.sent, self.received);
                            }
                        }
                        let deadline = self.deadline(st, false);
                        let b = st.buckets.get_mut(bucket).expect("bucket exists");
                        b.expired = None;
                        b.remaining = Some(
                            b.remaining
                                .map_or(self.remaining, |x| x.min(self.remaining)),
                        );
                        b.window = Some(Window {
                            reset: self.reset,
                            deadline,
                        });
                    }
                    // Otherwise a late answer from a window that is over.
                    return;
                }
                // A new window. If we were already in a known one, the server has moved on
                // and its `Remaining` replaces ours; after a deadline, the fresh budget may
                // have been charged already, so keep the smaller.
                let deadline = self.deadline(st, true);
                let b = st.buckets.get_mut(bucket).expect("bucket exists");
                b.remaining = Some(match (&b.window, b.remaining) {
                    (None, Some(x)) => x.min(self.remaining),
                    _ => self.remaining,
                });
                b.window = Some(Window {
                    reset: self.reset,
                    deadline,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::future::Future;
    use std::pin::{Pin, pin};
    use std::task::{Context, Poll, Waker};

    /// 2023-11-14T22:13:20Z.
    const E0: i64 = 1_700_000_000;
    const MS: Duration = Duration::from_millis(1);

    fn headers(date: Option<i64>, limit: u64, remaining: u64, reset: i64) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(d) = date {
            let t = UNIX_EPOCH + Duration::from_secs(d as u64);
            let v = HeaderValue::from_str(&httpdate::fmt_http_date(t)).expect("date");
            h.insert("date", v);
        }
        h.insert("x-rate-limit-limit", HeaderValue::from(limit));
        h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
        h.insert("x-rate-limit-reset", HeaderValue::from(reset));
        h
    }

    /// Polls once; `Some` if the future completed.
    fn ready<F: Future>(f: Pin<&mut F>) -> Option<F::Output> {
        match f.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }

    async fn admit<'a>(g: &'a Governor, bucket: &'static str) -> Permit<'a> {
        let mut f = pin!(g.acquire(bucket));
        ready(f.as_mut())
            .expect("admitted without waiting")
            .expect("permit")
    }

    fn ns(d: Duration) -> i128 {
        d.as_nanos() as i128
    }

    fn deadline(g: &Governor, bucket: &'static str) -> Instant {
        g.snapshot(bucket).2.expect("window known")
    }

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

    /// The server clock reads `E0 + 0.5 s` at the governor's creation (local 0).
    #[tokio::test(start_paused = true)]
    async fn offset_estimate_tightens_and_sets_the_reset_deadline() {
        // A long window so that only the reset rule matters here.
        let g = Governor::with_window(4, Duration::from_secs(600));
        let t0 = Instant::now();
        let truth = i128::from(E0) * NANOS + ns(500 * MS);
        let reset = E0 + 60; // the window ends at server time <= E0 + 60 s, local <= t0 + 59.5 s

        // Generated at local 0.1 s (server E0 + 0.6: Date E0), received at 0.3 s.
        let p = admit(&g, "users").await;
        tokio::time::advance(300 * MS).await;
        g.observe(p, &headers(Some(E0), 100, 99, reset));
        assert_eq!(g.offset_low(), Some(truth - ns(800 * MS)));
        // R − low = 60.3 s after t0 (+ 0.1 % of the 60 s ahead for drift).
        assert_eq!(deadline(&g, "users"), t0 + 60300 * MS + 60 * MS);

        // Sent at 0.3 s, generated at 0.5 s (server E0 + 1.0: Date E0 + 1), received at 0.55 s.
        let p = admit(&g, "users").await;
        tokio::time::advance(250 * MS).await;
        g.observe(p, &headers(Some(E0 + 1), 100, 98, reset));
        assert_eq!(g.offset_low(), Some(truth - ns(50 * MS)), "within the RTT");
        let d = deadline(&g, "users");
        assert!(
            d >= t0 + 59550 * MS && d <= t0 + 59550 * MS + 60 * MS,
            "{:?}",
            d - t0
        );
        // The old rule, (R − Date) + 1 s after receipt, would have said t0 + 60.55 s.

        // A looser observation does not loosen the bound (beyond drift).
        let p = admit(&g, "users").await;
        tokio::time::advance(350 * MS).await;
        g.observe(p, &headers(Some(E0 + 1), 100, 97, reset));
        let low = g.offset_low().expect("low");
        assert!(low <= truth - ns(50 * MS) && low >= truth - ns(51 * MS));

        // The server clock is stepped back 10 s: the bound contradicts it and restarts.
        let p = admit(&g, "users").await;
        tokio::time::advance(100 * MS).await;
        g.observe(p, &headers(Some(E0 - 9), 100, 96, reset));
        let received = ns(1000 * MS);
        assert_eq!(g.offset_low(), Some(i128::from(E0 - 9) * NANOS - received));
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_is_the_earlier_of_reset_and_window_length() {
        let one = Duration::from_secs(1);
        // 1 s windows (60x): the reset says <= 2 s from now, the length rule 1 s.
        let g = Governor::with_window(4, one);
        let p = admit(&g, "a").await;
        let t = Instant::now();
        g.observe(p, &headers(Some(E0), 20, 19, E0 + 2));
        assert_eq!(deadline(&g, "a"), t + one + MS);

        // 6 s windows (10x): the reset (3 s) is earlier than the length (6 s).
        let g = Governor::with_window(4, Duration::from_secs(6));
        let p = admit(&g, "a").await;
        g.observe(p, &headers(Some(E0), 20, 19, E0 + 3));
        assert_eq!(deadline(&g, "a"), t + Duration::from_secs(3) + 3 * MS);

        // A reset further than one window away (a penalty) is honoured as is.
        let g = Governor::with_window(4, one);
        let p = admit(&g, "a").await;
        g.observe(p, &headers(Some(E0), 20, 0, E0 + 30));
        assert_eq!(deadline(&g, "a"), t + Duration::from_secs(30) + 30 * MS);

        // The length rule holds from the *first* response of the window only.
        let g = Governor::with_window(4, one);
        let p = admit(&g, "a").await;
        g.observe(p, &headers(Some(E0), 20, 19, E0 + 2));
        let p = admit(&g, "a").await;
        tokio::time::advance(500 * MS).await;
        g.observe(p, &headers(Some(E0), 20, 18, E0 + 2));
        assert_eq!(deadline(&g, "a"), t + one + MS);

        // Without Date: the conservative rule on the local wall clock.
        let g = Governor::with_window(4, one);
        let p = admit(&g, "a").await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("now")
            .as_secs() as i64;
        let t = Instant::now();
        g.observe(p, &headers(None, 20, 19, now + 5));
        let d = deadline(&g, "a") - t;
        assert!(
            d >= Duration::from_secs(5) && d <= Duration::from_secs(7),
            "{d:?}"
        );
    }

    /// Limit 10, concurrency 10: ten requests sent before any answer use the whole window.
    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_against_the_window() {
        let g = Governor::with_window(10, Duration::from_secs(1));
        // Learn the limit in a first window, then let it end.
        let p = admit(&g, "apps").await;
        g.observe(p, &headers(Some(E0), 10, 9, E0 + 1));
        tokio::time::advance(1100 * MS).await;

        let mut sent: Vec<Option<Permit<'_>>> = Vec::new();
        for _ in 0..10 {
            sent.push(Some(admit(&g, "apps").await));
            tokio::time::advance(MS).await;
        }
        assert_eq!(g.snapshot("apps").0, 10);
        let mut eleventh = pin!(g.acquire("apps"));
        assert!(ready(eleventh.as_mut()).is_none(), "the 11th waits");

        // The first answer: 9 left, 9 in flight.
        let t1 = Instant::now();
        let mut answer = |i: usize, remaining: u64| {
            let p = sent[i].take().expect("in flight");
            g.observe(p, &headers(Some(E0 + 1), 10, remaining, E0 + 3));
        };
        answer(0, 9);
        assert!(ready(eleventh.as_mut()).is_none());
        // The 4th sent is answered with 5 left while 6 later-sent ones (and 2 earlier) are
        // in flight: nothing more may go.
        answer(3, 5);
        assert!(ready(eleventh.as_mut()).is_none());
        answer(1, 7);
        answer(2, 6);
        assert_eq!(g.snapshot("apps").0, 6);
        assert!(ready(eleventh.as_mut()).is_none(), "5 left, 6 in flight");
        for (i, r) in (4..9).zip([4, 3, 2, 1, 0]) {
            answer(i, r);
        }
        // The server refuses the last one (refusals are not counted).
        answer(9, 0);
        assert_eq!(g.snapshot("apps"), (0, Some(0), Some(t1 + 1001 * MS)));
        assert!(ready(eleventh.as_mut()).is_none(), "window used up");
        tokio::time::advance(1000 * MS).await;
        assert!(
            ready(eleventh.as_mut()).is_none(),
            "not before the deadline"
        );
        tokio::time::advance(MS).await;
        let p = ready(eleventh.as_mut())
            .expect("at the deadline")
            .expect("permit");
        assert_eq!(p.paced(), 1001 * MS);
        // A fresh window: the full limit, this request included.
        assert_eq!(g.snapshot("apps").1, Some(10));
    }

    #[tokio::test(start_paused = true)]
    async fn answers_to_earlier_requests_give_budget_back() {
        let g = Governor::with_window(10, Duration::from_secs(60));
        let p = admit(&g, "apps").await;
        g.observe(p, &headers(Some(E0), 10, 9, E0 + 60));
        let mut a: Vec<Option<Permit<'_>>> = Vec::new();
        for _ in 0..5 {
            a.push(Some(admit(&g, "apps").await));
        }
        // The third is answered first: 6 left; 4 in flight, so 2 more may go.
        g.observe(a[2].take().expect("p"), &headers(Some(E0), 10, 6, E0 + 60));
        let _n1 = admit(&g, "apps").await;
        let _n2 = admit(&g, "apps").await;
        {
            let mut f = pin!(g.acquire("apps"));
            assert!(ready(f.as_mut()).is_none());
        }
        // The first two were counted before it: they free their places.
        g.observe(a[0].take().expect("p"), &headers(Some(E0), 10, 8, E0 + 60));
        g.observe(a[1].take().expect("p"), &headers(Some(E0), 10, 7, E0 + 60));
        let _n3 = admit(&g, "apps").await;
        let _n4 = admit(&g, "apps").await;
        let mut f = pin!(g.acquire("apps"));
        assert!(ready(f.as_mut()).is_none(), "3 + 6 in flight = 9 = all");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_callers_until_the_deadline() {
        let g = Governor::with_window(4, Duration::from_secs(6));
        let p = admit(&g, "logs").await;
        let t = Instant::now();
        g.observe(p, &headers(Some(E0), 20, 0, E0 + 4));
        let mut f = pin!(g.acquire("logs"));
        assert!(ready(f.as_mut()).is_none());
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(ready(f.as_mut()).is_none());
        tokio::time::advance(4 * MS).await;
        assert!(ready(f.as_mut()).is_some());
        assert_eq!(Instant::now() - t, Duration::from_secs(4) + 4 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn a_concurrency_refusal_leaves_the_window_alone() {
        let g = Governor::with_window(4, Duration::from_secs(60));
        let p = admit(&g, "users").await;
        g.observe(p, &headers(Some(E0), 20, 5, E0 + 30));
        let before = g.snapshot("users");
        let p = admit(&g, "users").await;
        g.observe(p, &headers(Some(E0), 0, 0, E0 + 1));
        assert_eq!(g.snapshot("users"), before);
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_buckets_are_probed_one_request_at_a_time() {
        let g = Governor::new(4);
        let p = admit(&g, "other").await;
        let mut second = pin!(g.acquire("other"));
        assert!(
            ready(second.as_mut()).is_none(),
            "limit unknown: one at a time"
        );
        // An answer without rate-limit headers: the bucket is not metered.
        g.observe(p, &HeaderMap::new());
        let _a = ready(second.as_mut()).expect("admitted").expect("permit");
        let _b = admit(&g, "other").await;
        let _c = admit(&g, "other").await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_lost_without_an_answer_is_charged() {
        let g = Governor::new(1);
        let p = admit(&g, "groups").await;
        g.observe(p, &headers(Some(E0), 20, 3, E0 + 30));
        let held = admit(&g, "groups").await;
        {
            // Admitted by the bucket, then cancelled while waiting for the concurrency
            // slot: never sent, so not charged.
            let mut f = pin!(g.acquire("groups"));
            assert!(ready(f.as_mut()).is_none());
            assert_eq!(g.snapshot("groups").0, 2);
        }
        assert_eq!(g.snapshot("groups").0, 1);
        assert_eq!(g.snapshot("groups").1, Some(3));
        // Sent, then ended without a response: charged.
        drop(held);
        assert_eq!(g.snapshot("groups").0, 0);
        assert_eq!(g.snapshot("groups").1, Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_outliving_its_deadline_disables_the_length_rule() {
        // Configured for 1 s windows, but the server's last 5 s.
        let g = Governor::with_window(4, Duration::from_secs(1));
        let p = admit(&g, "users").await;
        let t = Instant::now();
        g.observe(p, &headers(Some(E0), 20, 19, E0 + 2));
        assert_eq!(deadline(&g, "users"), t + 1001 * MS);
        tokio::time::advance(1100 * MS).await;
        // Sent after that deadline, still answered from the same window.
        let p = admit(&g, "users").await;
        g.observe(p, &headers(Some(E0 + 1), 20, 18, E0 + 2));
        let d = deadline(&g, "users");
        assert!(d > t + 1900 * MS && d <= t + 2010 * MS, "{:?}", d - t);
        assert_eq!(g.snapshot("users").1, Some(18));
        // The next window does not use the length rule either.
        tokio::time::advance(Duration::from_secs(1)).await;
        let p = admit(&g, "users").await;
        let t = Instant::now();
        g.observe(p, &headers(Some(E0 + 2), 20, 19, E0 + 7));
        assert!(deadline(&g, "users") - t >= Duration::from_secs(4));
    }
}
