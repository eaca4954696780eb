-- SSO events keyed in time order (sqlite flavour; keep in step with ../postgres/0006_sso_events_in_time_order.sql).
-- The System Log is read in ascending `published` order, so a key that starts with it makes
-- every insert an append at the right edge of the table. Keyed by the random uuid alone, each
-- insert landed on a random page: a log backfill dirtied most of the table in every
-- transaction and was the slowest part of a sync (about 36 us per event at 100k users).
-- An event's `published` never changes, so (published, uuid) deduplicates exactly like uuid.
-- `sso_events_pair` served a per-pair recount that app usage no longer needs: usage is now
-- added from the new events and recomputed whole by one scan (see record_sso_events and
-- refresh_app_usage).
CREATE TABLE sso_events_new (
    connection_id  INTEGER NOT NULL,
    published      INTEGER NOT NULL,
    uuid           TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    success        BOOLEAN NOT NULL,
    PRIMARY KEY (connection_id, published, uuid)
) WITHOUT ROWID;
INSERT INTO sso_events_new (connection_id, published, uuid, user_id, app_id, success)
    SELECT connection_id, published, uuid, user_id, app_id, success FROM sso_events;
DROP TABLE sso_events;
ALTER TABLE sso_events_new RENAME TO sso_events;
