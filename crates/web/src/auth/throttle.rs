//! Login throttling per (user name, client IP): after [`FREE_FAILURES`] failures in a row,
//! each further failure locks the pair out for twice as long as the previous one
//! ([`BASE_LOCKOUT_SECS`], doubling, capped at [`MAX_LOCKOUT_SECS`]). A success clears it.
//!
//! In memory: a restart forgets it, which is fine for slowing down guessing; the argon2
//! cost bounds the rate anyway.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

/// Failures allowed before the first lockout.
pub const FREE_FAILURES: u32 = 5;
/// The first lockout.
pub const BASE_LOCKOUT_SECS: i64 = 30;
/// The longest lockout.
pub const MAX_LOCKOUT_SECS: i64 = 3600;
/// Entries tracked at most (oldest dropped first), so that spraying names can't grow memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
    last: DateTime<Utc>,
}

/// The throttle table.
#[derive(Debug, Default)]
pub struct Throttle {
    map: Mutex<HashMap<(String, Option<IpAddr>), Entry>>,
}

impl Throttle {
    /// `Some(seconds)` while the pair is locked out.
    pub fn locked(&self, user: &str, ip: Option<IpAddr>, now: DateTime<Utc>) -> Option<i64> {
        let map = self.map.lock();
        let until = map.get(&(user.to_owned(), ip))?.locked_until?;
        (until > now).then(|| (until - now).num_seconds().max(1))
    }

    /// Records a failure; returns the lockout it started, in seconds, if any.
    pub fn fail(&self, user: &str, ip: Option<IpAddr>, now: DateTime<Utc>) -> Option<i64> {
        let mut map = self.map.lock();
        if map.len() >= MAX_ENTRIES
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.last)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let e = map.entry((user.to_owned(), ip)).or_insert(Entry {
            failures: 0,
            locked_until: None,
            last: now,
        });
        e.failures = e.failures.saturating_add(1);
        e.last = now;
        if e.failures < FREE_FAILURES {
            return None;
        }
        let doublings = (e.failures - FREE_FAILURES).min(16);
        let secs = (BASE_LOCKOUT_SECS << doublings).min(MAX_LOCKOUT_SECS);
        e.locked_until = Some(now + Duration::seconds(secs));
        Some(secs)
    }

    /// Clears the pair after a successful sign-in.
    pub fn succeed(&self, user: &str, ip: Option<IpAddr>) {
        self.map.lock().remove(&(user.to_owned(), ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_exponentially_after_five() {
        let t = Throttle::default();
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let now = Utc::now();
        for _ in 0..4 {
            assert_eq!(t.fail("a", ip, now), None);
        }
        assert_eq!(t.fail("a", ip, now), Some(30));
        assert!(t.locked("a", ip, now).is_some());
        assert!(t.locked("a", None, now).is_none(), "other IP unaffected");
        assert!(t.locked("b", ip, now).is_none(), "other user unaffected");
        let later = now + Duration::seconds(31);
        assert!(t.locked("a", ip, later).is_none());
        assert_eq!(t.fail("a", ip, later), Some(60));
        t.succeed("a", ip);
        assert!(t.locked("a", ip, later).is_none());
    }
}
