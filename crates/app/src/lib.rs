//! `steward-app`: Steward's use cases, over the store. The web app and the `steward` CLI are
//! thin adapters over [`App`]: they parse input, authenticate the caller into an [`Actor`],
//! call one method and render its result, so both get the same validation, the same audit
//! events and the same errors.
//!
//! # Layout
//! - [`App`]: the store, the master key, the workspace, the clock and the [`Settings`].
//! - [`connections`]: create (doctor first), test, rotate the key, disconnect; the Okta
//!   client of a stored connection (transport and CA settings included).
//! - [`accounts`]: the first-run admin, accounts, passwords, sign-in, sessions, API tokens.
//! - [`syncs`]: starting, locking, running and following syncs.
//! - [`scheduler`]: what is due when.
//! - [`secret`]: secret newtypes, random tokens, hashes, argon2id.
//! - [`model`]: roles, accounts, sessions, tokens and connections as handed out.
//! - [`jobs`]: the durable jobs (syncs, app-usage refresh, session cleanup) and their
//!   runner.
//! - audit: every change records exactly one event through the store, in the change's own
//!   transaction ([`App::event`] builds it: the workspace, the time, the structured
//!   [`Actor`] and the request id of the web request it came from).
//!
//! The store is the one persistence seam: tests run the same code on in-memory SQLite
//! ([`App::in_memory`]), files and PostgreSQL.

pub mod accounts;
pub mod connections;
pub mod error;
pub mod jobs;
pub mod model;
pub mod scheduler;
pub mod secret;
pub mod syncs;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use steward_store::audit::{AuditEvent, AuditFilter, AuditKey, AuditVerification, NewAuditEvent};
use steward_store::{MasterKey, Store, WorkspaceId};

pub use error::{Error, Result};
pub use model::{Account, AccountId, ApiToken, Connection, Role, Session, TokenId};
pub use steward_store::audit::{Actor, ActorKind, Target};

/// The workspace every connection of this instance lives in.
pub const WORKSPACE: &str = "default";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` with `id` as the request id of every audit event it records (the web wraps
/// each request in it). Tasks spawned inside do not inherit it.
pub async fn with_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The time source, injected so tests can move it.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    /// A clock reading `f`.
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// The settings the use cases depend on (the web's `[web]` section and the CLI's flags fill
/// them in).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Accept Okta domains on loopback over plain http (the simulator only).
    pub allow_insecure_loopback: bool,
    /// How long a connection test may take before it is cut short.
    pub doctor_timeout: Duration,
    /// Length of Okta's rate-limit windows (60 s; shorter only for a time-compressed
    /// simulator).
    pub okta_rate_limit_window: Duration,
    /// Days of System Log a full sync reads for app usage.
    pub sync_log_days: u32,
    /// Time between scheduled incremental syncs of a connection.
    pub sync_interval: TimeDelta,
    /// Time between scheduled reconciles.
    pub reconcile_interval: TimeDelta,
    /// Idle lifetime of a session (sliding).
    pub session_idle: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_insecure_loopback: false,
            doctor_timeout: Duration::from_secs(30),
            okta_rate_limit_window: Duration::from_secs(60),
            sync_log_days: 90,
            sync_interval: TimeDelta::minutes(15),
            reconcile_interval: TimeDelta::hours(24),
            session_idle: Duration::from_secs(8 * 3600),
        }
    }
}

/// The application: every use case is a method of this (or of a module taking it).
/// Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master: MasterKey,
    workspace: WorkspaceId,
    clock: Clock,
    settings: Settings,
    syncs: syncs::SyncManager,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("store", &self.inner.store)
            .field("workspace", &self.inner.workspace)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The application on `store`, with secrets sealed under `master`; creates the
    /// workspace [`WORKSPACE`] if missing.
    pub async fn open(
        store: Store,
        master: MasterKey,
        settings: Settings,
        clock: Clock,
    ) -> Result<App> {
        let workspace = store.ensure_workspace(WORKSPACE).await?;
        let store = store.with_audit_key(AuditKey::derive(&master));
        Ok(App {
            inner: Arc::new(Inner {
                syncs: syncs::SyncManager::new()?,
                store,
                master,
                workspace: workspace.id,
                clock,
                settings,
            }),
        })
    }

    /// On a private in-memory SQLite database with a fresh master key (tests, previews).
    pub async fn in_memory(settings: Settings, clock: Clock) -> Result<App> {
        let store = Store::connect("sqlite::memory:").await?;
        let master = MasterKey::generate().map_err(Error::internal)?;
        App::open(store, master, settings, clock).await
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Now, by the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The workspace of this instance.
    pub fn workspace(&self) -> WorkspaceId {
        self.inner.workspace
    }

    pub(crate) fn master(&self) -> &MasterKey {
        &self.inner.master
    }

    /// Running and finished syncs of this process.
    pub fn syncs(&self) -> &syncs::SyncManager {
        &self.inner.syncs
    }

    /// The audit event of a change by `actor`, to hand to the store method that makes the
    /// change (it appends the event in the change's transaction).
    pub fn event(
        &self,
        actor: &Actor,
        action: &str,
        target: Target,
        details: Value,
    ) -> NewAuditEvent {
        NewAuditEvent {
            workspace: self.workspace(),
            at: self.now(),
            actor: actor.clone(),
            action: action.to_owned(),
            target,
            details,
            request_id: current_request_id(),
        }
    }

    /// Records an event that is a change of its own (a failed sign-in, a sync started from
    /// the command line), in a transaction of its own.
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        action: &str,
        target: Target,
        details: Value,
    ) -> Result<()> {
        let event = self.event(actor, action, target, details);
        self.inner.store.append_audit(&event).await?;
        Ok(())
    }

    /// Audit events matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        Ok(self.inner.store.list_audit(filter).await?)
    }

    /// Walks every workspace's hash chain.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        Ok(self.inner.store.verify_audit().await?)
    }
}
