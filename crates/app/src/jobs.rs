//! The application's durable jobs, run by [`steward_jobs::Runner`] inside `steward serve`
//! (and by `steward jobs run`):
//!
//! - [`SYNC`]: one sync of a connection (Sync now, the API, the scheduler). At most one
//!   pending or running per connection (dedup key `sync:<id>`); it holds the connection's
//!   sync lock while it runs, and a busy connection retries later.
//! - [`APP_USAGE_REFRESH`]: the daily recomputation of a connection's app usage, which ages
//!   the 30 and 90-day counts (full and reconcile syncs recompute it too).
//! - [`SESSION_CLEANUP`]: deletes expired sessions, hourly.
//! - [`JOB_PRUNE`]: deletes succeeded jobs older than a week, daily (failed ones stay for
//!   admins to see).
//!
//! The scheduler ([`crate::scheduler`]) enqueues them; several instances on one PostgreSQL
//! database share them (each job runs once, and a dead instance's jobs are taken over when
//! their lease expires).

use std::future::Future;
use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;
use steward_inventory::{InventoryStore, SyncKind};
use steward_jobs::{JobError, Registry, Runner, RunnerConfig, handler_fn};
use steward_store::jobs::{Job, JobFilter, JobState, NewJob};

use crate::error::{Error, Result};
use crate::syncs::Started;
use crate::{Actor, App, Target};

/// A sync of one connection.
pub const SYNC: &str = "sync";
/// The daily app-usage recomputation of one connection.
pub const APP_USAGE_REFRESH: &str = "app_usage_refresh";
/// Deleting expired sessions.
pub const SESSION_CLEANUP: &str = "session_cleanup";
/// Deleting old succeeded jobs.
pub const JOB_PRUNE: &str = "job_prune";

/// How long succeeded jobs are kept.
const KEEP_SUCCEEDED: TimeDelta = TimeDelta::days(7);

/// How often expired sessions are deleted.
const SESSION_CLEANUP_EVERY: TimeDelta = TimeDelta::hours(1);
/// How often app usage is recomputed.
const APP_USAGE_EVERY: TimeDelta = TimeDelta::hours(24);
/// Attempts of a sync job before it fails for good (a busy connection counts too).
const SYNC_ATTEMPTS: u32 = 8;

/// What a sync job carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SyncPayload {
    connection: i64,
    kind: SyncKind,
    requested_by: Actor,
}

/// What a per-connection maintenance job carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ConnectionPayload {
    connection: i64,
}

fn payload<T: for<'de> Deserialize<'de>>(job: &Job) -> std::result::Result<T, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::Permanent(format!("malformed {} job payload: {e}", job.kind)))
}

/// A use-case error as a job outcome: refusals that another attempt can't change fail the
/// job; the rest (database, Okta, a busy lock) retry with backoff.
fn job_error(e: Error) -> JobError {
    match e {
        Error::BadRequest(msg) => JobError::Permanent(msg),
        Error::Forbidden => JobError::Permanent("forbidden".into()),
        Error::NotFound => JobError::Permanent("the connection no longer exists".into()),
        Error::Conflict(msg) => JobError::Retry(msg),
        other => JobError::Retry(other.chain()),
    }
}

/// The runner's settings for this process.
pub fn runner_config() -> RunnerConfig {
    RunnerConfig {
        holder: steward_jobs::default_holder(),
        ..RunnerConfig::default()
    }
}

impl App {
    /// Every job kind this application runs, with its handler.
    pub fn job_registry(&self) -> Registry {
        let sync = {
            let app = self.clone();
            handler_fn(move |job: Job| {
                let app = app.clone();
                async move { app.run_sync_job(&job).await }
            })
        };
        let usage = {
            let app = self.clone();
            handler_fn(move |job: Job| {
                let app = app.clone();
                async move {
                    let p: ConnectionPayload = payload(&job)?;
                    app.store()
                        .refresh_app_usage(p.connection)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))
                }
            })
        };
        let sessions = {
            let app = self.clone();
            handler_fn(move |_job: Job| {
                let app = app.clone();
                async move {
                    app.delete_expired_sessions()
                        .await
                        .map(drop)
                        .map_err(|e| JobError::Retry(e.chain()))
                }
            })
        };
        let prune = {
            let app = self.clone();
            handler_fn(move |_job: Job| {
                let app = app.clone();
                async move {
                    let before = app.now() - KEEP_SUCCEEDED;
                    app.store()
                        .prune_jobs(before)
                        .await
                        .map(drop)
                        .map_err(|e| JobError::Retry(e.to_string()))
                }
            })
        };
        Registry::new()
            .with(SYNC, sync)
            .with(APP_USAGE_REFRESH, usage)
            .with(SESSION_CLEANUP, sessions)
            .with(JOB_PRUNE, prune)
    }

    /// A job runner for this application's jobs.
    pub fn job_runner(&self, config: RunnerConfig) -> Runner {
        Runner::new(self.store().clone(), self.job_registry(), config)
    }

    async fn run_sync_job(&self, job: &Job) -> std::result::Result<(), JobError> {
        let p: SyncPayload = payload(job)?;
        let conn = self
            .store()
            .find_connection(p.connection)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let Some(conn) = conn else {
            return Err(JobError::Permanent(
                "the connection was deleted before its sync ran".into(),
            ));
        };
        let conn = self.connection(&conn.name).await.map_err(job_error)?;
        self.run_sync_job_locked(&p.requested_by, &conn, p.kind)
            .await
            .map(drop)
            .map_err(job_error)
    }

    /// Queues a sync of connection `name`; `AlreadyRunning` when one is already queued or
    /// running. The request is audited in the transaction that queues it.
    pub async fn start_sync(&self, actor: &Actor, name: &str, kind: SyncKind) -> Result<Started> {
        let conn = self.connection(name).await?;
        let job = NewJob {
            kind: SYNC.to_owned(),
            payload: json!(SyncPayload {
                connection: conn.id,
                kind,
                requested_by: actor.clone(),
            }),
            run_at: self.now(),
            max_attempts: SYNC_ATTEMPTS,
            dedup_key: Some(format!("sync:{}", conn.id)),
        };
        let event = self.event(
            actor,
            "sync.request",
            Target::new("connection", conn.id.to_string()),
            json!({"name": conn.name, "kind": kind.as_str()}),
        );
        let queued = self.store().enqueue_job_audited(&job, &event).await?;
        if !queued.created {
            return Ok(Started::AlreadyRunning);
        }
        self.syncs().queued(&conn, kind, actor, self.now());
        Ok(Started::Started)
    }

    /// Queues the periodic maintenance jobs that are not queued yet.
    pub(crate) async fn schedule_maintenance(&self, connections: &[i64]) -> Result<()> {
        let now = self.now();
        let cleanup = NewJob {
            kind: SESSION_CLEANUP.to_owned(),
            payload: json!({}),
            run_at: now + SESSION_CLEANUP_EVERY,
            max_attempts: 3,
            dedup_key: Some(SESSION_CLEANUP.to_owned()),
        };
        self.store().enqueue_job(&cleanup).await?;
        let prune = NewJob {
            kind: JOB_PRUNE.to_owned(),
            payload: json!({}),
            run_at: now + APP_USAGE_EVERY,
            max_attempts: 3,
            dedup_key: Some(JOB_PRUNE.to_owned()),
        };
        self.store().enqueue_job(&prune).await?;
        for id in connections {
            let usage = NewJob {
                kind: APP_USAGE_REFRESH.to_owned(),
                payload: json!(ConnectionPayload { connection: *id }),
                run_at: now + APP_USAGE_EVERY,
                max_attempts: 5,
                dedup_key: Some(format!("{APP_USAGE_REFRESH}:{id}")),
            };
            self.store().enqueue_job(&usage).await?;
        }
        Ok(())
    }

    /// Pending, running and failed jobs, newest first.
    pub async fn list_jobs(&self, states: &[JobState], limit: i64) -> Result<Vec<Job>> {
        let filter = JobFilter {
            states: states.to_vec(),
            kind: None,
            limit,
        };
        Ok(self.store().list_jobs(&filter).await?)
    }

    /// Runs the scheduler and a job runner in the background until the returned
    /// [`Workers`] is dropped (what `steward serve` and the demo run).
    pub fn spawn_workers(&self) -> Workers {
        let scheduler = self.spawn_scheduler();
        let runner = self.job_runner(runner_config());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let jobs = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = runner.run(shutdown).await {
                tracing::error!(error = %e, "the job runner stopped");
            }
        });
        Workers {
            scheduler,
            jobs: Some(jobs),
            stop: Some(stop),
        }
    }
}

/// The background scheduler and job runner of a process; stopped on drop (the runner stops
/// claiming; a job cut short is taken over by the next runner once its lease expires).
#[derive(Debug)]
pub struct Workers {
    scheduler: tokio::task::JoinHandle<()>,
    jobs: Option<tokio::task::JoinHandle<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Workers {
    /// Stops claiming jobs and waits up to `grace` for the running ones to finish.
    pub async fn shutdown(mut self, grace: Duration) {
        self.scheduler.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(jobs) = self.jobs.take() {
            let _ = tokio::time::timeout(grace, jobs).await;
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.scheduler.abort();
        if let Some(jobs) = &self.jobs {
            jobs.abort();
        }
    }
}

/// Runs due jobs until none is due (`steward jobs run --until-idle`) or, when `until_idle`
/// is false, until `shutdown`.
pub async fn run_jobs(
    app: &App,
    until_idle: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<steward_jobs::RunSummary> {
    let runner = app.job_runner(runner_config());
    if until_idle {
        return runner.run_until_idle().await.map_err(Error::from);
    }
    runner.run(shutdown).await?;
    Ok(steward_jobs::RunSummary::default())
}
