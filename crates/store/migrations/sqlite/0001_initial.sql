-- Steward schema, SQLite flavour. Keep in step with ../postgres/0001_initial.sql: same tables,
-- same columns, same meaning. Conventions:
--   * every timestamp is INTEGER milliseconds since the Unix epoch, UTC (NULL = unknown);
--   * JSON is TEXT here (JSONB on PostgreSQL);
--   * `*_lc` columns are lower-cased copies for prefix search (BINARY collation = byte order);
--   * inventory rows are never deleted by a sync: `removed_at` is NULL while the object exists
--     in Okta and set when a sync learns it is gone; `last_seen_run` is the last sync run that
--     wrote the row.
--   * inventory tables are scoped by `connection_id` without a foreign key to
--     `okta_connections`, so the sync engine can be tested without a stored connection;
--     deleting a connection deletes its rows explicitly.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE okta_connections (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id            INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                    TEXT    NOT NULL,
    domain                  TEXT    NOT NULL,
    client_id               TEXT    NOT NULL,
    key_id                  TEXT,
    dpop_mode               TEXT    NOT NULL,
    status                  TEXT    NOT NULL,
    -- AES-256-GCM of the PEM private key (ciphertext || tag) under the master key.
    private_key_ciphertext  BLOB    NOT NULL,
    private_key_nonce       BLOB    NOT NULL,
    key_thumbprint          TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE users (
    connection_id    INTEGER NOT NULL,
    id               TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    login            TEXT    NOT NULL,
    email            TEXT,
    first_name       TEXT,
    last_name        TEXT,
    department       TEXT,
    title            TEXT,
    manager_id       TEXT,
    employee_number  TEXT,
    created          INTEGER,
    status_changed   INTEGER,
    last_login       INTEGER,
    last_updated     INTEGER,
    profile          TEXT    NOT NULL,
    login_lc         TEXT    NOT NULL,
    email_lc         TEXT,
    name_lc          TEXT,
    last_name_lc     TEXT,
    last_seen_run    INTEGER,
    removed_at       INTEGER,
    PRIMARY KEY (connection_id, id)
);
CREATE INDEX users_status ON users (connection_id, status);
CREATE INDEX users_department ON users (connection_id, department);
CREATE INDEX users_login_lc ON users (connection_id, login_lc);
CREATE INDEX users_email_lc ON users (connection_id, email_lc);
CREATE INDEX users_name_lc ON users (connection_id, name_lc);
CREATE INDEX users_last_name_lc ON users (connection_id, last_name_lc);

CREATE TABLE groups (
    connection_id            INTEGER NOT NULL,
    id                       TEXT    NOT NULL,
    group_type               TEXT    NOT NULL,
    name                     TEXT    NOT NULL,
    description              TEXT,
    created                  INTEGER,
    last_updated             INTEGER,
    last_membership_updated  INTEGER,
    users_count              INTEGER,
    profile                  TEXT    NOT NULL,
    name_lc                  TEXT    NOT NULL,
    last_seen_run            INTEGER,
    removed_at               INTEGER,
    PRIMARY KEY (connection_id, id)
);
CREATE INDEX groups_type ON groups (connection_id, group_type);
CREATE INDEX groups_name_lc ON groups (connection_id, name_lc);

CREATE TABLE memberships (
    connection_id  INTEGER NOT NULL,
    group_id       TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    last_seen_run  INTEGER,
    removed_at     INTEGER,
    PRIMARY KEY (connection_id, group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (connection_id, user_id);

CREATE TABLE apps (
    connection_id  INTEGER NOT NULL,
    id             TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    sign_on_mode   TEXT,
    created        INTEGER,
    last_updated   INTEGER,
    label_lc       TEXT    NOT NULL,
    last_seen_run  INTEGER,
    removed_at     INTEGER,
    PRIMARY KEY (connection_id, id)
);
CREATE INDEX apps_label_lc ON apps (connection_id, label_lc);

CREATE TABLE app_users (
    connection_id  INTEGER NOT NULL,
    app_id         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    status         TEXT,
    user_name      TEXT,
    last_updated   INTEGER,
    last_seen_run  INTEGER,
    removed_at     INTEGER,
    PRIMARY KEY (connection_id, app_id, user_id)
) WITHOUT ROWID;
CREATE INDEX app_users_user ON app_users (connection_id, user_id);

CREATE TABLE app_groups (
    connection_id  INTEGER NOT NULL,
    app_id         TEXT    NOT NULL,
    group_id       TEXT    NOT NULL,
    priority       INTEGER,
    last_updated   INTEGER,
    last_seen_run  INTEGER,
    removed_at     INTEGER,
    PRIMARY KEY (connection_id, app_id, group_id)
) WITHOUT ROWID;
CREATE INDEX app_groups_group ON app_groups (connection_id, group_id);

CREATE TABLE sso_events (
    connection_id  INTEGER NOT NULL,
    uuid           TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    published      INTEGER NOT NULL,
    success        BOOLEAN NOT NULL,
    PRIMARY KEY (connection_id, uuid)
) WITHOUT ROWID;
CREATE INDEX sso_events_pair ON sso_events (connection_id, app_id, user_id, published);

-- Derived from sso_events (successful sign-ins only); recomputed for the touched pairs.
CREATE TABLE app_usage (
    connection_id  INTEGER NOT NULL,
    app_id         TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    last_sso_at    INTEGER NOT NULL,
    sso_count_30d  INTEGER NOT NULL,
    sso_count_90d  INTEGER NOT NULL,
    PRIMARY KEY (connection_id, app_id, user_id)
) WITHOUT ROWID;
CREATE INDEX app_usage_user ON app_usage (connection_id, user_id);

CREATE TABLE sync_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id  INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    stats          TEXT    NOT NULL,
    error          TEXT
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, status, id);

CREATE TABLE sync_checkpoints (
    connection_id  INTEGER NOT NULL,
    resource       TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (connection_id, resource)
) WITHOUT ROWID;
