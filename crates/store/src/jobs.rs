//! Durable jobs: the queue that `steward-jobs` runs.
//!
//! A job is a row of `jobs`: a kind (which handler runs it), a JSON payload, when it is due
//! (`run_at`) and its state:
//!
//! ```text
//!  enqueue ─► pending ──claim──► running ──complete──► succeeded   (pruned after a while)
//!               ▲                 │  │
//!               └──── retry ──────┘  └───fail───► failed          (kept for admins)
//!               (later run_at)    ▲
//!                                 └── claim again once the lease expired (runner died)
//! ```
//!
//! **Claiming.** A claim moves due jobs to `running` in one statement and gives them a lease:
//! the claimer's name (`lease_holder`) and an expiry that the runner's heartbeat pushes
//! forward ([`Store::renew_job_leases`]) while the job runs. A running job whose lease expired
//! belongs to a runner that stopped (killed, host gone): the next claim takes it over, and
//! that counts as an attempt, so a job that kills its runner every time still runs out of
//! attempts. Two claimers never take the same job:
//! - PostgreSQL: the candidate rows are selected `FOR UPDATE SKIP LOCKED`, so concurrent
//!   claims skip each other's rows instead of waiting for them or taking them twice.
//! - SQLite: a database has one writer at a time. Every job write goes through the store's
//!   writer connection (`crate::writer`: taken in turn, group commit, `BEGIN IMMEDIATE`), so
//!   within a process claims and completions queue on a fair mutex instead of SQLite's
//!   sleeping busy handler, and other processes (or `Store` handles) are serialized by the
//!   write lock that `BEGIN IMMEDIATE` takes before the claim reads.
//!
//! **Finishing.** [`Store::complete_job`], [`Store::retry_job`] and [`Store::fail_job`] only
//! act while the caller still holds the lease (`state = 'running' AND lease_holder = $holder`)
//! and return `false` otherwise: a runner that lost its lease (it stalled past the expiry
//! and another runner took the job over) cannot overwrite the new holder's outcome.
//!
//! **Dedup.** A job with a `dedup_key` is unique among the *live* (pending or running) jobs of
//! its kind: a partial unique index on both backends. Enqueueing a duplicate returns the live
//! job instead of inserting; once it finished a new one can be enqueued.
//!
//! Kind lists are bound as one placeholder per kind (`kind IN ($5, $6)`): the same SQL text
//! on both backends, and a runner always passes the same list, so the statement stays
//! prepared.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use steward_inventory::StoreError;

use crate::audit::{AuditTx as _, NewAuditEvent};
use crate::db::{RowExt, Store, db_err, on_pool};
use crate::time::{from_ms, ms, opt_from_ms};
use crate::writer::{BeginWriteTx as _, on_writer};

/// The most characters of an error message kept in `last_error`: a handler's error may
/// carry a whole response body, and the listing shows it.
pub const MAX_ERROR_CHARS: usize = 2000;

/// The rows [`Store::list_jobs`] returns when its filter's `limit` is not positive.
pub const DEFAULT_LIST_LIMIT: i64 = 100;

/// How often [`Store::enqueue_job`] tries again when a duplicate it ran into finished before
/// it could be read (PostgreSQL only; each try sees a newer snapshot).
const ENQUEUE_TRIES: usize = 5;

/// A job's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is in its life (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at`, or for a runner.
    Pending,
    /// Claimed by a runner; its lease says until when.
    Running,
    /// Done.
    Succeeded,
    /// Given up: a permanent error, or out of attempts. `last_error` says why.
    Failed,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 4] = [
        JobState::Pending,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
    ];

    /// The stored (and serialized) name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown job state {s:?}: expected pending, running, succeeded or failed")
            })
    }
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input. Never a secret: rows are listed to admins and kept after failure.
    pub payload: serde_json::Value,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// Claims allowed: the runner gives up after this many attempts (0 is stored as 1).
    pub max_attempts: u32,
    /// At most one pending or running job per `(kind, dedup_key)`.
    pub dedup_key: Option<String>,
}

/// A stored job.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// Due time (for a retry: when the backoff ends).
    pub run_at: DateTime<Utc>,
    /// State.
    pub state: JobState,
    /// Claims so far (the one running now included).
    pub attempts: u32,
    /// Claims allowed.
    pub max_attempts: u32,
    /// The latest failure, at most [`MAX_ERROR_CHARS`] characters.
    pub last_error: Option<String>,
    /// The runner holding it (running), or the one that finished it (succeeded, failed).
    pub lease_holder: Option<String>,
    /// Until when the holder's lease runs (running jobs only).
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last state change or claim.
    pub updated_at: DateTime<Utc>,
    /// When it succeeded or failed for good.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its dedup key, if any.
    pub dedup_key: Option<String>,
}

/// What [`Store::enqueue_job`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enqueued {
    /// The new job, or the live duplicate.
    pub id: JobId,
    /// `false`: a pending or running job with the same kind and dedup key existed.
    pub created: bool,
}

/// Which jobs [`Store::list_jobs`] returns.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    /// Only these states (empty: all).
    pub states: Vec<JobState>,
    /// Only this kind.
    pub kind: Option<String>,
    /// At most this many rows (not positive: [`DEFAULT_LIST_LIMIT`]).
    pub limit: i64,
}

const JOB_COLUMNS: &str = "id, kind, payload, run_at, state, attempts, max_attempts, \
     last_error, lease_holder, lease_expires_at, created_at, updated_at, finished_at, dedup_key";

fn job_from_row(r: &impl RowExt) -> Result<Job, StoreError> {
    let count = |col: &str| -> Result<u32, StoreError> {
        let v = r.int(col)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("column {col}: {v}")))
    };
    let state = r.text("state")?;
    Ok(Job {
        id: JobId(r.int("id")?),
        kind: r.text("kind")?,
        payload: r.json("payload")?,
        run_at: from_ms(r.int("run_at")?)?,
        state: state
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("column state: {e}")))?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        last_error: r.opt_text("last_error")?,
        lease_holder: r.opt_text("lease_holder")?,
        lease_expires_at: opt_from_ms(r.opt_int("lease_expires_at")?)?,
        created_at: from_ms(r.int("created_at")?)?,
        updated_at: from_ms(r.int("updated_at")?)?,
        finished_at: opt_from_ms(r.opt_int("finished_at")?)?,
        dedup_key: r.opt_text("dedup_key")?,
    })
}

/// `error` cut to [`MAX_ERROR_CHARS`] characters (on a character boundary).
pub fn truncate_error(error: &str) -> &str {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &error[..end],
        None => error,
    }
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ` AND kind IN ($first, …)`, or nothing for "any kind".
fn kind_clause(first: usize, kinds: &[&str]) -> String {
    if kinds.is_empty() {
        String::new()
    } else {
        format!(" AND kind IN ({})", placeholders(first, kinds.len()))
    }
}

/// The claim statement (see the module docs). Both candidate sets are read through their
/// partial index in claim order and cut to `$4` before they are merged: one `WHERE` with an
/// `OR` of the two would have to sort every due job on each claim. `$1` holder, `$2` lease
/// expiry, `$3` now, `$4` limit, `$5…` kinds. `lock` is `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL, empty on SQLite.
fn claim_sql(kinds: &[&str], lock: &str) -> String {
    let kinds = kind_clause(5, kinds);
    format!(
        "WITH expired AS (SELECT id, run_at FROM jobs \
           WHERE state = 'running' AND lease_expires_at < $3{kinds} \
           ORDER BY lease_expires_at LIMIT $4{lock}), \
         due AS (SELECT id, run_at FROM jobs \
           WHERE state = 'pending' AND run_at <= $3{kinds} \
           ORDER BY run_at, id LIMIT $4{lock}), \
         picked AS (SELECT id FROM (SELECT id, run_at FROM expired \
           UNION ALL SELECT id, run_at FROM due) AS candidates \
           ORDER BY run_at, id LIMIT $4) \
         UPDATE jobs SET state = 'running', lease_holder = $1, lease_expires_at = $2, \
           attempts = attempts + 1, updated_at = $3 \
         WHERE id IN (SELECT id FROM picked) \
         RETURNING {JOB_COLUMNS}"
    )
}

impl Store {
    /// Enqueues a job, or finds the live duplicate (same kind and dedup key, pending or
    /// running) and returns it with `created: false`.
    ///
    /// One write transaction, so that an audit record can join it.
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        self.enqueue(job, None).await
    }

    /// [`Store::enqueue_job`], recording `audit` in the same transaction when the job is
    /// created (a duplicate is no change: no event). For jobs a person asked for (a sync).
    pub async fn enqueue_job_audited(
        &self,
        job: &NewJob,
        audit: &NewAuditEvent,
    ) -> Result<Enqueued, StoreError> {
        self.enqueue(job, Some(audit)).await
    }

    async fn enqueue(
        &self,
        job: &NewJob,
        audit: Option<&NewAuditEvent>,
    ) -> Result<Enqueued, StoreError> {
        let key = match audit {
            Some(_) => Some(self.audit_key()?),
            None => None,
        };
        let now = ms(self.now());
        let insert = "INSERT INTO jobs (kind, payload, run_at, state, attempts, max_attempts, \
             created_at, updated_at, dedup_key) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $5, $6) \
             ON CONFLICT DO NOTHING RETURNING id";
        let existing = "SELECT id FROM jobs WHERE kind = $1 AND dedup_key = $2 \
             AND state IN ('pending', 'running')";
        for _ in 0..ENQUEUE_TRIES {
            let found = on_writer!(self, c => {
                let mut tx = c.begin_write_tx().await?;
                let inserted = sqlx::query(insert)
                    .bind(&job.kind)
                    .bind(Json(&job.payload))
                    .bind(ms(job.run_at))
                    .bind(i64::from(job.max_attempts.max(1)))
                    .bind(now)
                    .bind(job.dedup_key.as_deref())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let found = match inserted {
                    Some(row) => Some(Enqueued { id: JobId(row.int("id")?), created: true }),
                    // Only the dedup index can conflict (ids come from the sequence).
                    None => sqlx::query(existing)
                        .bind(&job.kind)
                        .bind(job.dedup_key.as_deref())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .map(|r| r.int("id"))
                        .transpose()?
                        .map(|id| Enqueued { id: JobId(id), created: false }),
                };
                match (&found, audit, &key) {
                    (Some(f), Some(e), Some(k)) if f.created => {
                        tx.commit_audited(k, e).await?;
                    }
                    _ => tx.commit().await.map_err(db_err)?,
                }
                Ok::<_, StoreError>(found)
            })?;
            if let Some(found) = found {
                if found.created {
                    tracing::debug!(job = %found.id, kind = %job.kind, "job enqueued");
                }
                return Ok(found);
            }
            // PostgreSQL: the duplicate finished between the insert and the read (each
            // statement has its own snapshot); the next insert may succeed.
        }
        Err(StoreError::Database(format!(
            "enqueueing job {:?}: its duplicate kept changing state",
            job.kind
        )))
    }

    /// Claims up to `limit` due jobs of `kinds` (empty: any kind) for `holder`, with a lease
    /// until `now + lease`: pending jobs with `run_at <= now` and running jobs whose lease
    /// expired before `now` (their runner stopped). Each claim counts as an attempt. Ordered
    /// by `run_at`, then id. Never gives one job to two claimers (see the module docs).
    pub async fn claim_jobs(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
        kinds: &[&str],
    ) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lock = match self.backend() {
            crate::Backend::Sqlite => "",
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = claim_sql(kinds, lock);
        let mut jobs = on_writer!(self, c => {
            let mut q = sqlx::query(&sql)
                .bind(holder)
                .bind(ms(now + lease))
                .bind(ms(now))
                .bind(i64::from(limit));
            for kind in kinds {
                q = q.bind(*kind);
            }
            let rows = q.fetch_all(&mut *c).await.map_err(db_err)?;
            rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()
        })?;
        // RETURNING has no order of its own.
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    /// Extends `holder`'s leases on `ids` to `until` (the heartbeat); returns the ids it
    /// still held. A missing id was taken over by another runner after its lease expired,
    /// or finished: its holder should stop working on it.
    pub async fn renew_job_leases(
        &self,
        holder: &str,
        ids: &[JobId],
        until: DateTime<Utc>,
    ) -> Result<Vec<JobId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut held = Vec::with_capacity(ids.len());
        // Bounded statements: SQLite allows 32,766 parameters, PostgreSQL 65,535.
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "UPDATE jobs SET lease_expires_at = $2 WHERE state = 'running' \
                 AND lease_holder = $1 AND id IN ({}) RETURNING id",
                placeholders(3, chunk.len())
            );
            let rows = on_writer!(self, c => {
                let mut q = sqlx::query(&sql).bind(holder).bind(ms(until));
                for id in chunk {
                    q = q.bind(id.0);
                }
                let rows = q.fetch_all(&mut *c).await.map_err(db_err)?;
                rows.iter().map(|r| r.int("id").map(JobId)).collect::<Result<Vec<_>, _>>()
            })?;
            held.extend(rows);
        }
        held.sort();
        Ok(held)
    }

    /// Marks a job `holder` holds as succeeded; `false` if it no longer holds it.
    ///
    /// One write transaction, so that an audit record can join it.
    pub async fn complete_job(
        &self,
        id: JobId,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'succeeded', lease_expires_at = NULL, \
             finished_at = $3, updated_at = $3 \
             WHERE id = $1 AND state = 'running' AND lease_holder = $2";
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            let done = sqlx::query(SQL)
                .bind(id.0)
                .bind(holder)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// [`Store::complete_job`] for many jobs in one write transaction (what a runner does
    /// with the jobs that finished meanwhile); returns the ids it completed, i.e. those
    /// `holder` still held.
    pub async fn complete_jobs(
        &self,
        ids: &[JobId],
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobId>, StoreError> {
        let mut done = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let sql = format!(
                "UPDATE jobs SET state = 'succeeded', lease_expires_at = NULL, \
                 finished_at = $2, updated_at = $2 \
                 WHERE state = 'running' AND lease_holder = $1 AND id IN ({}) RETURNING id",
                placeholders(3, chunk.len())
            );
            let rows = on_writer!(self, c => {
                let mut tx = c.begin_write_tx().await?;
                let mut q = sqlx::query(&sql).bind(holder).bind(ms(now));
                for id in chunk {
                    q = q.bind(id.0);
                }
                let rows = q.fetch_all(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                rows.iter().map(|r| r.int("id").map(JobId)).collect::<Result<Vec<_>, _>>()
            })?;
            done.extend(rows);
        }
        done.sort();
        Ok(done)
    }

    /// Puts a job `holder` holds back to pending until `run_at`, recording `error`; `false`
    /// if it no longer holds it.
    pub async fn retry_job(
        &self,
        id: JobId,
        holder: &str,
        error: &str,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'pending', run_at = $4, last_error = $3, \
             lease_holder = NULL, lease_expires_at = NULL, updated_at = $5 \
             WHERE id = $1 AND state = 'running' AND lease_holder = $2";
        on_writer!(self, c => {
            let done = sqlx::query(SQL)
                .bind(id.0)
                .bind(holder)
                .bind(truncate_error(error))
                .bind(ms(run_at))
                .bind(ms(now))
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Fails a job `holder` holds for good, recording `error`; `false` if it no longer
    /// holds it.
    pub async fn fail_job(
        &self,
        id: JobId,
        holder: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE jobs SET state = 'failed', last_error = $3, \
             lease_expires_at = NULL, finished_at = $4, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND lease_holder = $2";
        on_writer!(self, c => {
            let done = sqlx::query(SQL)
                .bind(id.0)
                .bind(holder)
                .bind(truncate_error(error))
                .bind(ms(now))
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// The job with this id.
    pub async fn find_job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        on_pool!(self, p => {
            let row = sqlx::query(&sql).bind(id.0).fetch_optional(p).await.map_err(db_err)?;
            row.map(|r| job_from_row(&r)).transpose()
        })
    }

    /// Jobs matching `f`, newest first (`steward jobs list`).
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1");
        let mut next = 2; // $1 is the limit
        if !f.states.is_empty() {
            sql.push_str(&format!(
                " AND state IN ({})",
                placeholders(next, f.states.len())
            ));
            next += f.states.len();
        }
        if f.kind.is_some() {
            sql.push_str(&format!(" AND kind = ${next}"));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $1");
        let limit = if f.limit > 0 {
            f.limit
        } else {
            DEFAULT_LIST_LIMIT
        };
        on_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(limit);
            for state in &f.states {
                q = q.bind(state.as_str());
            }
            if let Some(kind) = &f.kind {
                q = q.bind(kind.as_str());
            }
            let rows = q.fetch_all(p).await.map_err(db_err)?;
            rows.iter().map(job_from_row).collect()
        })
    }

    /// When the next job of `kinds` (empty: any kind) becomes claimable: the earliest
    /// `run_at` of a pending job or lease expiry of a running one (possibly in the past);
    /// `None` when there is neither. Runners sleep until then.
    pub async fn next_job_due(&self, kinds: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let k = kind_clause(1, kinds);
        let sql = format!(
            "SELECT MIN(due) AS due FROM (\
               SELECT MIN(run_at) AS due FROM jobs WHERE state = 'pending'{k} \
               UNION ALL \
               SELECT MIN(lease_expires_at) AS due FROM jobs WHERE state = 'running'{k}\
             ) AS d"
        );
        let due = on_pool!(self, p => {
            let mut q = sqlx::query(&sql);
            for kind in kinds {
                q = q.bind(*kind);
            }
            q.fetch_one(p).await.map_err(db_err)?.opt_int("due")?
        });
        // A claim takes an expired lease strictly after its expiry; a millisecond late
        // is close enough for pending jobs too.
        opt_from_ms(due.map(|d| d.saturating_add(1)))
    }

    /// Deletes succeeded jobs that finished before `finished_before`; returns how many.
    /// Failed jobs are kept: they are what an admin has to look at.
    pub async fn prune_jobs(&self, finished_before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_writer!(self, c => {
            Ok(sqlx::query("DELETE FROM jobs WHERE state = 'succeeded' AND finished_at < $1")
                .bind(ms(finished_before))
                .execute(&mut *c)
                .await
                .map_err(db_err)?
                .rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_cut_on_a_char_boundary() {
        let long: String = "é".repeat(MAX_ERROR_CHARS + 10);
        let cut = truncate_error(&long);
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS);
        assert!(long.starts_with(cut));
        assert_eq!(truncate_error("short"), "short");
        let exact = "x".repeat(MAX_ERROR_CHARS);
        assert_eq!(truncate_error(&exact), exact);
    }

    #[test]
    fn states_round_trip() {
        for st in JobState::ALL {
            assert_eq!(st.as_str().parse::<JobState>(), Ok(st));
            assert_eq!(
                serde_json::to_value(st).unwrap_or_default(),
                serde_json::Value::String(st.as_str().into())
            );
        }
        assert!("done".parse::<JobState>().is_err());
    }

    #[test]
    fn kind_lists_bind_one_placeholder_each() {
        assert_eq!(kind_clause(5, &[]), "");
        assert_eq!(kind_clause(5, &["a", "b"]), " AND kind IN ($5, $6)");
    }
}
