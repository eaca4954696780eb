//! Per-group and per-app listings (members, app users, app groups), run concurrently.

use futures::{StreamExt, TryStreamExt, stream};
use okta_client::OktaError;
use steward_inventory::InventoryStore;

use crate::listing::{Sink, url_with};
use crate::syncer::{RunCtx, Syncer};
use crate::{SyncError, convert};

/// One per-object listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Task {
    /// Members of a group, with its `usersCount` and type when known.
    Members {
        id: String,
        count: Option<i64>,
        builtin: bool,
    },
    /// Users assigned to an app.
    AppUsers(String),
    /// One user's assignment to an app (`/apps/{app}/users/{user}`).
    AppUser { app: String, user: String },
    /// Groups assigned to an app.
    AppGroups(String),
}

impl Task {
    /// Pages this task is expected to read (for progress estimates).
    fn expected_pages(&self, members_limit: u32) -> (&'static str, u64) {
        match self {
            Task::Members { count, builtin, .. } => {
                let n = count.unwrap_or(1).max(0) as u64;
                let pages = n.div_ceil(u64::from(members_limit.max(1)));
                ("memberships", if *builtin { pages.max(1) } else { pages })
            }
            Task::AppUsers(_) | Task::AppUser { .. } => ("app_users", 1),
            Task::AppGroups(_) => ("app_groups", 1),
        }
    }
}

impl<S: InventoryStore> Syncer<S> {
    /// Runs `tasks` with up to `concurrency` at once.
    pub(crate) async fn run_tasks(&self, run: &RunCtx, tasks: Vec<Task>) -> Result<(), SyncError> {
        for t in &tasks {
            let (res, pages) = t.expected_pages(self.config.page_sizes.group_members);
            run.tracker.expect(res, pages);
        }
        stream::iter(tasks)
            .map(|t| self.run_task(run, t))
            .buffer_unordered(self.config.concurrency.max(1))
            .try_collect::<()>()
            .await
    }

    async fn run_task(&self, run: &RunCtx, task: Task) -> Result<(), SyncError> {
        if let Task::AppUser { app, user } = &task {
            return self.read_app_user(run, app, user).await;
        }
        let ps = &self.config.page_sizes;
        let at_start = self.clock.now();
        let (kind, id, result) = match &task {
            Task::Members { id, count, builtin } => {
                // An empty group needs no request; Everyone is always read.
                let result = if *count == Some(0) && !builtin {
                    Ok(Vec::new())
                } else {
                    let first = url_with(
                        &format!("/api/v1/groups/{id}/users"),
                        &[("limit", &ps.group_members.to_string())],
                    );
                    self.listing(run, &format!("members:{id}"), first, Sink::Members(id))
                        .await
                };
                ("groups", id, result)
            }
            Task::AppUsers(id) => {
                let first = url_with(
                    &format!("/api/v1/apps/{id}/users"),
                    &[("limit", &ps.app_users.to_string())],
                );
                let key = format!("app_users:{id}");
                (
                    "apps",
                    id,
                    self.listing(run, &key, first, Sink::AppUsers(id)).await,
                )
            }
            Task::AppUser { .. } => return Ok(()),
            Task::AppGroups(id) => {
                let first = url_with(
                    &format!("/api/v1/apps/{id}/groups"),
                    &[("limit", &ps.app_groups.to_string())],
                );
                let key = format!("app_groups:{id}");
                (
                    "apps",
                    id,
                    self.listing(run, &key, first, Sink::AppGroups(id)).await,
                )
            }
        };
        match result {
            Ok(_) => {}
            // Deleted since it was listed: the System Log will say so too.
            Err(SyncError::Okta(OktaError::NotFound { .. })) => {
                return self.removed(kind, id).await;
            }
            Err(e) => return Err(e),
        }
        let (st, conn, run_id) = (&self.store, self.conn, run.id);
        match &task {
            Task::Members { id, .. } => st.finish_group_members(conn, run_id, id, at_start).await?,
            Task::AppUsers(id) => st.finish_app_users(conn, run_id, id, at_start).await?,
            Task::AppGroups(id) => st.finish_app_groups(conn, run_id, id, at_start).await?,
            Task::AppUser { .. } => {}
        }
        Ok(())
    }

    /// Reads one assignment and writes what Okta says now: the assignment, or its removal
    /// when Okta answers 404 (not assigned, or the app or user is gone).
    async fn read_app_user(&self, run: &RunCtx, app: &str, user: &str) -> Result<(), SyncError> {
        let at = self.clock.now();
        let path = format!("/api/v1/apps/{app}/users/{user}");
        let found = match self.client.get_json::<serde_json::Value>(&path).await {
            Ok(v) => {
                let rec = convert::app_user(app, v)?;
                self.store
                    .upsert_app_users(self.conn, run.id, &[rec])
                    .await?;
                1
            }
            Err(OktaError::NotFound { .. }) => {
                self.store.remove_app_user(self.conn, app, user, at).await?;
                run.tracker.expected_not_found();
                0
            }
            Err(e) => return Err(e.into()),
        };
        run.tracker.page("app_users", found);
        Ok(())
    }

    /// Marks one object removed now; unknown objects are fine (never synced).
    pub(crate) async fn removed(&self, kind: &str, id: &str) -> Result<(), SyncError> {
        match self
            .store
            .mark_removed(self.conn, kind, id, self.clock.now())
            .await
        {
            Ok(()) | Err(steward_inventory::StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Fetches and stores one user; false when Okta no longer has it.
    pub(crate) async fn fetch_user(&self, run: &RunCtx, id: &str) -> Result<bool, SyncError> {
        let v: serde_json::Value = match self.client.get_json(&format!("/api/v1/users/{id}")).await
        {
            Ok(v) => v,
            Err(OktaError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        self.store
            .upsert_users(self.conn, run.id, &[convert::user(v)?])
            .await?;
        run.tracker.page("users", 1);
        Ok(true)
    }

    /// Fetches one object (`/api/v1/groups/{id}?expand=stats`, `/api/v1/apps/{id}`) and
    /// writes it; `None` when Okta no longer has it.
    pub(crate) async fn fetch_one(
        &self,
        run: &RunCtx,
        kind: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>, SyncError> {
        let path = match kind {
            "groups" => format!("/api/v1/groups/{id}?expand=stats"),
            _ => format!("/api/v1/apps/{id}"),
        };
        let v: serde_json::Value = match self.client.get_json(&path).await {
            Ok(v) => v,
            Err(OktaError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if kind == "groups" {
            // Stored without its membership stamp until its members have been read.
            let mut g = convert::group(v.clone())?;
            g.last_membership_updated = None;
            self.store.upsert_groups(self.conn, run.id, &[g]).await?;
            run.tracker.page("groups", 1);
        } else {
            let a = convert::app(v.clone())?;
            self.store.upsert_apps(self.conn, run.id, &[a]).await?;
            run.tracker.page("apps", 1);
        }
        Ok(Some(v))
    }
}
