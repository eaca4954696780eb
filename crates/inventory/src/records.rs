//! Plain records, as Okta describes the objects, with the fields Steward queries kept as
//! columns and the rest in `profile` / `raw` JSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Database id of an Okta connection.
pub type ConnectionId = i64;
/// Database id of a sync run.
pub type SyncRunId = i64;

/// An Okta user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// `00u…`.
    pub id: String,
    /// Okta status (`ACTIVE`, `DEPROVISIONED`, …).
    pub status: String,
    /// `profile.login`.
    pub login: String,
    /// `profile.email`.
    pub email: Option<String>,
    /// `profile.firstName`.
    pub first_name: Option<String>,
    /// `profile.lastName`.
    pub last_name: Option<String>,
    /// `profile.department`.
    pub department: Option<String>,
    /// `profile.title`.
    pub title: Option<String>,
    /// `profile.managerId`.
    pub manager_id: Option<String>,
    /// `profile.employeeNumber`.
    pub employee_number: Option<String>,
    /// `created`.
    pub created: Option<DateTime<Utc>>,
    /// `statusChanged`.
    pub status_changed: Option<DateTime<Utc>>,
    /// `lastLogin`.
    pub last_login: Option<DateTime<Utc>>,
    /// `lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
    /// The whole profile.
    pub profile: Value,
}

/// An Okta group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// `00g…`.
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    pub group_type: String,
    /// `profile.name`.
    pub name: String,
    /// `profile.description`.
    pub description: Option<String>,
    /// `created`.
    pub created: Option<DateTime<Utc>>,
    /// `lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
    /// `lastMembershipUpdated`.
    pub last_membership_updated: Option<DateTime<Utc>>,
    /// `_embedded.stats.usersCount` when fetched with `expand=stats`.
    pub users_count: Option<i64>,
    /// The whole profile.
    pub profile: Value,
}

/// An app instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    /// `0oa…`.
    pub id: String,
    /// Catalog name.
    pub name: String,
    /// Label.
    pub label: String,
    /// `ACTIVE`, `INACTIVE`.
    pub status: String,
    /// `signOnMode`.
    pub sign_on_mode: Option<String>,
    /// `created`.
    pub created: Option<DateTime<Utc>>,
    /// `lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// A user's assignment to an app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppUserRecord {
    /// The app.
    pub app_id: String,
    /// The user.
    pub user_id: String,
    /// `USER` (direct) or `GROUP`.
    pub scope: String,
    /// Assignment status.
    pub status: Option<String>,
    /// `credentials.userName`.
    pub user_name: Option<String>,
    /// `lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// A group's assignment to an app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppGroupRecord {
    /// The app.
    pub app_id: String,
    /// The group.
    pub group_id: String,
    /// Priority.
    pub priority: Option<i64>,
    /// `lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

/// One `user.authentication.sso` event, reduced to what usage needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SsoEvent {
    /// Event uuid (deduplication key).
    pub uuid: String,
    /// The user (`actor.id`).
    pub user_id: String,
    /// The app (`AppInstance` target).
    pub app_id: String,
    /// `published`.
    pub published: DateTime<Utc>,
    /// `outcome.result == SUCCESS`.
    pub success: bool,
}

/// Kind of sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    /// Everything read again.
    Full,
    /// Only what changed since the last sync.
    Incremental,
    /// A full read compared against the store.
    Reconcile,
}

impl SyncKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
            Self::Reconcile => "reconcile",
        }
    }
}

/// Figures of a sync run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStats {
    /// Objects written, by kind (`users`, `groups`, `memberships`, …).
    pub items: std::collections::BTreeMap<String, i64>,
    /// HTTP requests sent to Okta.
    pub requests: i64,
    /// 429 answers received.
    pub rate_limited: i64,
    /// Errors (retried or final).
    pub errors: i64,
    /// Time spent waiting for rate limits, in milliseconds.
    pub rate_limit_wait_ms: i64,
}

/// A sync run as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Id.
    pub id: SyncRunId,
    /// Connection.
    pub connection_id: ConnectionId,
    /// Kind.
    pub kind: SyncKind,
    /// `running`, `succeeded`, `failed`.
    pub status: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// Figures.
    pub stats: SyncStats,
    /// Final error, if failed.
    pub error: Option<String>,
}
