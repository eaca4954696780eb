-- SSO events keyed in time order (postgres flavour; keep in step with ../sqlite/0006_sso_events_in_time_order.sql).
-- The System Log is read in ascending `published` order: a key that starts with it makes
-- inserts append to the right edge of the primary key index instead of landing on random
-- pages. An event's `published` never changes, so (published, uuid) deduplicates exactly like
-- uuid. `sso_events_pair` served a per-pair recount that app usage no longer needs.
DROP INDEX sso_events_pair;
ALTER TABLE sso_events DROP CONSTRAINT sso_events_pkey;
ALTER TABLE sso_events ADD PRIMARY KEY (connection_id, published, uuid);
