//! Syncs: [`App::run_sync`] runs one in the caller's task (what `steward sync` and the sync
//! job do), [`App::start_sync`] starts one in the background (Sync now, the API, the
//! scheduler). One sync per connection at a time, across processes sharing the database;
//! a busy connection is refused with who holds it. Live progress of this process's syncs
//! is kept in the [`SyncManager`] for the sync page and the API.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::json;
use steward_inventory::SyncKind;
use steward_sync::{Progress, ProgressFn, SyncConfig, SyncReport, Syncer, SystemClock};

use crate::connections::SYNC_SCOPES;
use steward_store::SyncLock;

use crate::error::{Error, Result};
use crate::model::Connection;
use crate::secret::random_token;
use crate::{Actor, App, Target};

/// How often a running sync checks that it still holds its lock (on PostgreSQL the lock
/// lives in a database session, which a network failure or a restarted server can end).
const LOCK_CHECK: Duration = Duration::from_secs(30);

/// The refusal when a connection is already syncing.
pub const SYNC_BUSY: &str = "another sync of this connection is running (`steward serve`'s \
                             scheduler or another `steward sync`); try again when it is done";

/// Where a sync stands, as the sync page and the progress endpoint show it.
#[derive(Clone, Debug, Serialize)]
pub struct LiveSync {
    /// Connection name.
    pub connection: String,
    /// `full`, `incremental`, `reconcile`.
    pub kind: SyncKind,
    /// Who started it.
    pub started_by: String,
    /// Start.
    pub started: DateTime<Utc>,
    /// `queued`, `running`, `succeeded`, `failed`.
    pub state: String,
    /// The resource being read.
    pub resource: String,
    /// Items written per resource.
    pub items: BTreeMap<String, u64>,
    /// Requests sent (retries included).
    pub requests: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// End.
    pub finished: Option<DateTime<Utc>>,
    /// The error, when it failed (never secret: sync errors name setup steps and statuses).
    pub error: Option<String>,
}

/// Running (and the last finished) sync of each connection of this process.
pub struct SyncManager {
    holder: String,
    live: Mutex<HashMap<i64, Arc<Mutex<LiveSync>>>>,
}

impl std::fmt::Debug for SyncManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncManager")
    }
}

impl SyncManager {
    pub(crate) fn new() -> Result<Self> {
        Ok(SyncManager {
            holder: format!(
                "steward/{}/{}",
                std::process::id(),
                &random_token()?.expose()[..8]
            ),
            live: Mutex::new(HashMap::new()),
        })
    }

    /// The current or last sync of connection `id` in this process.
    pub fn status(&self, id: i64) -> Option<LiveSync> {
        self.live.lock().get(&id).map(|s| s.lock().clone())
    }

    /// Whether a sync of `id` is queued or runs in this process.
    pub fn is_running(&self, id: i64) -> bool {
        self.status(id)
            .is_some_and(|s| s.state == "running" || s.state == "queued")
    }

    /// Starts showing a sync of `conn` in `state`, reading `resource`; returns its entry.
    fn track(
        &self,
        conn: &Connection,
        kind: SyncKind,
        actor: &Actor,
        now: DateTime<Utc>,
        state: &str,
        resource: &str,
    ) -> Arc<Mutex<LiveSync>> {
        let live = Arc::new(Mutex::new(LiveSync {
            connection: conn.name.clone(),
            kind,
            started_by: format!("{}:{}", actor.kind.as_str(), actor.name),
            started: now,
            state: state.to_owned(),
            resource: resource.to_owned(),
            items: BTreeMap::new(),
            requests: 0,
            rate_limited: 0,
            finished: None,
            error: None,
        }));
        self.live.lock().insert(conn.id, live.clone());
        live
    }

    /// Shows a sync queued from this process as `queued` until a runner starts it.
    pub(crate) fn queued(
        &self,
        conn: &Connection,
        kind: SyncKind,
        actor: &Actor,
        now: DateTime<Utc>,
    ) {
        self.track(conn, kind, actor, now, "queued", "waiting for a job runner");
    }
}

/// Whether [`App::start_sync`] started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Started {
    /// A new run is going.
    Started,
    /// A sync of this connection is already running (here or in another instance).
    AlreadyRunning,
}

impl App {
    /// Takes the sync lock of `conn`, or `Conflict` saying who holds it.
    async fn lock(&self, conn: &Connection) -> Result<SyncLock> {
        match self
            .store()
            .try_lock_sync(conn.id, &self.syncs().holder)
            .await?
        {
            Ok(lock) => Ok(lock),
            Err(holder) => Err(Error::Conflict(match holder {
                Some(h) => format!(
                    "{SYNC_BUSY} (held by {} pid {} on {} since {})",
                    h.holder,
                    h.pid,
                    h.host,
                    h.since.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                None => SYNC_BUSY.to_owned(),
            })),
        }
    }

    fn live(&self, conn: &Connection, kind: SyncKind, actor: &Actor) -> Arc<Mutex<LiveSync>> {
        self.syncs()
            .track(conn, kind, actor, self.now(), "running", "starting")
    }

    /// Runs a sync of `conn` in this task, holding the connection's sync lock for the whole
    /// run; `Conflict` ([`SYNC_BUSY`]) when another sync of it runs. `progress` sees every
    /// page (the CLI draws bars with it).
    pub async fn run_sync(
        &self,
        actor: &Actor,
        conn: &Connection,
        kind: SyncKind,
        progress: Option<ProgressFn>,
    ) -> Result<SyncReport> {
        let lock = self.lock(conn).await?;
        // Started here, not queued as a job: the start is the change, recorded on its own.
        self.record(
            actor,
            "sync.start",
            Target::new("connection", conn.id.to_string()),
            json!({"name": conn.name, "kind": kind.as_str()}),
        )
        .await?;
        self.run_locked(lock, actor, conn, kind, progress).await
    }

    /// Runs a sync whose lock is held (the sync job's path: its request was audited when it
    /// was queued), checking every [`LOCK_CHECK`] that the lock is still held.
    pub(crate) async fn run_locked(
        &self,
        mut lock: SyncLock,
        actor: &Actor,
        conn: &Connection,
        kind: SyncKind,
        progress: Option<ProgressFn>,
    ) -> Result<SyncReport> {
        let result = {
            let run = self.run_sync_unlocked(actor, conn, kind, progress);
            tokio::pin!(run);
            let mut check = tokio::time::interval(LOCK_CHECK);
            check.tick().await;
            loop {
                tokio::select! {
                    r = &mut run => break r,
                    _ = check.tick() => {
                        if !lock.is_held().await {
                            tracing::warn!(connection = %conn.name, "sync lock lost; stopping the sync");
                            break Err(Error::internal(
                                "the sync lock was lost (the database session holding it ended); \
                                 the next sync resumes from the last checkpoint",
                            ));
                        }
                    }
                }
            }
        };
        if let Err(e) = lock.release().await {
            tracing::warn!(connection = %conn.name, error = %e, "cannot release the sync lock");
        }
        result
    }

    async fn run_sync_unlocked(
        &self,
        actor: &Actor,
        conn: &Connection,
        kind: SyncKind,
        progress: Option<ProgressFn>,
    ) -> Result<SyncReport> {
        let live = self.live(conn, kind, actor);
        let client = match self.okta_client(conn, &SYNC_SCOPES).await {
            Ok(c) => c,
            Err(e) => {
                finish(&live, self.now(), Err(&e.to_string()));
                return Err(e);
            }
        };
        let config = SyncConfig {
            log_days: self.settings().sync_log_days,
            ..SyncConfig::for_client(&client)
        };
        let progress_live = live.clone();
        let syncer = Syncer::new(
            client,
            self.store().clone(),
            conn.id,
            config,
            Arc::new(SystemClock),
        )
        .with_progress(Arc::new(move |p: &Progress| {
            {
                let mut l = progress_live.lock();
                l.resource = p.resource.to_owned();
                l.items.insert(p.resource.to_owned(), p.items);
                l.requests = p.client.requests;
                l.rate_limited = p.client.rate_limited;
            }
            if let Some(f) = &progress {
                f(p);
            }
        }));
        let result = match kind {
            SyncKind::Full => syncer.full().await,
            SyncKind::Incremental => syncer.incremental().await,
            SyncKind::Reconcile => syncer.reconcile().await,
        };
        match result {
            Ok(report) => {
                {
                    let mut l = live.lock();
                    l.kind = report.kind;
                    l.requests = u64::try_from(report.stats.requests).unwrap_or(0);
                    l.rate_limited = u64::try_from(report.stats.rate_limited).unwrap_or(0);
                }
                finish(&live, self.now(), Ok(()));
                tracing::info!(connection = %conn.name, run = report.run, "sync finished");
                Ok(report)
            }
            Err(e) => {
                let text = format!("while syncing {}: {e}", conn.domain);
                finish(&live, self.now(), Err(&text));
                tracing::warn!(connection = %conn.name, error = %e, "sync failed");
                Err(Error::internal(text))
            }
        }
    }

    /// Takes the lock and runs (the sync job's entry point).
    pub(crate) async fn run_sync_job_locked(
        &self,
        actor: &Actor,
        conn: &Connection,
        kind: SyncKind,
    ) -> Result<SyncReport> {
        let lock = self.lock(conn).await?;
        self.run_locked(lock, actor, conn, kind, None).await
    }
}

fn finish(live: &Mutex<LiveSync>, now: DateTime<Utc>, result: std::result::Result<(), &str>) {
    let mut l = live.lock();
    l.finished = Some(now);
    match result {
        Ok(()) => {
            l.state = "succeeded".into();
            l.resource = "done".into();
        }
        Err(e) => {
            l.state = "failed".into();
            l.error = Some(e.to_owned());
        }
    }
}
