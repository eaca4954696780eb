//! The storage contract of the sync engine.

use crate::records::*;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::future::Future;

/// A storage failure. The sync engine retries nothing on these: it stops and resumes later
/// from the last checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (connection, constraint, I/O).
    #[error("database error: {0}")]
    Database(String),
    /// A referenced object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Stored data could not be decoded.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

/// What the sync engine needs from a database. All writes of one call happen in one
/// transaction; every method is idempotent (the same call twice leaves the same state), which
/// is what makes a killed sync safe to resume.
///
/// `run` is the sync run doing the write: objects written by a run are stamped with it, so
/// that `mark_*_not_seen` can mark as removed what a full run did not see.
///
/// The reads of [`AssignmentReads`] come with it: an incremental sync derives most app
/// assignment changes from the System Log and the store instead of reading them again.
pub trait InventoryStore: AssignmentReads + Send + Sync {
    /// Inserts or updates users; clears their removed mark.
    fn upsert_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        users: &[UserRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Inserts or updates groups; clears their removed mark.
    fn upsert_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        groups: &[GroupRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Inserts or updates apps; clears their removed mark.
    fn upsert_apps(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        apps: &[AppRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds members to a group (a page of `/groups/{id}/users`), stamping them with `run`.
    fn upsert_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        user_ids: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// After a complete read of a group's members in `run`: marks removed the memberships of
    /// that group not seen by `run`.
    fn finish_group_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Applies one membership change learned from the System Log (`added` or removed at `at`).
    fn apply_membership_change(
        &self,
        conn: ConnectionId,
        group_id: &str,
        user_id: &str,
        added: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds or updates assignments of users to an app (a page of `/apps/{id}/users`).
    fn upsert_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppUserRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// After a complete read of an app's users in `run`: marks the others removed.
    fn finish_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks one user's assignment to an app removed at `at` (a targeted read found it gone).
    /// Unknown or already removed assignments are left as they are.
    fn remove_app_user(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Adds or updates assignments of groups to an app.
    fn upsert_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppGroupRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// After a complete read of an app's groups in `run`: marks the others removed.
    fn finish_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// After a complete read of every user / group / app in a full run: marks removed, at
    /// `at`, the objects of `kind` (`users`, `groups`, `apps`) that `run` did not see, with
    /// their memberships and assignments.
    fn finish_full_listing(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        kind: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks one object removed (learned from the System Log or a 404).
    fn mark_removed(
        &self,
        conn: ConnectionId,
        kind: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records SSO events, ignoring uuids already recorded, and adds them to app usage per
    /// user and app (last SSO, count over 30 and 90 days). Returns how many were new.
    fn record_sso_events(
        &self,
        conn: ConnectionId,
        events: &[SsoEvent],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// The handle a sync writes through. A store may return one whose writes share
    /// transactions and commit later (on [`InventoryStore::flush`] at the latest), as long
    /// as its reads see its writes and commits keep the order of the writes.
    fn for_sync(&self) -> Self
    where
        Self: Sized;
    /// Commits writes the store deferred (see [`InventoryStore::for_sync`]); stores that
    /// commit each write have nothing to do.
    fn flush(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
    /// Recomputes app usage from the recorded events as of now: the 30 and 90-day counts
    /// of [`InventoryStore::record_sso_events`] do not age by themselves.
    fn refresh_app_usage(
        &self,
        conn: ConnectionId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The stored checkpoint of `resource` (e.g. `users`, `groups`, `members:00g…`, `logs`).
    fn checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
    ) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;
    /// Stores a checkpoint (in its own transaction, after the page it follows was written).
    fn save_checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
        state: &Value,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes checkpoints whose resource starts with `prefix` (all with `""`).
    fn clear_checkpoints(
        &self,
        conn: ConnectionId,
        prefix: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Starts a sync run.
    fn start_run(
        &self,
        conn: ConnectionId,
        kind: SyncKind,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<SyncRunId, StoreError>> + Send;
    /// Updates a run's figures while it goes.
    fn update_run(
        &self,
        run: SyncRunId,
        stats: &SyncStats,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends a run.
    fn finish_run(
        &self,
        run: SyncRunId,
        status: &str,
        stats: &SyncStats,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The latest run of a connection that is still marked running (a killed sync), if any.
    fn unfinished_run(
        &self,
        conn: ConnectionId,
    ) -> impl Future<Output = Result<Option<SyncRun>, StoreError>> + Send;
    /// The last finished run of `kind`, if any.
    fn last_run(
        &self,
        conn: ConnectionId,
        kind: Option<SyncKind>,
    ) -> impl Future<Output = Result<Option<SyncRun>, StoreError>> + Send;

    /// Stored `lastMembershipUpdated` of each live group (to find groups whose members moved).
    fn group_membership_stamps(
        &self,
        conn: ConnectionId,
    ) -> impl Future<Output = Result<MembershipStamps, StoreError>> + Send;
}

/// Reads an incremental sync uses to derive app assignment changes (the System Log's
/// `application.user_membership.*` events) from what the store already knows, instead of
/// reading `/apps/{id}/users` again.
pub trait AssignmentReads: Send + Sync {
    /// What the store holds about app `app_id` and, among `user_ids`, the live users: their
    /// status, last status change and login, and the live groups they are live members of
    /// that are (live) assigned to the app. Users not stored, or removed, are left out.
    fn app_assignment_facts(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_ids: &[String],
    ) -> impl Future<Output = Result<AppAssignmentFacts, StoreError>> + Send;

    /// The live (group, app) assignments of the live groups among `group_ids` to live apps,
    /// sorted.
    fn group_app_assignments(
        &self,
        conn: ConnectionId,
        group_ids: &[String],
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// The live members of group `group_id` (live users), sorted; empty when the group is
    /// not stored or removed.
    fn group_member_ids(
        &self,
        conn: ConnectionId,
        group_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// See [`AssignmentReads::app_assignment_facts`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppAssignmentFacts {
    /// Whether the app is stored and not removed.
    pub app_live: bool,
    /// Live assignments of users to the app.
    pub assignments: i64,
    /// Of those, how many have a `userName` equal to the user's stored login: when all of
    /// them do, the app uses Okta's default username template, and a new assignment's
    /// `userName` will be the login too.
    pub plain_assignments: i64,
    /// The asked users the store has, sorted by id.
    pub users: Vec<UserAssignmentFacts>,
}

/// One user in [`AppAssignmentFacts`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAssignmentFacts {
    /// The user.
    pub user_id: String,
    /// The user's status.
    pub status: String,
    /// The user's login.
    pub login: String,
    /// The user's last status change.
    pub status_changed: Option<DateTime<Utc>>,
    /// The user's groups assigned to the app, sorted.
    pub app_groups: Vec<String>,
    /// The scope (`USER`, `GROUP`) of the user's live stored assignment to the app, if any.
    pub assignment_scope: Option<String>,
}

/// Each live group's id with its stored `lastMembershipUpdated`.
pub type MembershipStamps = Vec<(String, Option<DateTime<Utc>>)>;
