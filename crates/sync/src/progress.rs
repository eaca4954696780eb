//! Progress reporting for the CLI's progress bars: one [`Progress`] per listed page.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use okta_client::{ClientStats, OktaClient};
use parking_lot::Mutex;

/// A progress callback. Called after every page, from the task that read it; keep it quick.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Where one resource stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// `users`, `groups`, `memberships`, `apps`, `app_users`, `app_groups`, `logs`.
    pub resource: &'static str,
    /// Items written so far in this process.
    pub items: u64,
    /// Pages read so far (one request each, retries not counted).
    pub requests: u64,
    /// Estimated requests still to go, when the totals are known (memberships from the
    /// groups' `usersCount`; per-app listings count at least one page per app).
    pub estimated_remaining: Option<u64>,
    /// Connection-wide figures since the run started: requests (with retries), 429s and
    /// time spent waiting for rate limits.
    pub client: ClientStats,
}

#[derive(Default)]
struct Entry {
    items: u64,
    requests: u64,
    estimate: Option<u64>,
}

/// Per-resource counters of one run.
pub(crate) struct Tracker {
    entries: Mutex<BTreeMap<&'static str, Entry>>,
    callback: Option<ProgressFn>,
    client: OktaClient,
    client_start: ClientStats,
    /// 404s that were an answer, not a failure (a targeted read of something gone).
    expected_not_found: AtomicU64,
}

impl Tracker {
    pub(crate) fn new(client: OktaClient, callback: Option<ProgressFn>) -> Self {
        let client_start = client.stats();
        Tracker {
            entries: Mutex::new(BTreeMap::new()),
            callback,
            client,
            client_start,
            expected_not_found: AtomicU64::new(0),
        }
    }

    /// Counts a 404 that answered a question ("is this still there?") rather than failed:
    /// it is left out of the run's errors.
    pub(crate) fn expected_not_found(&self) {
        self.expected_not_found.fetch_add(1, Ordering::Relaxed);
    }

    /// The client's figures since the run started in this process.
    pub(crate) fn client_delta(&self) -> ClientStats {
        let mut d = self.client.stats().since(&self.client_start);
        d.errors = d
            .errors
            .saturating_sub(self.expected_not_found.load(Ordering::Relaxed));
        d
    }

    /// Adds `requests` expected pages to `resource`'s estimate.
    pub(crate) fn expect(&self, resource: &'static str, requests: u64) {
        let mut e = self.entries.lock();
        let entry = e.entry(resource).or_default();
        entry.estimate = Some(entry.estimate.unwrap_or(0) + requests);
    }

    /// Counts one page of `items` on `resource` and reports it.
    pub(crate) fn page(&self, resource: &'static str, items: u64) {
        let progress = {
            let mut e = self.entries.lock();
            let entry = e.entry(resource).or_default();
            entry.items += items;
            entry.requests += 1;
            Progress {
                resource,
                items: entry.items,
                requests: entry.requests,
                estimated_remaining: entry.estimate.map(|t| t.saturating_sub(entry.requests)),
                client: ClientStats::default(),
            }
        };
        if let Some(cb) = &self.callback {
            cb(&Progress {
                client: self.client_delta(),
                ..progress
            });
        }
    }

    /// Counts items written without a page of their own (log-driven changes).
    pub(crate) fn items(&self, resource: &'static str, items: u64) {
        self.entries.lock().entry(resource).or_default().items += items;
    }

    /// Items per resource.
    pub(crate) fn item_counts(&self) -> BTreeMap<String, i64> {
        self.entries
            .lock()
            .iter()
            .map(|(k, e)| ((*k).to_owned(), i64::try_from(e.items).unwrap_or(i64::MAX)))
            .collect()
    }
}
