-- The tamper-evident audit trail (SQLite flavour; keep in step with
-- ../postgres/0008_audit_chain.sql). See `src/audit.rs` for the hash chain and its encoding.
--
-- The old `audit_events` table (free-text actor, written outside the change's transaction)
-- is dropped, not converted: no deployment holds audit data worth keeping yet, and its rows
-- carry neither a structured actor nor a workspace to chain them under.
DROP TABLE audit_events;

-- One row per workspace with events: the number of events and the hash of the last one.
-- Every append updates it first (on PostgreSQL that row lock serializes a workspace's
-- appends), and `verify` compares it with the end of the chain, so a deleted tail shows.
CREATE TABLE audit_heads (
    workspace_id  INTEGER PRIMARY KEY REFERENCES workspaces (id),
    seq           INTEGER NOT NULL,
    hash          TEXT    NOT NULL
);

-- Append-only (the triggers below refuse UPDATE and DELETE). `details` is canonical JSON
-- text, hashed byte for byte as stored; `prev_hash` and `hash` are lower-case hex.
CREATE TABLE audit_events (
    workspace_id  INTEGER NOT NULL REFERENCES audit_heads (workspace_id),
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    actor_kind    TEXT    NOT NULL,
    actor_id      TEXT    NOT NULL,
    actor_name    TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    target_kind   TEXT    NOT NULL,
    target_id     TEXT    NOT NULL,
    details       TEXT    NOT NULL,
    request_id    TEXT,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action ON audit_events (action, at);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, at);
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, at);
CREATE INDEX audit_events_target ON audit_events (target_id, target_kind);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused');
END;

-- A head only moves forward, and is never removed.
CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads
WHEN NEW.workspace_id <> OLD.workspace_id OR NEW.seq < OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit chain heads only move forward');
END;

CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit chain heads cannot be deleted');
END;
