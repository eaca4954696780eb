//! System Log side of incremental syncs (reference 6): which events to poll and what each
//! one changes.
//!
//! `lastUpdated` listings miss three things: deletions, membership changes (they move a
//! group's `lastMembershipUpdated`, which the groups listing catches, but the log is exact),
//! and app assignments (which do not move the app's `lastUpdated`). The log supplies them.
//! Other `user.lifecycle.*` events need nothing here: they move the user's `lastUpdated`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use okta_client::models::LogEvent;
use steward_inventory::{InventoryStore, SsoEvent, StoreError};

use crate::SyncError;
use crate::convert::{okta_time, target};
use crate::listing::url_with;
use crate::syncer::{RunCtx, Syncer};

/// The usage events (reference 6.3).
pub const SSO_FILTER: &str = "eventType eq \"user.authentication.sso\"";

/// Events an incremental sync acts on.
pub const CHANGE_EVENTS: [&str; 15] = [
    "user.authentication.sso",
    "user.lifecycle.delete.completed",
    "group.user_membership.add",
    "group.user_membership.remove",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.application_assignment.add",
    "group.application_assignment.remove",
    "group.application_assignment.update",
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.update",
    "application.lifecycle.create",
    "application.lifecycle.delete",
    "application.user_membership.change_username",
];

/// `eventType eq "a" or eventType eq "b" …`.
pub fn change_filter() -> String {
    CHANGE_EVENTS
        .iter()
        .map(|t| format!("eventType eq \"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The first URL of a polling query (no `until`, ascending) for [`CHANGE_EVENTS`].
pub fn change_poll_url(since: DateTime<Utc>, limit: u32) -> String {
    url_with(
        "/api/v1/logs",
        &[
            ("since", &okta_time(since)),
            ("limit", &limit.to_string()),
            ("sortOrder", "ASCENDING"),
            ("filter", &change_filter()),
        ],
    )
}

/// What a batch of events asks for beyond the writes done on the spot.
#[derive(Debug, Default)]
pub(crate) struct FollowUp {
    /// Apps whose users to read again.
    pub app_users: BTreeSet<String>,
    /// Single assignments to read again (app → users), for apps not read whole.
    pub app_user_reads: BTreeMap<String, BTreeSet<String>>,
    /// Apps whose groups to read again.
    pub app_groups: BTreeSet<String>,
    /// Groups created (fetch when the listing did not see them).
    pub created_groups: BTreeSet<String>,
    /// Apps created.
    pub created_apps: BTreeSet<String>,
    /// Latest membership event per group.
    pub membership_events: HashMap<String, DateTime<Utc>>,
    /// Times of user deletions (they move the stamps of the user's groups, unlogged).
    pub deletions: Vec<DateTime<Utc>>,
    /// Groups whose log events could not be applied (read them in full).
    pub unresolved_groups: HashSet<String>,
    /// Users fetched on demand (created after the users listing).
    fetched_users: HashSet<String>,
}

/// How far a group's `lastMembershipUpdated` may be from the event that explains it.
const EXPLAIN_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

impl FollowUp {
    /// Whether the log explains a group's membership stamp `stamp`: it holds a membership
    /// event of that group at or after the stamp, or a user deletion at the stamp. Then the
    /// events applied bring the group up to date and its members need no re-read.
    pub(crate) fn explains(&self, group: &str, stamp: Option<DateTime<Utc>>) -> bool {
        let Some(stamp) = stamp else { return false };
        if self.unresolved_groups.contains(group) {
            return false;
        }
        self.membership_events
            .get(group)
            .is_some_and(|t| *t >= stamp - EXPLAIN_TOLERANCE)
            || self
                .deletions
                .iter()
                .any(|t| (*t - stamp).abs() <= EXPLAIN_TOLERANCE)
    }
}

impl<S: InventoryStore> Syncer<S> {
    /// Applies events in log order: usage, membership changes and removals are written at
    /// once; assignment changes and creations are returned for re-reading.
    pub(crate) async fn apply_events(
        &self,
        run: &RunCtx,
        events: &[LogEvent],
    ) -> Result<FollowUp, SyncError> {
        let mut todo = FollowUp::default();
        let mut sso: Vec<SsoEvent> = Vec::new();
        for e in events {
            let app = target(e, "AppInstance").map(str::to_owned);
            let group = target(e, "UserGroup");
            let user = target(e, "User");
            match e.event_type.as_str() {
                "user.authentication.sso" => sso.extend(crate::convert::sso_event(e)),
                t @ ("group.user_membership.add" | "group.user_membership.remove") => {
                    let (Some(g), Some(u)) = (group, user) else {
                        continue;
                    };
                    let t_prev = todo
                        .membership_events
                        .entry(g.to_owned())
                        .or_insert(e.published);
                    *t_prev = (*t_prev).max(e.published);
                    self.apply_membership(run, &mut todo, g, u, t.ends_with(".add"), e.published)
                        .await?;
                }
                "user.lifecycle.delete.completed" => {
                    todo.deletions.push(e.published);
                    if let Some(u) = user {
                        self.removed("users", u).await?;
                    }
                }
                "group.lifecycle.delete" => {
                    if let Some(g) = group {
                        self.removed("groups", g).await?;
                    }
                }
                "application.lifecycle.delete" => {
                    if let Some(a) = &app {
                        self.removed("apps", a).await?;
                    }
                }
                "group.lifecycle.create" => todo.created_groups.extend(group.map(str::to_owned)),
                "application.lifecycle.create" => {
                    todo.created_apps.extend(app.clone());
                    todo.app_users.extend(app.clone());
                    todo.app_groups.extend(app);
                }
                t if t.starts_with("group.application_assignment.") => {
                    // Group assignments also change the members' GROUP-scoped app users.
                    todo.app_users.extend(app.clone());
                    todo.app_groups.extend(app);
                }
                // One user's assignment: read just that one (its final state, once per
                // poll), unless the event does not name the user.
                t if t.starts_with("application.user_membership.") => match (app, user) {
                    (Some(a), Some(u)) => {
                        todo.app_user_reads
                            .entry(a)
                            .or_default()
                            .insert(u.to_owned());
                    }
                    (app, _) => todo.app_users.extend(app),
                },
                _ => {}
            }
        }
        if !sso.is_empty() {
            self.store.record_sso_events(self.conn, &sso).await?;
            run.tracker.items("sso_events", sso.len() as u64);
        }
        Ok(todo)
    }

    /// One membership change. When the store does not know the user (created after the
    /// users listing), fetches the user and tries again; when it does not know the group,
    /// the group is read in full later.
    async fn apply_membership(
        &self,
        run: &RunCtx,
        todo: &mut FollowUp,
        group: &str,
        user: &str,
        added: bool,
        at: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        if todo.unresolved_groups.contains(group) {
            return Ok(());
        }
        for attempt in 0..2 {
            let r = self
                .store
                .apply_membership_change(self.conn, group, user, added, at)
                .await;
            match r {
                Ok(()) => {
                    run.tracker.items("memberships", 1);
                    return Ok(());
                }
                Err(StoreError::NotFound(_)) => {}
                Err(err) => return Err(err.into()),
            }
            if attempt == 0
                && todo.fetched_users.insert(user.to_owned())
                && self.fetch_user(run, user).await?
            {
                continue;
            }
            break;
        }
        todo.unresolved_groups.insert(group.to_owned());
        todo.created_groups.insert(group.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn the_log_explains_a_stamp_only_when_it_caught_up() {
        let mut f = FollowUp::default();
        f.membership_events
            .insert("g1".into(), t("2024-01-01T10:00:00Z"));
        f.deletions.push(t("2024-01-01T12:00:00Z"));
        assert!(f.explains("g1", Some(t("2024-01-01T10:00:00Z"))));
        assert!(
            f.explains("g1", Some(t("2024-01-01T10:00:03Z"))),
            "within tolerance"
        );
        assert!(
            !f.explains("g1", Some(t("2024-01-01T11:00:00Z"))),
            "a later change"
        );
        assert!(
            f.explains("g2", Some(t("2024-01-01T12:00:01Z"))),
            "a user deletion"
        );
        assert!(!f.explains("g2", Some(t("2024-01-01T09:00:00Z"))));
        assert!(!f.explains("g1", None));
        f.unresolved_groups.insert("g1".into());
        assert!(!f.explains("g1", Some(t("2024-01-01T10:00:00Z"))));
    }

    #[test]
    fn change_poll_url_is_a_polling_query() {
        let since = t("2024-01-01T00:00:00Z") - TimeDelta::milliseconds(1);
        let url = change_poll_url(since, 1000);
        assert!(url.starts_with("/api/v1/logs?since=2023-12-31T23%3A59%3A59.999Z&limit=1000"));
        assert!(url.contains("sortOrder=ASCENDING") && !url.contains("until"));
        let filter = change_filter();
        assert_eq!(filter.matches(" or ").count(), CHANGE_EVENTS.len() - 1);
        assert!(filter.contains("eventType eq \"group.user_membership.add\""));
    }
}
