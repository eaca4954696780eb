//! The full plan: every user (DEPROVISIONED included), group, app, membership and
//! assignment, plus app usage from the System Log, then removal of what was not seen.
//!
//! Requests for an org of U users (D of them DEPROVISIONED), G groups, A apps:
//! `⌈(U−D)/200⌉ + ⌈D/200⌉ + ⌈G/10000⌉ + ⌈A/200⌉` listings,
//! `Σ⌈members/1000⌉` over non-empty groups, `Σ(⌈users/500⌉ + ⌈groups/200⌉)` over apps (at
//! least 2 per app), and `⌈SSO events/1000⌉ + 1` log pages.

use futures::try_join;
use okta_client::models::LogEvent;
use serde_json::Value;
use steward_inventory::InventoryStore;

use crate::convert::okta_time;
use crate::listing::url_with;
use crate::logs::{SSO_FILTER, change_poll_url};
use crate::relations::Task;
use crate::syncer::{RunCtx, Syncer};
use crate::{SyncError, convert};

/// SSO events written per transaction (several log pages).
const SSO_BATCH: usize = 5000;

impl<S: InventoryStore> Syncer<S> {
    pub(crate) async fn run_full(&self, run: &RunCtx) -> Result<(), SyncError> {
        let ps = &self.config.page_sizes;
        let users = url_with("/api/v1/users", &[("limit", &ps.users.to_string())]);
        // A plain listing omits DEPROVISIONED users (reference 5.2).
        let deprovisioned = url_with(
            "/api/v1/users",
            &[
                ("limit", &ps.users.to_string()),
                ("filter", "status eq \"DEPROVISIONED\""),
            ],
        );
        let groups = url_with(
            "/api/v1/groups",
            &[("limit", &ps.groups.to_string()), ("expand", "stats")],
        );
        let apps = url_with("/api/v1/apps", &[("limit", &ps.apps.to_string())]);
        // Users, the longest listing chain, run beside everything else: nothing later
        // needs them. Group members and app assignments need the group and app lists.
        // Members, app assignments and usage count against different rate-limit buckets
        // (`/api/v1/*`, `/api/v1/apps`, `/api/v1/logs`): running them side by side keeps
        // the slowest bucket (usually the apps one, 100/min) busy from the start. The
        // governor still caps requests in flight.
        let all_users = async {
            try_join!(
                self.listing(run, "users", users, crate::listing::Sink::Users),
                self.listing(
                    run,
                    "users:deprovisioned",
                    deprovisioned,
                    crate::listing::Sink::Users
                ),
            )?;
            let at = self.clock.now();
            self.store
                .finish_full_listing(self.conn, run.id, "users", at)
                .await?;
            Ok::<_, SyncError>(())
        };
        let relations = async {
            let (groups, apps) = try_join!(
                self.listing(run, "groups", groups, crate::listing::Sink::Groups(None)),
                self.listing(run, "apps", apps, crate::listing::Sink::Apps),
            )?;
            let at = self.clock.now();
            for kind in ["groups", "apps"] {
                self.store
                    .finish_full_listing(self.conn, run.id, kind, at)
                    .await?;
            }
            self.save_progress(run).await?;
            let members: Vec<Task> = groups
                .iter()
                .filter_map(|g| {
                    Some(Task::Members {
                        id: g.get("id")?.as_str()?.to_owned(),
                        count: g.get("n").and_then(Value::as_i64),
                        builtin: g.get("t").and_then(Value::as_str) == Some("BUILT_IN"),
                    })
                })
                .collect();
            drop(groups);
            let mut assignments = Vec::with_capacity(apps.len() * 2);
            for a in apps.iter().filter_map(Value::as_str) {
                assignments.push(Task::AppUsers(a.to_owned()));
                assignments.push(Task::AppGroups(a.to_owned()));
            }
            try_join!(
                self.run_tasks(run, members),
                self.run_tasks(run, assignments)
            )?;
            Ok::<_, SyncError>(())
        };
        try_join!(all_users, relations, self.sso_usage(run))?;

        // Incremental syncs continue from this run's start, so changes made while it ran
        // (after the objects concerned were read) are replayed; replays are idempotent.
        let since = run.started - self.config.safety_margin;
        self.save_log_cursor(&change_poll_url(since, ps.logs))
            .await?;
        Ok(())
    }

    /// `user.authentication.sso` events of the last `log_days` days (a polling query,
    /// checkpointed per page under `logs`).
    async fn sso_usage(&self, run: &RunCtx) -> Result<(), SyncError> {
        let since = run.started - chrono::TimeDelta::days(i64::from(self.config.log_days));
        let first = url_with(
            "/api/v1/logs",
            &[
                ("since", &okta_time(since)),
                ("limit", &self.config.page_sizes.logs.to_string()),
                ("sortOrder", "ASCENDING"),
                ("filter", SSO_FILTER),
            ],
        );
        let saved = self.store.checkpoint(self.conn, "logs").await?;
        let mut url = match crate::listing::saved_state(saved, run.id) {
            Some(s) if s.done => return Ok(()),
            Some(s) => s.next.unwrap_or(first),
            None => first,
        };
        // Pages are written in batches of about `SSO_BATCH` events, each with its
        // checkpoint after its rows, and the next page is read while a batch is written:
        // the log is one sequential chain, the longest of a full sync, and its events are
        // keyed by random uuids, so each transaction touches pages all over the indexes.
        let mut page = self.get_list::<LogEvent>("log event", &url).await?;
        let mut sso = Vec::new();
        let mut pages: Vec<u64> = Vec::new();
        loop {
            let items = std::mem::take(&mut page.0);
            let n = items.len();
            // Polling queries always have `next`; an empty page means caught up.
            let next = page.1.take().filter(|next| n > 0 && *next != url);
            sso.extend(items.iter().filter_map(convert::sso_event));
            drop(items);
            pages.push(n as u64);
            if let Some(next) = &next
                && sso.len() < SSO_BATCH
            {
                page = self.get_list("log event", next).await?;
                url = next.clone();
                continue;
            }
            let batch = std::mem::take(&mut sso);
            let counts = std::mem::take(&mut pages);
            let write = async {
                if !batch.is_empty() {
                    self.store.record_sso_events(self.conn, &batch).await?;
                }
                drop(batch);
                for n in counts {
                    run.tracker.page("logs", n);
                }
                let state =
                    serde_json::json!({"run": run.id, "next": next, "done": next.is_none()});
                self.store
                    .save_checkpoint(self.conn, "logs", &state)
                    .await?;
                Ok::<_, SyncError>(())
            };
            match &next {
                Some(next) => {
                    let (written, fetched) =
                        futures::join!(write, self.get_list("log event", next));
                    written?;
                    page = fetched?;
                    url = next.clone();
                }
                None => return write.await,
            }
        }
    }
}
