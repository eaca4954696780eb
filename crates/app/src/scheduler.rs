//! What is due when: an incremental sync of each connection every
//! [`crate::Settings::sync_interval`], and a reconcile every
//! [`crate::Settings::reconcile_interval`]. [`App::schedule_due`] queues what is due as
//! jobs (see [`crate::jobs`]); a connection with a sync queued or running (here or in
//! another instance) is skipped until the next tick.

use chrono::{DateTime, TimeDelta, Utc};
use steward_inventory::{InventoryStore, SyncKind};

use crate::error::{Error, Result};
use crate::{Actor, App};

/// What is due for a connection, given when its last run finished (failed ones included,
/// so a failing connection is retried once per interval, not every tick) and its last
/// successful full read (full or reconcile).
pub fn due(
    now: DateTime<Utc>,
    last_any: Option<DateTime<Utc>>,
    last_full: Option<DateTime<Utc>>,
    interval: TimeDelta,
    reconcile: TimeDelta,
) -> Option<SyncKind> {
    let Some(any) = last_any else {
        // Never synced: the incremental runs as a full one.
        return Some(SyncKind::Incremental);
    };
    if now - any < interval {
        return None;
    }
    match last_full {
        Some(full) if now - full >= reconcile => Some(SyncKind::Reconcile),
        _ => Some(SyncKind::Incremental),
    }
}

impl App {
    /// When the next scheduled sync of a connection is due.
    pub fn next_due(&self, last_any: Option<DateTime<Utc>>) -> DateTime<Utc> {
        last_any.map_or_else(|| self.now(), |t| t + self.settings().sync_interval)
    }

    /// What is due for connection `id` now, if anything.
    pub async fn sync_due(&self, id: i64) -> Result<Option<SyncKind>> {
        let store = self.store();
        let finished = |r: Option<steward_inventory::SyncRun>| {
            r.filter(|r| r.status == "succeeded")
                .and_then(|r| r.finished_at)
        };
        let last_any = store
            .last_run(id, None)
            .await
            .map_err(Error::internal)?
            .and_then(|r| r.finished_at);
        let mut full_at = None;
        for k in [SyncKind::Full, SyncKind::Reconcile] {
            let t = finished(store.last_run(id, Some(k)).await.map_err(Error::internal)?);
            full_at = full_at.max(t);
        }
        let s = self.settings();
        Ok(due(
            self.now(),
            last_any,
            full_at,
            s.sync_interval,
            s.reconcile_interval,
        ))
    }

    /// Queues every sync that is due now (a connection with a sync queued or running is
    /// skipped: the job's dedup key keeps one per connection, also across instances) and
    /// the periodic maintenance jobs.
    pub async fn schedule_due(&self) -> Result<()> {
        let actor = Actor::system("scheduler");
        let connections = self.list_connections().await?;
        for conn in &connections {
            if let Some(kind) = self.sync_due(conn.id).await? {
                let started = self.start_sync(&actor, &conn.name, kind).await?;
                tracing::info!(connection = %conn.name, kind = kind.as_str(), ?started, "scheduled sync");
            }
        }
        let ids: Vec<i64> = connections.iter().map(|c| c.id).collect();
        self.schedule_maintenance(&ids).await
    }
}

/// How often the scheduler looks at the connections.
const TICK: std::time::Duration = std::time::Duration::from_secs(30);

impl App {
    /// Runs [`App::schedule_due`] every 30 seconds until the task is aborted.
    pub fn spawn_scheduler(&self) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            loop {
                every.tick().await;
                if let Err(e) = app.schedule_due().await {
                    tracing::warn!(error = %e.chain(), "scheduler tick failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_picks_the_right_kind() {
        let now = Utc::now();
        let m = TimeDelta::minutes;
        let (i, r) = (m(15), TimeDelta::hours(24));
        assert_eq!(due(now, None, None, i, r), Some(SyncKind::Incremental));
        assert_eq!(due(now, Some(now - m(5)), Some(now - m(5)), i, r), None);
        assert_eq!(due(now, Some(now - m(5)), None, i, r), None);
        assert_eq!(
            due(now, Some(now - m(20)), Some(now - m(60)), i, r),
            Some(SyncKind::Incremental)
        );
        assert_eq!(
            due(
                now,
                Some(now - m(20)),
                Some(now - TimeDelta::hours(25)),
                i,
                r
            ),
            Some(SyncKind::Reconcile)
        );
    }
}
