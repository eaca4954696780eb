//! Syncs: [`App::run_sync`] runs one in the caller's task (what `steward sync` and the sync
//! job do), [`App::start_sync`] starts one in the background (Sync now, the API, the
//! scheduler). One sync per connection at a time, across processes sharing the database;
//! a busy connection is refused with who holds it. Live progress of this process's syncs
//! is kept in the [`SyncManager`] for the sync page and the API.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::json;
use steward_inventory::SyncKind;
use steward_sync::{Progress, ProgressFn, SyncConfig, SyncReport, Syncer, SystemClock};

use crate::connections::SYNC_SCOPES;
use crate::error::{Error, Result};
use crate::model::Connection;
use crate::secret::random_token;
use crate::{Actor, App, Target};

/// How long a sync lease lasts without renewal.
const LEASE_TTL: TimeDelta = TimeDelta::seconds(120);
/// How often a running sync renews its lease.
const LEASE_RENEW: Duration = Duration::from_secs(30);

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
    /// `running`, `succeeded`, `failed`.
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

    /// Whether a sync of `id` runs in this process.
    pub fn is_running(&self, id: i64) -> bool {
        self.status(id).is_some_and(|s| s.state == "running")
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

/// The lease of one connection's sync, renewed while held.
struct Lease {
    app: App,
    conn: i64,
    renew: tokio::task::JoinHandle<()>,
}

impl Lease {
    async fn release(self) {
        self.renew.abort();
        let holder = &self.app.syncs().holder;
        if let Err(e) = self.app.store().release_sync_lease(self.conn, holder).await {
            tracing::warn!(connection = self.conn, error = %e, "cannot release the sync lease");
        }
    }
}

impl App {
    async fn take_lease(&self, conn: i64) -> Result<Option<Lease>> {
        let holder = self.syncs().holder.clone();
        let store = self.store().clone();
        if !store
            .try_acquire_sync_lease(conn, &holder, self.now(), LEASE_TTL)
            .await?
        {
            return Ok(None);
        }
        let clock = self.clock().clone();
        let renew = tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE_RENEW);
            tick.tick().await;
            loop {
                tick.tick().await;
                match store
                    .renew_sync_lease(conn, &holder, clock.now(), LEASE_TTL)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(connection = conn, "sync lease lost"),
                    Err(e) => {
                        tracing::warn!(connection = conn, error = %e, "cannot renew the sync lease")
                    }
                }
            }
        });
        Ok(Some(Lease {
            app: self.clone(),
            conn,
            renew,
        }))
    }

    fn live(&self, conn: &Connection, kind: SyncKind, actor: &Actor) -> Arc<Mutex<LiveSync>> {
        let live = Arc::new(Mutex::new(LiveSync {
            connection: conn.name.clone(),
            kind,
            started_by: format!("{}:{}", actor.kind.as_str(), actor.name),
            started: self.now(),
            state: "running".into(),
            resource: "starting".into(),
            items: BTreeMap::new(),
            requests: 0,
            rate_limited: 0,
            finished: None,
            error: None,
        }));
        self.syncs().live.lock().insert(conn.id, live.clone());
        live
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
        let lease = self
            .take_lease(conn.id)
            .await?
            .ok_or_else(|| Error::Conflict(SYNC_BUSY.into()))?;
        let result = self.run_leased(actor, conn, kind, progress).await;
        lease.release().await;
        result
    }

    async fn run_leased(
        &self,
        actor: &Actor,
        conn: &Connection,
        kind: SyncKind,
        progress: Option<ProgressFn>,
    ) -> Result<SyncReport> {
        self.record(
            actor,
            "sync.start",
            Target::new("connection", conn.name.clone()),
            json!({"kind": kind.as_str()}),
        )
        .await?;
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

    /// Starts a sync of connection `name` in the background.
    pub async fn start_sync(&self, actor: &Actor, name: &str, kind: SyncKind) -> Result<Started> {
        let conn = self.connection(name).await?;
        if self.syncs().is_running(conn.id) {
            return Ok(Started::AlreadyRunning);
        }
        let Some(lease) = self.take_lease(conn.id).await? else {
            return Ok(Started::AlreadyRunning);
        };
        let app = self.clone();
        let actor = actor.clone();
        tokio::spawn(async move {
            if let Err(e) = app.run_leased(&actor, &conn, kind, None).await {
                tracing::warn!(connection = %conn.name, error = %e.chain(), "background sync failed");
            }
            lease.release().await;
        });
        Ok(Started::Started)
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
