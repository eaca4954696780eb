-- Search indexes of the users list (sqlite flavour; keep in step with ../postgres/0005_user_search_indexes.sql).
-- The search (Store::list_users) is a case-insensitive prefix match on login, email,
-- `first last` and last name: four index ranges OR-ed together, then the matches counted and
-- the page taken in login order. The 0001 indexes held only (connection_id, column), so both
-- the count and the page read every matching row from the table to test removed_at and to
-- sort by login. These replace them with the column followed by login_lc, id and removed_at:
-- the count and the order come from the indexes alone, and the table is read only for the
-- page's rows. Measured on SQLite at 100k users: "davis" (3,120 matches) 3.8 -> 1.5 ms for
-- count and page, "j" (20,835 matches) 290 -> 38 ms. Same leading columns as before, so
-- every other use of the old indexes is served too.
DROP INDEX users_login_lc;
DROP INDEX users_email_lc;
DROP INDEX users_name_lc;
DROP INDEX users_last_name_lc;
CREATE INDEX users_login_search ON users (connection_id, login_lc, id, removed_at);
CREATE INDEX users_email_search ON users (connection_id, email_lc, login_lc, id, removed_at);
CREATE INDEX users_name_search ON users (connection_id, name_lc, login_lc, id, removed_at);
CREATE INDEX users_last_name_search ON users (connection_id, last_name_lc, login_lc, id, removed_at);
-- Statistics for the new indexes now: without them the planner may keep to other indexes until
-- the next full sync's ANALYZE (PRAGMA optimize on connect may not look at new indexes). A
-- no-op on an empty table (a new database is analyzed on connect, see Store::optimize).
ANALYZE users;
