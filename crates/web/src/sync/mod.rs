//! Syncs started from the web ("Sync now", the API, the [`scheduler`]): one background task
//! per run, one run per connection at a time, with live progress for the page to poll.
//!
//! One sync per connection: within a process a map of running syncs; across processes
//! sharing a database a lease row (`sync_leases`) taken before the run, renewed while it
//! goes and released after it, so a crashed instance's lease simply expires.

pub mod scheduler;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use okta_client::{ClientId, OktaClient, OktaConfig, OktaDomain, PrivateKeyInput};
use parking_lot::Mutex;
use serde::Serialize;
use steward_inventory::SyncKind;
use steward_store::Store;
use steward_sync::{Progress, SyncConfig, Syncer, SystemClock};

use crate::error::AppError;
use crate::repo::{AuditEvent, Connection};
use crate::secret::random_token;
use crate::sql_repos::SqlRepos;
use crate::state::AppState;

/// How long a sync lease lasts without renewal.
const LEASE_TTL: TimeDelta = TimeDelta::seconds(120);
/// How often a running sync renews its lease.
const LEASE_RENEW: Duration = Duration::from_secs(30);

/// The inventory side of the app: the store and the syncs. Present when the app runs on
/// steward-store ([`crate::AppState::with_inventory`]); absent with in-memory repositories.
#[derive(Clone, Debug)]
pub struct Inventory {
    /// Repositories on the store (connection ids by name).
    pub repos: Arc<SqlRepos>,
    /// Running and finished syncs.
    pub syncs: Arc<SyncManager>,
}

impl Inventory {
    /// The inventory of `repos`' store.
    pub fn new(repos: Arc<SqlRepos>) -> Result<Self, AppError> {
        let holder = format!("steward-web/{}", random_token()?.expose());
        Ok(Inventory {
            syncs: Arc::new(SyncManager {
                holder,
                live: Mutex::new(HashMap::new()),
            }),
            repos,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.repos.store()
    }
}

/// Where a sync stands, as the progress endpoint returns it.
#[derive(Clone, Debug, Serialize)]
pub struct LiveSync {
    /// Connection name.
    pub connection: String,
    /// `full`, `incremental`, `reconcile`.
    pub kind: SyncKind,
    /// Who started it (`user:…`, `token:…`, `scheduler`).
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
    /// The current or last sync of connection `id` in this process.
    pub fn status(&self, id: i64) -> Option<LiveSync> {
        self.live.lock().get(&id).map(|s| s.lock().clone())
    }

    /// Whether a sync of `id` runs in this process.
    pub fn is_running(&self, id: i64) -> bool {
        self.status(id).is_some_and(|s| s.state == "running")
    }
}

/// Whether [`start`] started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Started {
    /// A new run is going.
    Started,
    /// A sync of this connection is already running (here or in another instance).
    AlreadyRunning,
}

/// An Okta client for a stored connection.
fn client_for(state: &AppState, conn: &Connection, key_text: &str) -> Result<OktaClient, AppError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        AppError::BadRequest(format!("the stored connection's {what} is invalid: {e}"))
    };
    let key =
        PrivateKeyInput::parse(key_text, conn.key_id.as_deref()).map_err(|e| bad("key", &e))?;
    let domain = OktaDomain::parse(&conn.domain, state.config.allow_insecure_loopback)
        .map_err(|e| bad("domain", &e))?;
    let client_id = ClientId::parse(&conn.client_id).map_err(|e| bad("client id", &e))?;
    let mut config = OktaConfig::new(domain, client_id, key);
    config.dpop = conn.dpop;
    config.transport.rate_limit_window =
        std::time::Duration::from_millis(state.config.okta_rate_limit_window_ms);
    OktaClient::new(config).map_err(AppError::internal)
}

/// Starts a sync of connection `name` in the background.
pub async fn start(
    state: &AppState,
    name: &str,
    kind: SyncKind,
    actor: &str,
) -> Result<Started, AppError> {
    let inv = state.inventory.as_ref().ok_or(AppError::NotFound)?;
    let conn = crate::connections::find(state, name).await?;
    let id = inv
        .repos
        .connection_id(name)
        .await?
        .ok_or(AppError::NotFound)?;
    if inv.syncs.is_running(id) {
        return Ok(Started::AlreadyRunning);
    }
    let store = inv.store().clone();
    let holder = inv.syncs.holder.clone();
    let now = state.clock.now();
    let leased = store
        .try_acquire_sync_lease(id, &holder, now, LEASE_TTL)
        .await
        .map_err(AppError::internal)?;
    if !leased {
        return Ok(Started::AlreadyRunning);
    }
    let key = state
        .repos
        .connections
        .private_key(name)
        .await?
        .ok_or(AppError::NotFound)?;
    let client = match client_for(state, &conn, key.expose()) {
        Ok(c) => c,
        Err(e) => {
            let _ = store.release_sync_lease(id, &holder).await;
            return Err(e);
        }
    };
    drop(key);
    let live = Arc::new(Mutex::new(LiveSync {
        connection: name.to_owned(),
        kind,
        started_by: actor.to_owned(),
        started: now,
        state: "running".into(),
        resource: "starting".into(),
        items: BTreeMap::new(),
        requests: 0,
        rate_limited: 0,
        finished: None,
        error: None,
    }));
    inv.syncs.live.lock().insert(id, live.clone());
    let config = SyncConfig {
        log_days: state.config.sync_log_days,
        ..SyncConfig::for_client(&client)
    };
    let progress_live = live.clone();
    let syncer = Syncer::new(client, store.clone(), id, config, Arc::new(SystemClock))
        .with_progress(Arc::new(move |p: &Progress| {
            let mut l = progress_live.lock();
            l.resource = p.resource.to_owned();
            l.items.insert(p.resource.to_owned(), p.items);
            l.requests = p.client.requests;
            l.rate_limited = p.client.rate_limited;
        }));
    let audit = AuditEvent {
        at: now,
        actor: actor.to_owned(),
        action: "sync.start".into(),
        target: name.to_owned(),
        detail: format!("kind {}", kind.as_str()),
    };
    if let Err(e) = state.repos.audit.append_audit(audit).await {
        tracing::error!(error = %e, "audit append failed");
    }
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let run = async {
            match kind {
                SyncKind::Full => syncer.full().await,
                SyncKind::Incremental => syncer.incremental().await,
                SyncKind::Reconcile => syncer.reconcile().await,
            }
        };
        tokio::pin!(run);
        let mut renew = tokio::time::interval(LEASE_RENEW);
        renew.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut run => break r,
                _ = renew.tick() => {
                    match store.renew_sync_lease(id, &holder, clock.now(), LEASE_TTL).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(connection = id, "sync lease lost"),
                        Err(e) => tracing::warn!(connection = id, error = %e, "cannot renew the sync lease"),
                    }
                }
            }
        };
        if let Err(e) = store.release_sync_lease(id, &holder).await {
            tracing::warn!(connection = id, error = %e, "cannot release the sync lease");
        }
        let mut l = live.lock();
        l.finished = Some(clock.now());
        match result {
            Ok(report) => {
                l.state = "succeeded".into();
                l.kind = report.kind;
                l.resource = "done".into();
                l.requests = u64::try_from(report.stats.requests).unwrap_or(0);
                l.rate_limited = u64::try_from(report.stats.rate_limited).unwrap_or(0);
                tracing::info!(connection = id, run = report.run, "sync finished");
            }
            Err(e) => {
                l.state = "failed".into();
                l.error = Some(e.to_string());
                tracing::warn!(connection = id, error = %e, "sync failed");
            }
        }
    });
    Ok(Started::Started)
}
