-- Indexes of the users list (postgres flavour; keep in step with ../sqlite/0004_user_list_indexes.sql).
-- Both are partial (live users only, what the list shows by default):
--   * users_live_login: the unfiltered list in its order (login_lc, id), and its total
--     count, read from this index alone instead of the table.
--   * users_live_department: the department filter's choices, read by a skip scan (one index
--     seek per department, see Store::departments) instead of a DISTINCT over every user.
CREATE INDEX users_live_login ON users (connection_id, login_lc, id) WHERE removed_at IS NULL;
CREATE INDEX users_live_department ON users (connection_id, department)
    WHERE removed_at IS NULL AND department IS NOT NULL;
