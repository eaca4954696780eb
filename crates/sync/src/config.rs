//! [`SyncConfig`]: what a sync reads and how hard it pushes.

use chrono::TimeDelta;

/// Page sizes (`limit`) per endpoint. The defaults are each endpoint's documented maximum
/// (reference 5.2, 6.1): fewer, larger pages cost fewer requests against the same buckets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSizes {
    /// `/api/v1/users` (200).
    pub users: u32,
    /// `/api/v1/groups` (spec maximum 10000; Okta recommends ≤ 200 only for UI latency).
    pub groups: u32,
    /// `/api/v1/groups/{id}/users` (1000).
    pub group_members: u32,
    /// `/api/v1/apps` (200).
    pub apps: u32,
    /// `/api/v1/apps/{id}/users` (500).
    pub app_users: u32,
    /// `/api/v1/apps/{id}/groups` (200).
    pub app_groups: u32,
    /// `/api/v1/logs` (1000).
    pub logs: u32,
}

impl Default for PageSizes {
    fn default() -> Self {
        PageSizes {
            users: 200,
            groups: 10_000,
            group_members: 1000,
            apps: 200,
            app_users: 500,
            app_groups: 200,
            logs: 1000,
        }
    }
}

/// Sync settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// Days of System Log read by a full sync for app usage (Okta keeps 90).
    pub log_days: u32,
    /// Listings run at once (per-group members, per-app assignments). The client's governor
    /// still caps requests in flight and paces each rate-limit bucket.
    pub concurrency: usize,
    /// Page sizes.
    pub page_sizes: PageSizes,
    /// How far before the last run's start an incremental sync looks for `lastUpdated`
    /// changes: covers clock skew with Okta and `search`'s eventual consistency.
    pub safety_margin: TimeDelta,
}

impl SyncConfig {
    /// The defaults, with `concurrency` taken from the client's transport settings.
    pub fn for_client(client: &okta_client::OktaClient) -> Self {
        SyncConfig {
            concurrency: client.config().transport.concurrency.max(1),
            ..SyncConfig::default()
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            log_days: 90,
            concurrency: 8,
            page_sizes: PageSizes::default(),
            safety_margin: TimeDelta::minutes(5),
        }
    }
}
