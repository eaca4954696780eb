//! The background scheduler: an incremental sync of each connection every
//! `sync_interval_minutes`, and a reconcile every `reconcile_interval_hours`. Runs go through
//! [`super::start`], so a connection already syncing (here or in another instance holding
//! its lease) is skipped until the next tick.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use steward_inventory::{InventoryStore, SyncKind};
use tokio::task::JoinHandle;

use crate::error::AppError;
use crate::state::AppState;

/// How often the scheduler looks at the connections.
const TICK: Duration = Duration::from_secs(30);

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

/// When the next scheduled sync of a connection is due.
pub fn next_due(state: &AppState, last_any: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let interval = interval(state);
    last_any.map_or_else(|| state.clock.now(), |t| t + interval)
}

fn interval(state: &AppState) -> TimeDelta {
    TimeDelta::minutes(i64::try_from(state.config.sync_interval_minutes).unwrap_or(15))
}

/// Starts what is due now, once.
pub async fn tick(state: &AppState) -> Result<(), AppError> {
    let Some(inv) = &state.inventory else {
        return Ok(());
    };
    // Expired sessions are refused anyway; this only keeps the table small.
    if let Err(e) = inv.store().delete_expired_sessions(state.clock.now()).await {
        tracing::warn!(error = %e, "cannot delete expired sessions");
    }
    let reconcile =
        TimeDelta::hours(i64::try_from(state.config.reconcile_interval_hours).unwrap_or(24));
    for conn in state.repos.connections.list_connections().await? {
        let Some(id) = inv.repos.connection_id(&conn.name).await? else {
            continue;
        };
        if inv.syncs.is_running(id) {
            continue;
        }
        let store = inv.store();
        let finished = |r: Option<steward_inventory::SyncRun>| {
            r.filter(|r| r.status == "succeeded")
                .and_then(|r| r.finished_at)
        };
        let last_any = store
            .last_run(id, None)
            .await
            .map_err(AppError::internal)?
            .and_then(|r| r.finished_at);
        let last_full = [SyncKind::Full, SyncKind::Reconcile];
        let mut full_at = None;
        for k in last_full {
            let t = finished(
                store
                    .last_run(id, Some(k))
                    .await
                    .map_err(AppError::internal)?,
            );
            full_at = full_at.max(t);
        }
        let now = state.clock.now();
        if let Some(kind) = due(now, last_any, full_at, interval(state), reconcile) {
            let started = super::start(state, &conn.name, kind, "scheduler").await?;
            tracing::info!(connection = %conn.name, kind = kind.as_str(), ?started, "scheduled sync");
        }
    }
    Ok(())
}

/// Runs [`tick`] every 30 seconds until the task is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        loop {
            every.tick().await;
            if let Err(e) = tick(&state).await {
                tracing::warn!(error = %e, "scheduler tick failed");
            }
        }
    })
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
