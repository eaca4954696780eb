//! Steward's job runner: runs the durable jobs of `steward_store::jobs`.
//!
//! A [`Runner`] claims due jobs of the kinds its [`Registry`] has handlers for, runs each
//! one supervised, and records the outcome:
//! - `Ok(())`: succeeded. Successes are written in batches ([`Store::complete_jobs`]): the
//!   jobs that finished while the previous batch was being written share one transaction.
//! - [`JobError::Retry`]: back to pending, due again after [`backoff`]; once the job used
//!   its `max_attempts` it fails for good with the last error as its reason.
//! - [`JobError::Permanent`]: failed for good.
//! - A panic: failed for good with the panic message (a panic is a bug in the handler;
//!   running it again would panic again). Each handler runs in a tokio task of its own, so a
//!   panic ends that task only, never the runner or the other jobs.
//!
//! **Leases.** A claim gives the runner a lease on each job (`RunnerConfig::lease`); a
//! heartbeat renews the leases of every running job every `RunnerConfig::heartbeat`. A
//! runner killed with `kill -9` stops renewing, and once its leases expire any other runner
//! takes the jobs over (the takeover counts as an attempt, so a job that kills its runner
//! every time still fails in the end). A runner that finds a lease taken over (it stalled
//! longer than the lease) aborts that job's handler and leaves the job to the new holder.
//!
//! **Time.** Leases, due times and backoff use the store's clock ([`Store::now`]), so tests
//! can move time; sleeping uses tokio time.
//!
//! Logs carry the job id, kind and attempt, never the payload.
#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use futures::future::BoxFuture;
use rand::Rng;
use steward_store::Store;
use steward_store::StoreError;
use steward_store::jobs::{Job, JobId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use tracing::Instrument as _;

/// Why a handler did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobError {
    /// Transient (the org or the database did not answer, a rate limit): try again after a
    /// backoff, while attempts are left.
    Retry(String),
    /// Trying again will not help (bad payload, the object is gone): fail now.
    Permanent(String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Retry(e) | JobError::Permanent(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for JobError {}

/// Runs the jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs `job` once. May be called again for the same job (a retry, or a takeover after
    /// this runner lost its lease), so the work should be idempotent.
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>>;
}

/// A [`JobHandler`] made of a closure that takes the job by value (see [`handler_fn`]).
pub struct FnHandler<F>(F);

/// A handler from a closure: `handler_fn(|job| async move { … })`.
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    FnHandler(f)
}

impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin((self.0)(job.clone()))
    }
}

/// Which handler runs which kind of job. A runner claims only the kinds registered here,
/// so instances with different registries can share one database.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    /// No handlers.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds (or replaces) the handler of `kind`.
    pub fn with(mut self, kind: &'static str, handler: impl JobHandler) -> Registry {
        self.handlers.insert(kind, Arc::new(handler));
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

/// How a [`Runner`] runs.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// This runner's name in `lease_holder`: unique per runner (see [`default_holder`]).
    pub holder: String,
    /// Jobs run at once (at least 1); also the most a claim takes.
    pub concurrency: usize,
    /// How long a claim or heartbeat holds a job: the longest a dead runner's jobs wait.
    pub lease: TimeDelta,
    /// How often the leases of running jobs are renewed (well under `lease`).
    pub heartbeat: Duration,
    /// The longest [`Runner::run`] sleeps between claims (it wakes earlier when the next
    /// job is due sooner).
    pub poll_interval: Duration,
    /// The first retry's backoff.
    pub backoff_base: Duration,
    /// The largest backoff.
    pub backoff_max: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            holder: default_holder(),
            concurrency: 4,
            lease: TimeDelta::seconds(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(600),
        }
    }
}

/// `host/pid/random`: unique per runner, and says where a job runs.
pub fn default_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let nonce: u32 = rand::rng().random();
    format!("{host}/{}/{nonce:08x}", std::process::id())
}

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Jobs put back to pending for a retry.
    pub retried: u64,
    /// Jobs that failed for good.
    pub failed: u64,
}

/// The backoff before retry number `attempt` (1 for the first retry): `base · 2^(attempt-1)`
/// capped at `max`, of which a random half is taken away ("equal jitter": uniform in
/// `[d/2, d]`). The jitter spreads the retries of jobs that failed together (an outage);
/// the floor of half keeps a retry from coming back at once, as full jitter (`[0, d]`)
/// sometimes would.
pub fn backoff(attempt: u32, base: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = base.saturating_mul(factor).min(max);
    let floor = full / 2;
    floor + rng.random_range(Duration::ZERO..=full - floor)
}

/// The most successes one completion transaction takes.
const COMPLETION_BATCH: usize = 512;

/// Runs jobs (see the crate docs). Cheap to share: every method takes `&self`.
pub struct Runner {
    store: Store,
    registry: Registry,
    config: RunnerConfig,
    kinds: Vec<&'static str>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("holder", &self.config.holder)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// What became of one claimed job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Retried,
    Failed,
    /// Another runner holds it now, or the outcome could not be written: the job stays
    /// with its lease and is taken over after the expiry.
    Dropped,
}

/// Running jobs and their handler tasks (the heartbeat aborts a job whose lease was lost).
type InFlight = Arc<Mutex<HashMap<JobId, AbortHandle>>>;

/// A success for the completion task, with where to report whether it was recorded.
type Completion = (JobId, oneshot::Sender<Result<bool, String>>);

/// Aborts a task when dropped (the heartbeat of a run that ends, is cancelled or fails).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    UntilIdle,
    Forever,
}

impl Runner {
    /// A runner of `registry`'s kinds on `store`.
    pub fn new(store: Store, registry: Registry, mut config: RunnerConfig) -> Runner {
        config.concurrency = config.concurrency.max(1);
        let kinds = registry.kinds();
        Runner {
            store,
            registry,
            config,
            kinds,
        }
    }

    /// This runner's name in `lease_holder`.
    pub fn holder(&self) -> &str {
        &self.config.holder
    }

    /// Runs due jobs until none is due and none runs, then returns (`steward jobs run
    /// --until-idle`). Jobs due later (retries in backoff among them) are not waited for.
    /// A failing claim ends the run with its error once the running jobs finished.
    pub async fn run_until_idle(&self) -> Result<RunSummary, StoreError> {
        self.drive(Mode::UntilIdle, std::future::pending()).await
    }

    /// Runs jobs until `shutdown` resolves: claims up to the free slots, sleeps until the
    /// next job is due (at most `poll_interval`) or a slot frees; on shutdown it stops
    /// claiming and waits for the running jobs. A failing claim (the database is away) is
    /// logged and tried again after `poll_interval`, so this returns `Ok` on shutdown.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        self.drive(Mode::Forever, shutdown).await.map(|_| ())
    }

    async fn drive(
        &self,
        mode: Mode,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RunSummary, StoreError> {
        let mut summary = RunSummary::default();
        if self.kinds.is_empty() {
            // An empty kind list would claim every kind; with no handler there is nothing
            // this runner could do with them.
            if mode == Mode::Forever {
                shutdown.await;
            }
            return Ok(summary);
        }
        let in_flight: InFlight = Arc::default();
        // Renewals and batch completions both update many rows of this runner in one
        // statement; taking turns keeps them from locking rows in opposite orders
        // (a deadlock on PostgreSQL).
        let multi_row = Arc::new(tokio::sync::Mutex::new(()));
        let _heartbeat = AbortOnDrop(
            tokio::spawn(heartbeat(
                self.store.clone(),
                self.config.clone(),
                in_flight.clone(),
                multi_row.clone(),
            ))
            .abort_handle(),
        );
        let (complete_tx, complete_rx) = mpsc::unbounded_channel();
        let _completer = AbortOnDrop(
            tokio::spawn(completer(
                self.store.clone(),
                self.config.holder.clone(),
                complete_rx,
                multi_row,
            ))
            .abort_handle(),
        );
        let mut jobs: JoinSet<Outcome> = JoinSet::new();
        let concurrency = self.config.concurrency;
        // Refill when a quarter of the slots is free: one claim per completion would cost a
        // round trip per job when many short jobs run.
        let refill = (concurrency / 4).max(1);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut stopping = false;
        let mut error = None;
        loop {
            while let Some(done) = jobs.try_join_next() {
                tally(&mut summary, done);
            }
            let free = concurrency - jobs.len();
            // Whether more jobs may be due right now (the claim was filled).
            let mut more_due = false;
            if !stopping && (free >= refill || jobs.is_empty()) {
                match self.claim(free).await {
                    Ok(claimed) => {
                        more_due = claimed.len() == free;
                        for job in claimed {
                            self.spawn(&mut jobs, job, &in_flight, &complete_tx);
                        }
                    }
                    Err(e) if mode == Mode::UntilIdle => {
                        tracing::warn!(error = %e, "claiming jobs failed");
                        error = Some(e);
                        stopping = true;
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed; trying again"),
                }
            }
            if jobs.is_empty() && (stopping || (mode == Mode::UntilIdle && !more_due)) {
                break;
            }
            let saturated = concurrency - jobs.len() < refill;
            if more_due && !saturated && !stopping {
                continue;
            }
            if mode == Mode::UntilIdle || stopping {
                // Not empty here: an empty set with nothing due ended the loop above.
                if let Some(done) = jobs.join_next().await {
                    tally(&mut summary, done);
                }
                continue;
            }
            // Forever: wait for a free slot, or (with slots free and nothing due now) until
            // the next job is due; either way stop claiming on shutdown.
            let delay = if saturated {
                None
            } else {
                Some(self.until_next_due().await)
            };
            tokio::select! {
                Some(done) = jobs.join_next(), if !jobs.is_empty() => tally(&mut summary, done),
                () = sleep_opt(delay) => {}
                () = &mut shutdown => {
                    tracing::info!(holder = %self.config.holder, running = jobs.len(),
                        "job runner stopping; waiting for running jobs");
                    stopping = true;
                }
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        self.store
            .claim_jobs(
                &self.config.holder,
                self.store.now(),
                self.config.lease,
                limit,
                &self.kinds,
            )
            .await
    }

    /// How long to sleep when nothing is due: until the next due job, at most
    /// `poll_interval` (jobs enqueued by other processes are found by polling).
    async fn until_next_due(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.store.next_job_due(&self.kinds).await {
            Ok(Some(due)) => (due - self.store.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(poll),
            Ok(None) => poll,
            Err(e) => {
                tracing::warn!(error = %e, "reading the next job's due time failed");
                poll
            }
        }
    }

    /// Starts `job`'s handler in a task of its own and its supervisor in `jobs`.
    fn spawn(
        &self,
        jobs: &mut JoinSet<Outcome>,
        job: Job,
        in_flight: &InFlight,
        complete_tx: &mpsc::UnboundedSender<Completion>,
    ) {
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        let handler = self.registry.get(&job.kind);
        let task = match handler {
            Some(handler) if job.attempts <= job.max_attempts => {
                let id = job.id;
                let job = job.clone();
                let task =
                    tokio::spawn(async move { handler.run(&job).await }.instrument(span.clone()));
                lock(in_flight).insert(id, task.abort_handle());
                Some(task)
            }
            _ => None,
        };
        let supervisor = Supervisor {
            store: self.store.clone(),
            holder: self.config.holder.clone(),
            backoff_base: self.config.backoff_base,
            backoff_max: self.config.backoff_max,
            in_flight: in_flight.clone(),
            complete_tx: complete_tx.clone(),
        };
        jobs.spawn(supervisor.supervise(job, task).instrument(span));
    }
}

/// Sleeps for `d`, or forever for `None`.
async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<JobId, AbortHandle>> {
    in_flight.lock().unwrap_or_else(|e| e.into_inner())
}

fn tally(summary: &mut RunSummary, done: Result<Outcome, tokio::task::JoinError>) {
    match done {
        Ok(Outcome::Succeeded) => summary.succeeded += 1,
        Ok(Outcome::Retried) => summary.retried += 1,
        Ok(Outcome::Failed) => summary.failed += 1,
        Ok(Outcome::Dropped) => {}
        // Supervisors do not panic; if one did, its job is taken over after its lease.
        Err(e) => tracing::error!(error = %e, "job supervisor ended abnormally"),
    }
}

/// What a job's supervisor needs of the runner.
struct Supervisor {
    store: Store,
    holder: String,
    backoff_base: Duration,
    backoff_max: Duration,
    in_flight: InFlight,
    complete_tx: mpsc::UnboundedSender<Completion>,
}

impl Supervisor {
    /// Waits for the handler (`None`: no handler, or out of attempts before it started)
    /// and records the outcome.
    async fn supervise(
        self,
        job: Job,
        task: Option<tokio::task::JoinHandle<Result<(), JobError>>>,
    ) -> Outcome {
        let result = match task {
            None if job.attempts > job.max_attempts => Err(JobError::Permanent(format!(
                "out of attempts ({} allowed): the runner of the last one stopped before it \
                 finished (its lease expired)",
                job.max_attempts
            ))),
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
            Some(task) => {
                let joined = task.await;
                lock(&self.in_flight).remove(&job.id);
                match joined {
                    Ok(result) => result,
                    Err(e) if e.is_panic() => Err(JobError::Permanent(format!(
                        "panicked: {}",
                        panic_message(e.into_panic())
                    ))),
                    Err(_) => {
                        // Aborted by the heartbeat: another runner holds the job now.
                        return Outcome::Dropped;
                    }
                }
            }
        };
        let now = self.store.now();
        let written = match result {
            Ok(()) => return self.complete(job.id).await,
            Err(JobError::Retry(e)) if job.attempts < job.max_attempts => {
                let wait = backoff(
                    job.attempts,
                    self.backoff_base,
                    self.backoff_max,
                    &mut rand::rng(),
                );
                let run_at = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
                tracing::warn!(error = %e, retry_in = ?wait, "job failed; will retry");
                self.store
                    .retry_job(job.id, &self.holder, &e, run_at, now)
                    .await
                    .map(|held| (held, Outcome::Retried))
            }
            Err(JobError::Retry(e)) => {
                let reason = format!("failed after {} attempts: {e}", job.attempts);
                tracing::warn!(error = %reason, "job failed for good");
                self.store
                    .fail_job(job.id, &self.holder, &reason, now)
                    .await
                    .map(|held| (held, Outcome::Failed))
            }
            Err(JobError::Permanent(e)) => {
                tracing::warn!(error = %e, "job failed for good");
                self.store
                    .fail_job(job.id, &self.holder, &e, now)
                    .await
                    .map(|held| (held, Outcome::Failed))
            }
        };
        match written {
            Ok((true, outcome)) => outcome,
            Ok((false, _)) => {
                tracing::warn!("job lease lost before its outcome was recorded");
                Outcome::Dropped
            }
            Err(e) => {
                tracing::error!(error = %e, "recording a job's outcome failed; it will be retaken when its lease expires");
                Outcome::Dropped
            }
        }
    }

    async fn complete(&self, id: JobId) -> Outcome {
        let (tx, rx) = oneshot::channel();
        if self.complete_tx.send((id, tx)).is_err() {
            return Outcome::Dropped;
        }
        match rx.await {
            Ok(Ok(true)) => {
                tracing::debug!("job succeeded");
                Outcome::Succeeded
            }
            Ok(Ok(false)) => {
                tracing::warn!("job lease lost before its success was recorded");
                Outcome::Dropped
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "recording a job's success failed; it will be retaken when its lease expires");
                Outcome::Dropped
            }
            Err(_) => Outcome::Dropped,
        }
    }
}

/// Records successes in batches: what arrived while the previous batch was written goes
/// into the next transaction.
async fn completer(
    store: Store,
    holder: String,
    mut rx: mpsc::UnboundedReceiver<Completion>,
    multi_row: Arc<tokio::sync::Mutex<()>>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, COMPLETION_BATCH).await > 0 {
        let ids: Vec<JobId> = batch.iter().map(|(id, _)| *id).collect();
        let done = {
            let _turn = multi_row.lock().await;
            store.complete_jobs(&ids, &holder, store.now()).await
        };
        match done {
            Ok(done) => {
                for (id, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(done.binary_search(&id).is_ok()));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Renews the leases of the running jobs every `heartbeat`; aborts the handlers of jobs
/// whose lease another runner took over meanwhile.
async fn heartbeat(
    store: Store,
    config: RunnerConfig,
    in_flight: InFlight,
    multi_row: Arc<tokio::sync::Mutex<()>>,
) {
    let mut tick = tokio::time::interval(config.heartbeat.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the claim just set the leases
    loop {
        tick.tick().await;
        let ids: Vec<JobId> = lock(&in_flight).keys().copied().collect();
        if ids.is_empty() {
            continue;
        }
        let until = store.now() + config.lease;
        let renewed = {
            let _turn = multi_row.lock().await;
            store.renew_job_leases(&config.holder, &ids, until).await
        };
        match renewed {
            Ok(held) => {
                let mut running = lock(&in_flight);
                for id in ids {
                    if held.binary_search(&id).is_err()
                        && let Some(task) = running.remove(&id)
                    {
                        tracing::warn!(job = %id, "job lease lost to another runner; stopping it here");
                        task.abort();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "renewing job leases failed"),
        }
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a non-text panic payload)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(600);
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..=40u32 {
            let full = (base * 2u32.saturating_pow(attempt - 1).min(1 << 20)).min(max);
            let mut seen_low = false;
            let mut seen_high = false;
            for _ in 0..200 {
                let d = backoff(attempt, base, max, &mut rng);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} of {full:?}"
                );
                seen_low |= d < full * 3 / 4;
                seen_high |= d >= full * 3 / 4;
            }
            assert!(seen_low && seen_high, "attempt {attempt}: no jitter");
        }
        let first = backoff(0, base, max, &mut rng);
        assert!(
            first >= base / 2 && first <= base,
            "attempt 0 is treated as the first"
        );
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_types() {
        assert_eq!(panic_message(Box::new("boom")), "boom");
        assert_eq!(panic_message(Box::new(String::from("bang"))), "bang");
        assert_eq!(panic_message(Box::new(3)), "(a non-text panic payload)");
    }

    #[test]
    fn holders_differ_between_runners() {
        let a = default_holder();
        assert_ne!(a, default_holder());
        assert!(a.contains(&format!("/{}/", std::process::id())));
    }
}
