//! Server-issued DPoP nonces of the token endpoint (RFC 9449 section 8, reference 2.3).
//!
//! Okta "renews the value every 24 hours" and an old nonce "keeps working for 3 days after it
//! was generated" [doc]. The store keeps the current nonce and every earlier one still inside
//! its grace period. The current nonce rotates lazily: the first time it is asked for after
//! the rotation interval has passed (measured on the org's clock, so moving the clock through
//! the control API rotates it too).
//!
//! The control API calls [`rotate`] (soft: older nonces stay valid for the grace period),
//! [`rotate_hard`] (test-only behaviour: every older nonce becomes invalid at once, which is
//! how a test provokes "stale nonce → `use_dpop_nonce`"), [`set_grace`] and
//! [`set_rotation_interval`].

use crate::ids::random_token;
use crate::state::SimState;
use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;

/// Okta renews the nonce every 24 hours (reference 2.3).
pub const DEFAULT_ROTATION: TimeDelta = TimeDelta::hours(24);
/// A nonce is accepted for 3 days after it was generated (reference 2.3).
pub const DEFAULT_GRACE: TimeDelta = TimeDelta::days(3);
/// Length of a nonce; Okta's example `8NLZUUhVawx1ns8AjrC4F6j8D2phvaw7` has 32 characters.
const NONCE_LEN: usize = 32;

/// The nonces the token endpoint hands out and accepts.
#[derive(Debug)]
pub struct NonceStore {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Issued nonces with their generation time, oldest first; the last one is current.
    nonces: Vec<(String, DateTime<Utc>)>,
    rotate_every: TimeDelta,
    grace: TimeDelta,
}

impl Default for NonceStore {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                nonces: Vec::new(),
                rotate_every: DEFAULT_ROTATION,
                grace: DEFAULT_GRACE,
            }),
        }
    }
}

impl Inner {
    /// Rotates when due and forgets nonces past their grace period (never the current one).
    fn refresh(&mut self, now: DateTime<Utc>) {
        let due = self
            .nonces
            .last()
            .is_none_or(|(_, generated)| *generated + self.rotate_every <= now);
        if due {
            self.push(now);
        }
        let grace = self.grace;
        let last = self.nonces.len().saturating_sub(1);
        let mut i = 0;
        self.nonces.retain(|(_, generated)| {
            let keep = i == last || *generated + grace > now;
            i += 1;
            keep
        });
    }

    fn push(&mut self, now: DateTime<Utc>) -> String {
        let nonce = random_token(NONCE_LEN);
        self.nonces.push((nonce.clone(), now));
        nonce
    }

    fn current(&self) -> String {
        self.nonces
            .last()
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    }
}

impl NonceStore {
    /// The nonce to send in `DPoP-Nonce` now (rotating it first when it is due).
    pub fn current(&self, now: DateTime<Utc>) -> String {
        let mut inner = self.inner.lock();
        inner.refresh(now);
        inner.current()
    }

    /// Whether `nonce` is the current nonce or an earlier one still inside its grace period.
    pub fn is_valid(&self, nonce: &str, now: DateTime<Utc>) -> bool {
        let mut inner = self.inner.lock();
        inner.refresh(now);
        let grace = inner.grace;
        let last = inner.nonces.len().saturating_sub(1);
        inner
            .nonces
            .iter()
            .enumerate()
            .any(|(i, (n, generated))| n == nonce && (i == last || *generated + grace > now))
    }

    /// Starts a new current nonce; older ones stay valid until their grace period ends.
    pub fn rotate(&self, now: DateTime<Utc>) -> String {
        let mut inner = self.inner.lock();
        inner.refresh(now);
        inner.push(now)
    }

    /// Starts a new current nonce and invalidates every older one immediately.
    pub fn rotate_hard(&self, now: DateTime<Utc>) -> String {
        let mut inner = self.inner.lock();
        inner.nonces.clear();
        inner.push(now)
    }

    /// Sets how long a nonce stays valid after it was generated.
    pub fn set_grace(&self, grace: TimeDelta) {
        self.inner.lock().grace = grace;
    }

    /// The grace period.
    pub fn grace(&self) -> TimeDelta {
        self.inner.lock().grace
    }

    /// Sets how often the current nonce is renewed.
    pub fn set_rotation_interval(&self, every: TimeDelta) {
        self.inner.lock().rotate_every = every;
    }

    /// How often the current nonce is renewed.
    pub fn rotation_interval(&self) -> TimeDelta {
        self.inner.lock().rotate_every
    }
}

/// Rotates the token endpoint's DPoP nonce (control API). Older nonces keep working for the
/// grace period (3 days unless changed with [`set_grace`]). Returns the new nonce.
pub fn rotate(state: &SimState) -> String {
    state.auth.nonces.rotate(state.clock.now())
}

/// Rotates the nonce and invalidates all earlier ones at once (for tests of stale nonces).
/// Returns the new nonce.
pub fn rotate_hard(state: &SimState) -> String {
    state.auth.nonces.rotate_hard(state.clock.now())
}

/// The nonce the token endpoint currently hands out.
pub fn current(state: &SimState) -> String {
    state.auth.nonces.current(state.clock.now())
}

/// Sets the grace period during which a rotated-away nonce is still accepted (Okta: 3 days).
pub fn set_grace(state: &SimState, grace: TimeDelta) {
    state.auth.nonces.set_grace(grace);
}

/// Sets the automatic rotation interval (Okta: 24 hours).
pub fn set_rotation_interval(state: &SimState, every: TimeDelta) {
    state.auth.nonces.set_rotation_interval(every);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_daily_and_honours_grace() {
        let store = NonceStore::default();
        let t0 = Utc::now();
        let n0 = store.current(t0);
        assert_eq!(store.current(t0 + TimeDelta::hours(23)), n0);
        let n1 = store.current(t0 + TimeDelta::hours(25));
        assert_ne!(n0, n1);
        assert!(store.is_valid(&n0, t0 + TimeDelta::hours(71)));
        assert!(!store.is_valid(&n0, t0 + TimeDelta::hours(73)));
        assert!(store.is_valid(&n1, t0 + TimeDelta::hours(73)));
    }

    #[test]
    fn soft_and_hard_rotation() {
        let store = NonceStore::default();
        let t0 = Utc::now();
        let n0 = store.current(t0);
        let n1 = store.rotate(t0);
        assert!(store.is_valid(&n0, t0) && store.is_valid(&n1, t0));
        let n2 = store.rotate_hard(t0);
        assert!(!store.is_valid(&n0, t0) && !store.is_valid(&n1, t0));
        assert!(store.is_valid(&n2, t0));
        assert_eq!(store.current(t0), n2);
        store.set_grace(TimeDelta::zero());
        let n3 = store.rotate(t0);
        assert!(!store.is_valid(&n2, t0) && store.is_valid(&n3, t0));
    }
}
