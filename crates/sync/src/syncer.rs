//! [`Syncer`]: run bookkeeping (start, resume, finish, figures) around the full and
//! incremental plans in [`crate::full`] and [`crate::incremental`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use okta_client::OktaClient;
use serde_json::{Value, json};
use steward_inventory::{ConnectionId, InventoryStore, SyncKind, SyncRunId, SyncStats};

use crate::clock::Clock;
use crate::progress::{ProgressFn, Tracker};
use crate::{SyncConfig, SyncError};

/// Checkpoint prefixes that belong to one run; cleared when a run starts or ends.
const RUN_CHECKPOINTS: [&str; 7] = [
    "users",
    "groups",
    "members:",
    "apps",
    "app_users:",
    "app_groups:",
    "logs",
];
/// The System Log polling URL the next incremental sync continues from: `{"next": url}`.
pub const LOG_CURSOR: &str = "log_cursor";
/// Start of the last successful run: `{"since": time, "run": id, "usage_refreshed": time}`.
pub const WATERMARK: &str = "sync_watermark";
/// How often app usage is recomputed so that its 30 and 90-day counts age (full and
/// reconcile runs always recompute it).
const USAGE_REFRESH_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// What a finished run did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SyncReport {
    /// The run.
    pub run: SyncRunId,
    /// What ran (an incremental sync without a baseline runs as a full one).
    pub kind: SyncKind,
    /// Whether it continued a run that had been killed.
    pub resumed: bool,
    /// Figures (of every process that worked on the run).
    pub stats: SyncStats,
}

/// One run in progress.
pub(crate) struct RunCtx {
    pub id: SyncRunId,
    pub kind: SyncKind,
    pub started: DateTime<Utc>,
    pub resumed: bool,
    /// Figures of earlier processes that worked on this run.
    pub base: SyncStats,
    pub tracker: Tracker,
}

/// Syncs one Okta connection into an [`InventoryStore`].
pub struct Syncer<S> {
    pub(crate) client: OktaClient,
    pub(crate) store: S,
    pub(crate) conn: ConnectionId,
    pub(crate) config: SyncConfig,
    pub(crate) clock: Arc<dyn Clock>,
    progress: Option<ProgressFn>,
}

impl<S: InventoryStore> Syncer<S> {
    /// A syncer for connection `conn`.
    pub fn new(
        client: OktaClient,
        store: S,
        conn: ConnectionId,
        config: SyncConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Syncer {
            client,
            // Writes through this handle may share transactions and commit later: the run
            // flushes before it reports.
            store: store.for_sync(),
            conn,
            config,
            clock,
            progress: None,
        }
    }

    /// Calls `f` after every page read.
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads the whole org (or resumes a killed full run) and marks removed what is gone.
    pub async fn full(&self) -> Result<SyncReport, SyncError> {
        self.execute(SyncKind::Full).await
    }

    /// A full read compared against the store: catches anything incremental syncs missed.
    pub async fn reconcile(&self) -> Result<SyncReport, SyncError> {
        self.execute(SyncKind::Reconcile).await
    }

    /// Reads what changed since the last successful run (a full run when there is none, or
    /// the killed run when one is open).
    pub async fn incremental(&self) -> Result<SyncReport, SyncError> {
        self.execute(SyncKind::Incremental).await
    }

    async fn execute(&self, wanted: SyncKind) -> Result<SyncReport, SyncError> {
        let run = self.open_run(wanted).await?;
        tracing::info!(
            run = run.id,
            kind = run.kind.as_str(),
            resumed = run.resumed,
            "sync"
        );
        let result = match run.kind {
            SyncKind::Incremental => self.run_incremental(&run).await,
            _ => self.run_full(&run).await,
        };
        let stats = self.stats(&run);
        let now = self.clock.now();
        match result {
            Ok(()) => {
                let refreshed = self.refresh_usage_if_due(&run, now).await?;
                let mark = json!({
                    "since": run.started,
                    "run": run.id,
                    "usage_refreshed": refreshed,
                });
                self.store
                    .save_checkpoint(self.conn, WATERMARK, &mark)
                    .await?;
                self.store
                    .finish_run(run.id, "succeeded", &stats, None, now)
                    .await?;
                self.clear_run_checkpoints().await?;
                // Nothing counts as done before it is committed.
                self.store.flush().await?;
                Ok(SyncReport {
                    run: run.id,
                    kind: run.kind,
                    resumed: run.resumed,
                    stats,
                })
            }
            Err(e) => {
                let msg = e.to_string();
                let closed = if e.is_resumable() {
                    // Left open: the next sync resumes it from its checkpoints.
                    self.store.update_run(run.id, &stats).await
                } else {
                    self.store
                        .finish_run(run.id, "failed", &stats, Some(&msg), now)
                        .await
                };
                if let Err(store_err) = closed.and(self.store.flush().await) {
                    tracing::warn!(run = run.id, error = %store_err, "cannot record the failed run");
                }
                Err(e)
            }
        }
    }

    async fn open_run(&self, wanted: SyncKind) -> Result<RunCtx, SyncError> {
        let tracker = || Tracker::new(self.client.clone(), self.progress.clone());
        if let Some(open) = self.store.unfinished_run(self.conn).await? {
            // A killed run of a compatible kind continues; an incremental run gives way to
            // an explicit full one.
            if wanted == SyncKind::Incremental || open.kind != SyncKind::Incremental {
                return Ok(RunCtx {
                    id: open.id,
                    kind: open.kind,
                    started: open.started_at,
                    resumed: true,
                    base: open.stats,
                    tracker: tracker(),
                });
            }
            let note = "abandoned: a full sync was started";
            let now = self.clock.now();
            self.store
                .finish_run(open.id, "failed", &open.stats, Some(note), now)
                .await?;
        }
        let kind = if wanted == SyncKind::Incremental && !self.has_baseline().await? {
            SyncKind::Full
        } else {
            wanted
        };
        self.clear_run_checkpoints().await?;
        let started = self.clock.now();
        let id = self.store.start_run(self.conn, kind, started).await?;
        Ok(RunCtx {
            id,
            kind,
            started,
            resumed: false,
            base: SyncStats::default(),
            tracker: tracker(),
        })
    }

    /// Whether an incremental sync has something to continue from.
    async fn has_baseline(&self) -> Result<bool, SyncError> {
        Ok(self.watermark().await?.is_some() && self.log_cursor().await?.is_some())
    }

    /// Start of the last successful run.
    pub(crate) async fn watermark(&self) -> Result<Option<DateTime<Utc>>, SyncError> {
        self.watermark_time("since").await
    }

    /// A time stored under `field` of the watermark.
    async fn watermark_time(&self, field: &str) -> Result<Option<DateTime<Utc>>, SyncError> {
        let v = self.store.checkpoint(self.conn, WATERMARK).await?;
        Ok(v.and_then(|v| serde_json::from_value(v.get(field)?.clone()).ok()))
    }

    /// Recomputes app usage after a full or reconcile run, or when the last recomputation
    /// is [`USAGE_REFRESH_EVERY`] old; returns when it was last recomputed.
    async fn refresh_usage_if_due(
        &self,
        run: &RunCtx,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, SyncError> {
        if run.kind == SyncKind::Incremental
            && let Some(last) = self.watermark_time("usage_refreshed").await?
            && now - last < USAGE_REFRESH_EVERY
        {
            return Ok(last);
        }
        self.store.refresh_app_usage(self.conn).await?;
        Ok(now)
    }

    /// The stored System Log polling URL.
    pub(crate) async fn log_cursor(&self) -> Result<Option<String>, SyncError> {
        let v = self.store.checkpoint(self.conn, LOG_CURSOR).await?;
        Ok(v.and_then(|v| v.get("next").and_then(Value::as_str).map(str::to_owned)))
    }

    pub(crate) async fn save_log_cursor(&self, next: &str) -> Result<(), SyncError> {
        let state = json!({"next": next});
        Ok(self
            .store
            .save_checkpoint(self.conn, LOG_CURSOR, &state)
            .await?)
    }

    async fn clear_run_checkpoints(&self) -> Result<(), SyncError> {
        for prefix in RUN_CHECKPOINTS {
            self.store.clear_checkpoints(self.conn, prefix).await?;
        }
        Ok(())
    }

    /// The run's figures: earlier processes' plus this one's.
    fn stats(&self, run: &RunCtx) -> SyncStats {
        let c = run.tracker.client_delta();
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut items = run.base.items.clone();
        for (k, v) in run.tracker.item_counts() {
            *items.entry(k).or_insert(0) += v;
        }
        SyncStats {
            items,
            requests: run.base.requests + n(c.requests),
            rate_limited: run.base.rate_limited + n(c.rate_limited),
            // Failed attempts that were retried (429s aside) plus final failures.
            errors: run.base.errors + n(c.errors + c.retries.saturating_sub(c.rate_limited)),
            rate_limit_wait_ms: run.base.rate_limit_wait_ms + n(c.wait_ms),
        }
    }

    /// Saves the figures so far (between phases).
    pub(crate) async fn save_progress(&self, run: &RunCtx) -> Result<(), SyncError> {
        Ok(self.store.update_run(run.id, &self.stats(run)).await?)
    }
}
