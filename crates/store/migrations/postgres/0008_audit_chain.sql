-- The tamper-evident audit trail (PostgreSQL flavour; keep in step with
-- ../sqlite/0008_audit_chain.sql). See `src/audit.rs` for the hash chain and its encoding.
--
-- The old `audit_events` table (free-text actor, written outside the change's transaction)
-- is dropped, not converted: no deployment holds audit data worth keeping yet, and its rows
-- carry neither a structured actor nor a workspace to chain them under.
DROP TABLE audit_events;

-- One row per workspace with events: the number of events and the hash of the last one.
-- Every append updates it first (that row lock serializes a workspace's appends until
-- commit), and `verify` compares it with the end of the chain, so a deleted tail shows.
CREATE TABLE audit_heads (
    workspace_id  BIGINT  PRIMARY KEY REFERENCES workspaces (id),
    seq           BIGINT  NOT NULL,
    hash          TEXT    NOT NULL
);

-- Append-only (the triggers below refuse UPDATE and DELETE). `details` is canonical JSON
-- text, hashed byte for byte as stored (TEXT, not JSONB: JSONB would reorder keys and the
-- stored bytes would no longer be the hashed ones); `prev_hash` and `hash` are lower-case hex.
CREATE TABLE audit_events (
    workspace_id  BIGINT  NOT NULL REFERENCES audit_heads (workspace_id),
    seq           BIGINT  NOT NULL,
    at            BIGINT  NOT NULL,
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
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_action ON audit_events (action, at);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, at);
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, at);
CREATE INDEX audit_events_target ON audit_events (target_id, target_kind);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
-- TRUNCATE fires no row triggers; refuse it per statement.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- A head only moves forward, and is never removed.
CREATE FUNCTION audit_heads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.workspace_id = OLD.workspace_id AND NEW.seq >= OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit chain heads only move forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_guard();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_heads_guard();
