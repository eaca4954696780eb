//! The incremental plan (reference 5.2, 6.2):
//!
//! 1. users with `search=lastUpdated gt T` (search includes DEPROVISIONED), groups with
//!    `filter=lastUpdated gt T or lastMembershipUpdated gt T` and every app (the apps
//!    listing has no `lastUpdated` filter; it is one request per 200 apps and also reveals
//!    deleted apps). T is the last successful run's start minus the safety margin.
//! 2. the System Log from the stored polling cursor, applied in order: usage, membership
//!    changes, deletions; creations and app assignment changes are noted;
//! 3. members of the groups whose `lastMembershipUpdated` differs from the stored one,
//!    unless the log explains the change (an event of that group at or after the stamp);
//!    created groups and apps; groups of apps whose group assignments changed; then app-user
//!    assignments, derived from the log's `application.user_membership.*` events and the
//!    store where that is certain (see `assignments`; group changes the log does not follow
//!    with an event of the pair are checked against the store), else read one by one
//!    (`/apps/{id}/users/{userId}`, final state) or, for created apps and apps with more
//!    uncertain users than pages, whole;
//! 4. the new cursor is saved last, so a killed run replays the log (idempotently).
//!
//! Moved groups keep their old stamp in the store until step 3 is done with them, so a run
//! killed in between still sees them as moved.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::try_join;
use serde_json::Value;
use steward_inventory::InventoryStore;

use crate::assignments::AssignmentLog;
use crate::convert::okta_time;
use crate::listing::{Sink, url_with};
use crate::relations::Task;
use crate::syncer::{RunCtx, Syncer};
use crate::{SyncError, convert};

impl<S: InventoryStore> Syncer<S> {
    pub(crate) async fn run_incremental(&self, run: &RunCtx) -> Result<(), SyncError> {
        let (Some(mark), Some(cursor)) = (self.watermark().await?, self.log_cursor().await?) else {
            return Err(SyncError::InvalidData(
                "no previous sync to continue from; run a full sync".into(),
            ));
        };
        let since = okta_time(mark - self.config.safety_margin);
        let ps = &self.config.page_sizes;
        let stamps: HashMap<_, _> = self
            .store
            .group_membership_stamps(self.conn)
            .await?
            .into_iter()
            .collect();

        let users = url_with(
            "/api/v1/users",
            &[
                ("limit", &ps.users.to_string()),
                ("search", &format!("lastUpdated gt \"{since}\"")),
            ],
        );
        let groups = url_with(
            "/api/v1/groups",
            &[
                ("limit", &ps.groups.to_string()),
                ("expand", "stats"),
                (
                    "filter",
                    &format!("lastUpdated gt \"{since}\" or lastMembershipUpdated gt \"{since}\""),
                ),
            ],
        );
        let apps = url_with("/api/v1/apps", &[("limit", &ps.apps.to_string())]);
        let (_, moved, apps) = try_join!(
            self.listing(run, "users", users, Sink::Users),
            self.listing(run, "groups", groups, Sink::Groups(Some(&stamps))),
            self.listing(run, "apps", apps, Sink::Apps),
        )?;
        // The apps listing was complete: apps it did not show are gone.
        self.store
            .finish_full_listing(self.conn, run.id, "apps", self.clock.now())
            .await?;
        self.save_progress(run).await?;

        let (events, next) = self.poll_changes(run, &cursor).await?;
        let mut todo = self.apply_events(run, &events).await?;
        // Moved groups whose changes the log explains are now up to date; read the others.
        let (explained, unexplained): (Vec<Value>, Vec<Value>) =
            moved.iter().cloned().partition(|g| {
                let id = g.get("id").and_then(Value::as_str).unwrap_or_default();
                let stamp = g
                    .get("lastMembershipUpdated")
                    .and_then(|t| serde_json::from_value(t.clone()).ok());
                todo.explains(id, stamp)
            });
        self.reread_groups(run, unexplained).await?;
        let explained = explained
            .into_iter()
            .map(convert::group)
            .collect::<Result<Vec<_>, _>>()?;
        if !explained.is_empty() {
            self.store
                .upsert_groups(self.conn, run.id, &explained)
                .await?;
        }

        // Objects created after the listings read them.
        let known_groups: HashSet<&str> = stamps
            .keys()
            .map(String::as_str)
            .chain(moved.iter().filter_map(|g| g.get("id")?.as_str()))
            .collect();
        let mut created = Vec::new();
        for g in todo
            .created_groups
            .iter()
            .filter(|g| !known_groups.contains(g.as_str()))
        {
            created.extend(self.fetch_one(run, "groups", g).await?);
        }
        self.reread_groups(run, created).await?;
        let listed_apps: BTreeSet<&str> = apps.iter().filter_map(Value::as_str).collect();
        for a in todo
            .created_apps
            .iter()
            .filter(|a| !listed_apps.contains(a.as_str()))
        {
            self.fetch_one(run, "apps", a).await?;
        }
        // App groups first, and apps that need a whole read: then the store knows every
        // group assignment, and the other assignment changes are derived from the log
        // (see `assignments`), with reads only where the store cannot tell.
        let log = AssignmentLog::from_events(&events, &todo.app_user_reads);
        let whole: BTreeSet<String> = std::mem::take(&mut todo.app_users)
            .into_iter()
            .filter(|a| log.needs_whole_read(a))
            .collect();
        let mut tasks: Vec<Task> = whole.iter().cloned().map(Task::AppUsers).collect();
        tasks.extend(
            std::mem::take(&mut todo.app_groups)
                .into_iter()
                .map(Task::AppGroups),
        );
        self.run_tasks(run, tasks).await?;
        let tasks = self.apply_assignment_log(run, log, &whole).await?;
        self.run_tasks(run, tasks).await?;

        self.save_log_cursor(&next).await?;
        Ok(())
    }

    /// Reads the members of `groups` (raw Okta JSON), then stores each group with its
    /// current `lastMembershipUpdated`: only then is the group no longer "moved".
    async fn reread_groups(&self, run: &RunCtx, groups: Vec<Value>) -> Result<(), SyncError> {
        let records = groups
            .into_iter()
            .map(convert::group)
            .collect::<Result<Vec<_>, _>>()?;
        let tasks = records
            .iter()
            .map(|g| Task::Members {
                id: g.id.clone(),
                count: g.users_count,
                builtin: g.group_type == "BUILT_IN",
            })
            .collect();
        self.run_tasks(run, tasks).await?;
        if !records.is_empty() {
            self.store
                .upsert_groups(self.conn, run.id, &records)
                .await?;
        }
        Ok(())
    }

    /// Polls the System Log from `cursor` until a short page. Returns the events (deduped by
    /// uuid) and the URL to continue from next time.
    async fn poll_changes(
        &self,
        run: &RunCtx,
        cursor: &str,
    ) -> Result<(Vec<okta_client::models::LogEvent>, String), SyncError> {
        let limit = self.config.page_sizes.logs as usize;
        let mut url = cursor.to_owned();
        let mut seen = HashSet::new();
        let mut events = Vec::new();
        loop {
            let page = self.client.get_page(&url).await?;
            let n = page.items.len();
            for item in page.items {
                let e = convert::log_event(item)?;
                if seen.insert(e.uuid.clone()) {
                    events.push(e);
                }
            }
            run.tracker.page("logs", n as u64);
            match page.next {
                Some(next) if next != url => url = next,
                _ => break,
            }
            // Polling queries always link `next`; a short page means caught up.
            if n < limit {
                break;
            }
        }
        Ok((events, url))
    }
}
