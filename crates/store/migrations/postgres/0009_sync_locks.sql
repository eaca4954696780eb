-- Sync locks replace sync leases (see `src/locks.rs`): the lock itself is a session-level
-- advisory lock, released by the server when its holder's session ends, so nothing expires.
DROP TABLE sync_leases;

-- Who holds the sync lock of a connection, for the refusal's text and the UI. Informational
-- only: a row counts while the backend `backend_pid` holds the connection's advisory lock
-- (checked in `pg_locks`); a dead holder's row is overwritten by the next taker.
CREATE TABLE sync_locks (
    connection_id  BIGINT  PRIMARY KEY,
    holder         TEXT    NOT NULL,
    pid            BIGINT  NOT NULL,
    host           TEXT    NOT NULL,
    since          BIGINT  NOT NULL,
    backend_pid    INTEGER NOT NULL
);
