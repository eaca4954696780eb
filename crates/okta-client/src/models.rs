//! Typed Okta objects (reference 5.3, 6.3). Profiles stay `serde_json::Value`;
//! unknown fields are ignored and unknown enum values kept as strings, so new
//! Okta attributes never break a sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user (`/api/v1/users`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `00u…`.
    pub id: String,
    /// `STAGED`, `ACTIVE`, `DEPROVISIONED`, …
    pub status: String,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// Activation time.
    pub activated: Option<DateTime<Utc>>,
    /// Last status change.
    pub status_changed: Option<DateTime<Utc>>,
    /// Last sign-in.
    pub last_login: Option<DateTime<Utc>>,
    /// Last update.
    pub last_updated: Option<DateTime<Utc>>,
    /// Profile (`login`, `email`, `firstName`, … and custom attributes).
    #[serde(default)]
    pub profile: Value,
}

/// A group (`/api/v1/groups`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// `00g…`.
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`. Only `OKTA_GROUP` membership is writable.
    #[serde(rename = "type")]
    pub group_type: String,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// Last update.
    pub last_updated: Option<DateTime<Utc>>,
    /// Last membership change.
    pub last_membership_updated: Option<DateTime<Utc>>,
    /// Profile (`name`, `description`, …).
    #[serde(default)]
    pub profile: Value,
}

/// An app instance (`/api/v1/apps`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// `0oa…`.
    pub id: String,
    /// Technical name (`oidc_client`, `boxnet`, …).
    #[serde(default)]
    pub name: String,
    /// Display label.
    #[serde(default)]
    pub label: String,
    /// `ACTIVE`, `INACTIVE`, `DELETED`.
    pub status: String,
    /// `SAML_2_0`, `OPENID_CONNECT`, … (unknown modes are kept).
    pub sign_on_mode: Option<String>,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// Last update.
    pub last_updated: Option<DateTime<Utc>>,
    /// App settings (kept raw).
    #[serde(default)]
    pub settings: Value,
}

/// A user assigned to an app (`/api/v1/apps/{id}/users`). `id` is the user id.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUser {
    /// The Okta user id.
    pub id: String,
    /// `USER` (direct) or `GROUP` (through a group).
    pub scope: Option<String>,
    /// Assignment status.
    pub status: Option<String>,
    /// Sync state.
    pub sync_state: Option<String>,
    /// Creation time.
    pub created: Option<DateTime<Utc>>,
    /// Last update.
    pub last_updated: Option<DateTime<Utc>>,
    /// App username etc.
    #[serde(default)]
    pub credentials: Value,
    /// App-specific profile.
    #[serde(default)]
    pub profile: Value,
}

/// A group assigned to an app (`/api/v1/apps/{id}/groups`). `id` is the group id.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppGroup {
    /// The Okta group id.
    pub id: String,
    /// Assignment priority.
    pub priority: Option<i64>,
    /// Last update.
    pub last_updated: Option<DateTime<Utc>>,
    /// App-specific profile.
    #[serde(default)]
    pub profile: Value,
}

/// An actor or target in a log event.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogObject {
    /// Object id.
    pub id: Option<String>,
    /// `User`, `UserGroup`, `AppInstance`, `AppUser`, …
    #[serde(rename = "type")]
    pub object_type: Option<String>,
    /// Login or other alternate id.
    pub alternate_id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
}

/// The outcome of a logged action.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogOutcome {
    /// `SUCCESS`, `FAILURE`, …
    pub result: Option<String>,
    /// Reason.
    pub reason: Option<String>,
}

/// A System Log event (`/api/v1/logs`, reference 6.3).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Unique id: dedupe on it.
    pub uuid: String,
    /// Event time.
    pub published: DateTime<Utc>,
    /// e.g. `group.user_membership.add`.
    pub event_type: String,
    /// Severity.
    pub severity: Option<String>,
    /// Human-readable message.
    pub display_message: Option<String>,
    /// Who did it.
    pub actor: Option<LogObject>,
    /// What it was done to.
    #[serde(default)]
    pub target: Vec<LogObject>,
    /// Outcome.
    pub outcome: Option<LogOutcome>,
}
