-- The web app's own tables (SQLite flavour; keep in step with ../postgres/0002_web.sql).
-- Bearer secrets are never stored in clear: session ids and API tokens as hex SHA-256,
-- passwords as argon2id PHC strings. A session's CSRF token is stored as is: it is useless
-- without the session cookie, and forms must embed it.

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-case; unique.
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    -- Set when the account is disabled (it can't sign in; its sessions and tokens stop).
    disabled_at    INTEGER
);

CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_by    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);

-- Append-only.
CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);

-- Who may sync a connection right now: one row per connection, held by one process until
-- `expires_at` (renewed while the sync runs), so that several instances sharing a database
-- never sync the same connection at once.
CREATE TABLE sync_leases (
    connection_id  INTEGER PRIMARY KEY,
    holder         TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL
);

-- When the current private key was set (creation or rotation); NULL on older rows.
ALTER TABLE okta_connections ADD COLUMN key_created_at INTEGER;
