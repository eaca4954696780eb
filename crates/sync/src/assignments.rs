//! App-user assignments of an incremental sync, derived from the System Log and the store
//! where the answer is certain, read from Okta where it is not (issue #4).
//!
//! Okta writes one `application.user_membership.*` event per assignment that changes, also for
//! the GROUP-scoped ones a membership or group assignment change adds or removes (a user
//! already reached another way gets no event, and no change). So the events of a poll name
//! every (app, user) pair that changed, and the last event of a pair says its final state in
//! the window:
//!
//! - `remove`: not assigned. Checked against the store: the user must not be in a group
//!   assigned to the app any more (or be deactivated); otherwise the pair is read.
//! - `add`: assigned. The scope is `USER` (direct) when no stored group of the user is
//!   assigned to the app, and `GROUP` when the add follows (after the pair's previous event)
//!   the event that made it: the user joining a group assigned to the app, or a group of the
//!   user being assigned to the app, or the user's reactivation (a status change the users
//!   listing stored at the time of the add: a reactivated user gets the apps of their groups
//!   back, GROUP-scoped, and a user in an assigned group who is not deactivated is always
//!   assigned already, so a direct assignment would be an `update`). Anything else is read.
//!   The new row has the user's login as `userName` (only for apps whose stored
//!   assignments all do: Okta's default username template; other apps' pairs are read),
//!   the event's time as `lastUpdated`, and status `ACTIVE`, the status of a new
//!   assignment in an app without provisioning (and in okta-sim). That status is the one
//!   assumption: an app that provisions shows its own status only after the next full or
//!   reconcile sync, or the next read of the pair.
//! - `update` and anything else (username changes, provisioning): read.
//!
//! Our Okta reference (section 6) lists these event types but does not confirm that Okta
//! writes them for group-inherited assignments. So, the stricter choice, no group change is
//! trusted to be logged: for each membership change of user U in a group assigned to app A
//! (per the store, or per the poll's `group.application_assignment.*` events), and for each
//! stored member U of a group whose assignment to A changed, the pair (A, U) is covered only
//! by an event of the pair after the change. An uncovered pair is kept when the store agrees
//! with itself (U is assigned now, by a stored direct assignment or a stored group assigned
//! to A, and not deactivated, exactly when a stored assignment exists: the change changed
//! nothing, as when U was reached another way); otherwise it is read. A pair whose last
//! event is an add and that a later change may have taken away (no assigned group reaches U
//! now) is read too. With okta-sim, which writes the events, this reads nothing more.
//!
//! Group assignment changes therefore read only the app's groups, not its users. An app is
//! read whole when it was created, when an event does not name the user, or when more pairs
//! are uncertain than the pages a whole read costs; otherwise uncertain pairs are read one by
//! one (`/apps/{id}/users/{userId}`).
//!
//! The derivation runs after the membership events were applied, moved groups re-read and the
//! app groups re-read, so the store's groups and memberships are the final state of the window.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use okta_client::models::LogEvent;
use steward_inventory::{AppUserRecord, InventoryStore, UserAssignmentFacts};

use crate::SyncError;
use crate::convert::target;
use crate::relations::Task;
use crate::syncer::{RunCtx, Syncer};

/// How far a user's stored status change may be from an add it explains as a reactivation.
const REACTIVATION_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// The last event of one (app, user) pair in a poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Last {
    Add,
    Remove,
    Other,
    /// No event of the pair, but a group change that may have changed it (see
    /// [`AssignmentLog::group_changes`]).
    Unlogged,
}

/// One (app, user) pair's events in a poll.
#[derive(Clone, Debug)]
pub(crate) struct PairLog {
    pub last: Last,
    pub at: DateTime<Utc>,
    /// Position of the last event in the poll.
    index: usize,
    /// For a last `add`: groups whose membership (of this user) or assignment (to this app)
    /// was added after the pair's previous event and before the add.
    pub triggers: BTreeSet<String>,
    /// A group change that may have changed the pair came after its last event.
    pub unlogged_after: bool,
}

/// The assignment side of a poll's events.
#[derive(Debug, Default)]
pub(crate) struct AssignmentLog {
    /// app → user → events.
    pub pairs: BTreeMap<String, BTreeMap<String, PairLog>>,
    /// Apps whose group assignments changed.
    group_assigned: BTreeSet<String>,
    /// Apps to read whole whatever else happens (created, or an event without its user).
    whole: BTreeSet<String>,
    /// (position, group, user) of the membership changes.
    memberships: Vec<(usize, String, String)>,
    /// (position, group, app) of the group assignment changes.
    group_changes: Vec<(usize, String, String)>,
}

/// What to do with one pair.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Mark the assignment removed at this time.
    Remove(DateTime<Utc>),
    /// Write this assignment.
    Assign(AppUserRecord),
    /// Nothing changed: the stored state is the final one.
    Keep,
    /// Ask Okta.
    Read,
}

impl AssignmentLog {
    /// Collects the pairs of `events` (in log order). `also_read`: pairs the caller wants
    /// read anyway (they are read unless this log derives them).
    pub(crate) fn from_events(
        events: &[LogEvent],
        also_read: &BTreeMap<String, BTreeSet<String>>,
    ) -> Self {
        let mut log = AssignmentLog::default();
        // user → (position, group) of membership adds; app → (position, group) of group
        // assignments.
        let mut joined: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
        let mut assigned: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let app = target(e, "AppInstance");
            let group = target(e, "UserGroup");
            let user = target(e, "User");
            let t = e.event_type.as_str();
            // A failed change changed nothing; the pair is read to be sure.
            let ok = e
                .outcome
                .as_ref()
                .and_then(|o| o.result.as_deref())
                .is_none_or(|r| r == "SUCCESS");
            match t {
                _ if !ok && !t.starts_with("application.user_membership.") => {}
                "group.user_membership.add" | "group.user_membership.remove" => {
                    if let (Some(g), Some(u)) = (group, user) {
                        if t.ends_with(".add") {
                            joined.entry(u).or_default().push((i, g));
                        }
                        log.memberships.push((i, g.to_owned(), u.to_owned()));
                    }
                }
                "application.lifecycle.create" => log.whole.extend(app.map(str::to_owned)),
                _ if t.starts_with("group.application_assignment.") => {
                    if let Some(a) = app {
                        log.group_assigned.insert(a.to_owned());
                        if let Some(g) = group {
                            log.group_changes.push((i, g.to_owned(), a.to_owned()));
                        }
                        if t.ends_with(".add")
                            && let Some(g) = group
                        {
                            assigned.entry(a).or_default().push((i, g));
                        }
                    }
                }
                _ if t.starts_with("application.user_membership.") => match (app, user) {
                    (Some(a), Some(u)) => {
                        let pairs = log.pairs.entry(a.to_owned()).or_default();
                        let prev = pairs.get(u).map(|p| p.index);
                        let after_prev = |pos: usize| prev.is_none_or(|p| pos > p);
                        let last = match t.rsplit('.').next() {
                            Some("add") if ok => Last::Add,
                            Some("remove") if ok => Last::Remove,
                            _ => Last::Other,
                        };
                        let triggers = if last == Last::Add {
                            let by_membership = joined.get(u).into_iter().flatten();
                            let by_assignment = assigned.get(a).into_iter().flatten();
                            by_membership
                                .chain(by_assignment)
                                .filter(|(pos, _)| after_prev(*pos))
                                .map(|(_, g)| (*g).to_owned())
                                .collect()
                        } else {
                            BTreeSet::new()
                        };
                        pairs.insert(
                            u.to_owned(),
                            PairLog {
                                last,
                                at: e.published,
                                index: i,
                                triggers,
                                unlogged_after: false,
                            },
                        );
                    }
                    (Some(a), None) => {
                        log.whole.insert(a.to_owned());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        for (app, users) in also_read {
            let pairs = log.pairs.entry(app.clone()).or_default();
            for u in users {
                pairs.entry(u.clone()).or_insert_with(|| PairLog {
                    last: Last::Other,
                    at: DateTime::<Utc>::MIN_UTC,
                    index: usize::MAX,
                    triggers: BTreeSet::new(),
                    unlogged_after: false,
                });
            }
        }
        log
    }

    /// Whether an app the log asks to read whole (`todo.app_users`) still needs it: not when
    /// only its group assignments changed, since the users those changes reached have their
    /// own events.
    pub(crate) fn needs_whole_read(&self, app: &str) -> bool {
        self.whole.contains(app) || !self.group_assigned.contains(app)
    }

    /// Marks the pairs a group change may have changed without a later event of the pair:
    /// `targets` are the (app, user, position) a change reached.
    fn mark_unlogged(&mut self, targets: BTreeMap<(String, String), usize>) {
        for ((app, user), at) in targets {
            let pairs = self.pairs.entry(app).or_default();
            match pairs.get_mut(&user) {
                Some(p) if p.index > at => {}
                Some(p) => p.unlogged_after = true,
                None => {
                    pairs.insert(
                        user,
                        PairLog {
                            last: Last::Unlogged,
                            at: DateTime::<Utc>::MIN_UTC,
                            index: at,
                            triggers: BTreeSet::new(),
                            unlogged_after: true,
                        },
                    );
                }
            }
        }
    }
}

/// The final state of one pair, or [`Decision::Read`] when the store cannot tell for sure.
/// `facts`: the stored user (`None` when not stored); `plain_app`: the app's stored
/// assignments all have the login as `userName`.
pub(crate) fn decide(
    app: &str,
    user: &str,
    pair: &PairLog,
    facts: Option<&UserAssignmentFacts>,
    plain_app: bool,
) -> Decision {
    match pair.last {
        Last::Remove => match facts {
            None => Decision::Remove(pair.at),
            Some(f) if f.status == "DEPROVISIONED" || f.app_groups.is_empty() => {
                Decision::Remove(pair.at)
            }
            // Still reached through a group: the store and the log disagree.
            Some(_) => Decision::Read,
        },
        Last::Add => {
            let Some(f) = facts else {
                return Decision::Read;
            };
            if f.status == "DEPROVISIONED" || !plain_app {
                return Decision::Read;
            }
            // No assigned group reaches the user now, and a group change came after the add:
            // the add may have been the group's, and the change may have taken it away.
            if pair.unlogged_after && f.app_groups.is_empty() {
                return Decision::Read;
            }
            let explained = pair
                .triggers
                .iter()
                .any(|g| f.app_groups.binary_search(g).is_ok());
            // A reactivation gives the user back the apps of their groups (direct assignments
            // went with the deactivation); it is not polled, but it is the status change
            // the users listing stored, at the time of the add.
            let reactivated = f
                .status_changed
                .is_some_and(|t| (t - pair.at).abs() <= REACTIVATION_TOLERANCE);
            let scope = if f.app_groups.is_empty() {
                "USER"
            } else if explained || reactivated {
                "GROUP"
            } else {
                return Decision::Read;
            };
            Decision::Assign(AppUserRecord {
                app_id: app.to_owned(),
                user_id: user.to_owned(),
                scope: scope.to_owned(),
                status: Some("ACTIVE".to_owned()),
                user_name: Some(f.login.clone()),
                last_updated: Some(pair.at),
            })
        }
        // The store's final memberships and group assignments say whether Okta assigns the
        // user now; when the stored assignment agrees, the change changed nothing.
        Last::Unlogged => match facts {
            Some(f) => {
                let direct = f.assignment_scope.as_deref() == Some("USER");
                let reached = f.status != "DEPROVISIONED" && (direct || !f.app_groups.is_empty());
                if reached == f.assignment_scope.is_some() {
                    Decision::Keep
                } else {
                    Decision::Read
                }
            }
            None => Decision::Read,
        },
        Last::Other => Decision::Read,
    }
}

impl<S: InventoryStore> Syncer<S> {
    /// Writes what `log` determines for the pairs of apps not in `whole` (read whole
    /// already), and returns the reads still needed.
    pub(crate) async fn apply_assignment_log(
        &self,
        run: &RunCtx,
        mut log: AssignmentLog,
        whole: &BTreeSet<String>,
    ) -> Result<Vec<Task>, SyncError> {
        self.find_unlogged(&mut log, whole).await?;
        let mut tasks = Vec::new();
        let per_page = u64::from(self.config.page_sizes.app_users.max(1));
        for (app, pairs) in log.pairs {
            if whole.contains(&app) || pairs.is_empty() {
                continue;
            }
            let users: Vec<String> = pairs.keys().cloned().collect();
            let facts = self
                .store
                .app_assignment_facts(self.conn, &app, &users)
                .await?;
            if !facts.app_live {
                // Deleted (its assignments went with it) or never stored: nothing to derive.
                continue;
            }
            let plain_app = facts.assignments > 0 && facts.plain_assignments == facts.assignments;
            let by_user: HashMap<&str, &UserAssignmentFacts> = facts
                .users
                .iter()
                .map(|f| (f.user_id.as_str(), f))
                .collect();
            let (mut assign, mut remove, mut read) = (Vec::new(), Vec::new(), Vec::new());
            for (user, pair) in &pairs {
                match decide(
                    &app,
                    user,
                    pair,
                    by_user.get(user.as_str()).copied(),
                    plain_app,
                ) {
                    Decision::Assign(rec) => assign.push(rec),
                    Decision::Remove(at) => remove.push((user, at)),
                    Decision::Keep => {}
                    Decision::Read => read.push(user),
                }
            }
            // Reading one by one must not cost more than reading the app whole.
            let pages = (facts.assignments.max(0) as u64).div_ceil(per_page);
            if read.len() as u64 > pages.max(1) {
                tasks.push(Task::AppUsers(app));
                continue;
            }
            if !assign.is_empty() {
                self.store
                    .upsert_app_users(self.conn, run.id, &assign)
                    .await?;
            }
            for (user, at) in &remove {
                self.store
                    .remove_app_user(self.conn, &app, user, *at)
                    .await?;
            }
            run.tracker
                .items("app_users_derived", (assign.len() + remove.len()) as u64);
            tasks.extend(read.into_iter().map(|u| Task::AppUser {
                app: app.clone(),
                user: u.clone(),
            }));
        }
        Ok(tasks)
    }

    /// The (app, user) pairs a group change of the poll may have changed, for apps not read
    /// whole: the user of a membership change in a group assigned to the app (per the store
    /// or per the poll's group assignment changes), and the stored members (after the poll's
    /// membership changes) of a group whose assignment to the app changed. Those the log
    /// covers (an event of the pair after the change) need nothing; the others are marked
    /// (see [`AssignmentLog::mark_unlogged`]) and [`decide`] checks them against the store.
    async fn find_unlogged(
        &self,
        log: &mut AssignmentLog,
        whole: &BTreeSet<String>,
    ) -> Result<(), SyncError> {
        if log.memberships.is_empty() && log.group_changes.is_empty() {
            return Ok(());
        }
        let groups: Vec<String> = log
            .memberships
            .iter()
            .map(|(_, g, _)| g.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut apps_of: HashMap<String, BTreeSet<String>> = HashMap::new();
        if !groups.is_empty() {
            for (g, a) in self.store.group_app_assignments(self.conn, &groups).await? {
                apps_of.entry(g).or_default().insert(a);
            }
        }
        for (_, g, a) in &log.group_changes {
            apps_of.entry(g.clone()).or_default().insert(a.clone());
        }
        let mut targets: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut reach = |app: &str, user: &str, at: usize| {
            if !whole.contains(app) {
                let e = targets
                    .entry((app.to_owned(), user.to_owned()))
                    .or_default();
                *e = (*e).max(at);
            }
        };
        for (at, g, u) in &log.memberships {
            for a in apps_of.get(g).into_iter().flatten() {
                reach(a, u, *at);
            }
        }
        let mut members: HashMap<&str, Vec<String>> = HashMap::new();
        for (at, g, a) in &log.group_changes {
            if whole.contains(a) {
                continue;
            }
            if !members.contains_key(g.as_str()) {
                let ids = self.store.group_member_ids(self.conn, g).await?;
                members.insert(g, ids);
            }
            for u in &members[g.as_str()] {
                reach(a, u, *at);
            }
        }
        log.mark_unlogged(targets);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(i: usize, t: &str, targets: &[(&str, &str)]) -> LogEvent {
        let targets: Vec<_> = targets
            .iter()
            .map(|(kind, id)| json!({"type": kind, "id": id}))
            .collect();
        serde_json::from_value(json!({
            "uuid": format!("e{i}"),
            "published": format!("2024-01-01T00:00:{:02}.000Z", i),
            "eventType": t,
            "outcome": {"result": "SUCCESS"},
            "target": targets,
        }))
        .expect("event")
    }

    fn facts(groups: &[&str], status: &str) -> UserAssignmentFacts {
        UserAssignmentFacts {
            user_id: "u1".into(),
            status: status.into(),
            login: "u1@example.com".into(),
            status_changed: None,
            app_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            assignment_scope: None,
        }
    }

    const ADD: &str = "application.user_membership.add";
    const REMOVE: &str = "application.user_membership.remove";

    #[test]
    fn a_membership_add_explains_a_group_scoped_assignment() {
        let events = [
            event(
                0,
                "group.user_membership.add",
                &[("User", "u1"), ("UserGroup", "g1")],
            ),
            event(1, ADD, &[("AppInstance", "a1"), ("User", "u1")]),
        ];
        let log = AssignmentLog::from_events(&events, &BTreeMap::new());
        let pair = &log.pairs["a1"]["u1"];
        let d = decide("a1", "u1", pair, Some(&facts(&["g1"], "ACTIVE")), true);
        let Decision::Assign(rec) = d else {
            panic!("{d:?}")
        };
        assert_eq!(rec.scope, "GROUP");
        assert_eq!(rec.user_name.as_deref(), Some("u1@example.com"));
        assert_eq!(rec.status.as_deref(), Some("ACTIVE"));
        assert_eq!(rec.last_updated, Some(events[1].published));
        // Not a plain app: read.
        assert_eq!(
            decide("a1", "u1", pair, Some(&facts(&["g1"], "ACTIVE")), false),
            Decision::Read
        );
        // Not stored: read.
        assert_eq!(decide("a1", "u1", pair, None, true), Decision::Read);
    }

    #[test]
    fn an_unexplained_add_is_direct_only_without_groups() {
        let events = [
            event(
                0,
                "group.user_membership.add",
                &[("User", "u1"), ("UserGroup", "g1")],
            ),
            event(1, REMOVE, &[("AppInstance", "a1"), ("User", "u1")]),
            event(2, ADD, &[("AppInstance", "a1"), ("User", "u1")]),
        ];
        let log = AssignmentLog::from_events(&events, &BTreeMap::new());
        let pair = &log.pairs["a1"]["u1"];
        assert!(
            pair.triggers.is_empty(),
            "the trigger came before the remove"
        );
        let d = decide("a1", "u1", pair, Some(&facts(&[], "ACTIVE")), true);
        assert!(
            matches!(d, Decision::Assign(ref r) if r.scope == "USER"),
            "{d:?}"
        );
        // In an assigned group too: direct or via the group? Read.
        assert_eq!(
            decide("a1", "u1", pair, Some(&facts(&["g1"], "ACTIVE")), true),
            Decision::Read
        );
        assert_eq!(
            decide("a1", "u1", pair, Some(&facts(&[], "DEPROVISIONED")), true),
            Decision::Read
        );
        // Reactivated at the time of the add: GROUP; at another time: read.
        let mut f = facts(&["g1"], "PROVISIONED");
        f.status_changed = Some(pair.at);
        let d = decide("a1", "u1", pair, Some(&f), true);
        assert!(
            matches!(d, Decision::Assign(ref r) if r.scope == "GROUP"),
            "{d:?}"
        );
        f.status_changed = Some(pair.at - chrono::TimeDelta::minutes(5));
        assert_eq!(decide("a1", "u1", pair, Some(&f), true), Decision::Read);
    }

    #[test]
    fn a_group_assignment_explains_its_members_and_needs_no_whole_read() {
        let events = [
            event(
                0,
                "group.application_assignment.add",
                &[("UserGroup", "g2"), ("AppInstance", "a1")],
            ),
            event(1, ADD, &[("AppInstance", "a1"), ("User", "u1")]),
        ];
        let log = AssignmentLog::from_events(&events, &BTreeMap::new());
        assert!(!log.needs_whole_read("a1"));
        assert!(log.needs_whole_read("a2"), "asked for another reason");
        let d = decide(
            "a1",
            "u1",
            &log.pairs["a1"]["u1"],
            Some(&facts(&["g1", "g2"], "ACTIVE")),
            true,
        );
        assert!(
            matches!(d, Decision::Assign(ref r) if r.scope == "GROUP"),
            "{d:?}"
        );
    }

    #[test]
    fn removals_are_checked_against_the_groups() {
        let events = [event(0, REMOVE, &[("AppInstance", "a1"), ("User", "u1")])];
        let log = AssignmentLog::from_events(&events, &BTreeMap::new());
        let pair = &log.pairs["a1"]["u1"];
        let at = events[0].published;
        assert_eq!(
            decide("a1", "u1", pair, Some(&facts(&[], "ACTIVE")), false),
            Decision::Remove(at)
        );
        assert_eq!(decide("a1", "u1", pair, None, false), Decision::Remove(at));
        assert_eq!(
            decide(
                "a1",
                "u1",
                pair,
                Some(&facts(&["g1"], "DEPROVISIONED")),
                false
            ),
            Decision::Remove(at)
        );
        assert_eq!(
            decide("a1", "u1", pair, Some(&facts(&["g1"], "ACTIVE")), false),
            Decision::Read
        );
    }

    /// Membership and group assignment changes whose pairs have no later event: kept when
    /// the store agrees with itself, read when not.
    #[test]
    fn group_changes_without_a_pair_event_are_checked_against_the_store() {
        let events = [
            event(
                0,
                "group.user_membership.add",
                &[("User", "u1"), ("UserGroup", "g1")],
            ),
            event(1, ADD, &[("AppInstance", "a1"), ("User", "u2")]),
            event(
                2,
                "group.user_membership.remove",
                &[("User", "u2"), ("UserGroup", "g1")],
            ),
            event(3, ADD, &[("AppInstance", "a1"), ("User", "u3")]),
            event(
                4,
                "group.application_assignment.remove",
                &[("UserGroup", "g1"), ("AppInstance", "a1")],
            ),
        ];
        let mut log = AssignmentLog::from_events(&events, &BTreeMap::new());
        assert_eq!(log.memberships.len(), 2);
        assert_eq!(log.group_changes.len(), 1);
        let targets = BTreeMap::from([
            (("a1".to_owned(), "u1".to_owned()), 0),
            (("a1".to_owned(), "u2".to_owned()), 2),
            (("a1".to_owned(), "u3".to_owned()), 1),
        ]);
        log.mark_unlogged(targets);
        let pairs = &log.pairs["a1"];
        assert_eq!(pairs["u1"].last, Last::Unlogged);
        assert!(
            pairs["u2"].unlogged_after,
            "the add came before the removal"
        );
        assert!(!pairs["u3"].unlogged_after, "the add came after the change");

        let with = |groups: &[&str], scope: Option<&str>| {
            let mut f = facts(groups, "ACTIVE");
            f.assignment_scope = scope.map(str::to_owned);
            f
        };
        let u1 = &pairs["u1"];
        // Joined an assigned group: assigned already (kept) or not (read).
        assert_eq!(
            decide("a1", "u1", u1, Some(&with(&["g1"], Some("GROUP"))), true),
            Decision::Keep
        );
        assert_eq!(
            decide("a1", "u1", u1, Some(&with(&["g1"], None)), true),
            Decision::Read
        );
        // Left: a direct assignment stays, a group one without a group left is read.
        assert_eq!(
            decide("a1", "u1", u1, Some(&with(&[], Some("USER"))), true),
            Decision::Keep
        );
        assert_eq!(
            decide("a1", "u1", u1, Some(&with(&[], Some("GROUP"))), true),
            Decision::Read
        );
        assert_eq!(
            decide("a1", "u1", u1, Some(&with(&[], None)), true),
            Decision::Keep
        );
        assert_eq!(decide("a1", "u1", u1, None, true), Decision::Read);
        // An add, then the user left the group: unless a group still reaches them, read.
        let u2 = &pairs["u2"];
        assert_eq!(
            decide("a1", "u2", u2, Some(&with(&[], None)), true),
            Decision::Read
        );
    }

    #[test]
    fn updates_events_without_a_user_and_created_apps_are_read() {
        let events = [
            event(
                0,
                "application.user_membership.update",
                &[("AppInstance", "a1"), ("User", "u1")],
            ),
            event(1, ADD, &[("AppInstance", "a2")]),
            event(2, "application.lifecycle.create", &[("AppInstance", "a3")]),
            event(
                3,
                "group.application_assignment.remove",
                &[("UserGroup", "g"), ("AppInstance", "a3")],
            ),
        ];
        let mut extra = BTreeMap::new();
        extra.insert("a4".to_owned(), BTreeSet::from(["u9".to_owned()]));
        let log = AssignmentLog::from_events(&events, &extra);
        assert_eq!(
            decide(
                "a1",
                "u1",
                &log.pairs["a1"]["u1"],
                Some(&facts(&[], "ACTIVE")),
                true
            ),
            Decision::Read
        );
        assert_eq!(log.pairs["a4"]["u9"].last, Last::Other);
        assert!(log.needs_whole_read("a2") && log.needs_whole_read("a3"));
    }
}
