-- Durable jobs (SQLite flavour; keep in step with ../postgres/0007_jobs.sql).
-- A job is `pending` until a runner claims it (`running`, with a lease that the runner's
-- heartbeat renews), then `succeeded` or `failed` (permanently, with its reason), or back to
-- `pending` with a later `run_at` to be retried. A `running` job whose lease expired (its
-- runner died) is claimed again; every claim counts as an attempt.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT    NOT NULL,
    -- JSON; never secrets (handlers look those up by reference).
    payload           TEXT    NOT NULL,
    run_at            INTEGER NOT NULL,
    state             TEXT    NOT NULL
                      CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL,
    last_error        TEXT,
    lease_holder      TEXT,
    lease_expires_at  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    dedup_key         TEXT
);
-- What a claim reads: due pending jobs in order, and running jobs by lease expiry. Partial,
-- so finished jobs (the bulk of the table) cost the claim nothing.
CREATE INDEX jobs_pending ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';
-- At most one live (pending or running) job per (kind, dedup_key).
CREATE UNIQUE INDEX jobs_dedup ON jobs (kind, dedup_key)
    WHERE dedup_key IS NOT NULL AND state IN ('pending', 'running');
-- Pruning old successes.
CREATE INDEX jobs_succeeded ON jobs (finished_at) WHERE state = 'succeeded';
