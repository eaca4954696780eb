//! `impl InventoryStore for Store`.
//!
//! Every call is one transaction. Upserts are multi-row `INSERT … ON CONFLICT … DO UPDATE`
//! statements, chunked under the bind-parameter limit of the backend; a batch that names the
//! same key twice keeps the last occurrence (PostgreSQL refuses to update a row twice in one
//! statement). Connection and run ids are integers and are inlined as literals, which saves
//! two bind parameters per row.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sqlx::QueryBuilder;
use sqlx::types::Json;
use steward_inventory::{
    AppGroupRecord, AppRecord, AppUserRecord, ConnectionId, GroupRecord, InventoryStore,
    MembershipStamps, SsoEvent, StoreError, SyncKind, SyncRun, SyncRunId, SyncStats, UserRecord,
};

use crate::db::{Backend, RowExt, Store, db_err, on_pool};
use crate::time::{from_ms, ms, opt_from_ms, opt_ms};
use crate::writer::{BeginWriteTx as _, on_writer};

/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` (since 3.32).
const SQLITE_MAX_BINDS: usize = 32_766;
/// PostgreSQL's wire protocol counts parameters in an `i16`… unsigned: 65 535.
const POSTGRES_MAX_BINDS: usize = 65_535;
/// Upper bound on rows per statement, whatever the bind budget: past a few hundred rows the
/// per-statement overhead is amortized and bigger statements only cost parse time and memory.
/// A power of two (see [`statement_chunks`]).
const MAX_ROWS_PER_STATEMENT: usize = 512;

/// The usage windows of `app_usage`.
const USAGE_WINDOWS_DAYS: (i64, i64) = (30, 90);

impl Store {
    /// Rows per multi-row statement with `binds_per_row` parameters each.
    pub(crate) fn chunk_rows(&self, binds_per_row: usize) -> usize {
        let max = match self.backend() {
            Backend::Sqlite => SQLITE_MAX_BINDS,
            Backend::Postgres => POSTGRES_MAX_BINDS,
        };
        let rows = (max / binds_per_row.max(1)).clamp(1, MAX_ROWS_PER_STATEMENT);
        1 << rows.ilog2()
    }

    fn usage_window_starts(&self) -> (i64, i64) {
        let now = self.now();
        (
            ms(now - TimeDelta::days(USAGE_WINDOWS_DAYS.0)),
            ms(now - TimeDelta::days(USAGE_WINDOWS_DAYS.1)),
        )
    }
}

/// `items` in statements of `max` rows (a power of two), the rest in decreasing powers of
/// two: a table's upserts then use a handful of distinct SQL texts, which the driver keeps
/// prepared, instead of one per batch size (every distinct size was parsed and planned anew,
/// and the statement caches of the connections filled with large one-off statements).
fn statement_chunks<T>(mut items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = if items.len() >= max {
            max
        } else {
            1 << items.len().ilog2()
        };
        let (head, rest) = items.split_at(n);
        items = rest;
        Some(head)
    })
}

/// The items of `items`, each key kept once at the position of its last occurrence's value.
fn dedup_last<'a, T, K: Hash + Eq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(items.len());
    let mut out: Vec<&T> = items.iter().rev().filter(|i| seen.insert(key(i))).collect();
    out.reverse();
    out
}

fn lower(s: Option<&str>) -> Option<String> {
    s.map(str::to_lowercase)
}

/// `first last`, lower-cased, for name search.
fn name_lc(first: Option<&str>, last: Option<&str>) -> Option<String> {
    match (first, last) {
        (None, None) => None,
        (f, l) => Some(
            format!("{} {}", f.unwrap_or(""), l.unwrap_or(""))
                .trim()
                .to_lowercase(),
        ),
    }
}

/// Tables and keys of the object kinds `finish_full_listing` and `mark_removed` take.
struct Kind {
    table: &'static str,
    /// `(table, column)` of relations that point at this kind and go with it.
    relations: &'static [(&'static str, &'static str)],
}

fn kind_of(kind: &str) -> Result<Kind, StoreError> {
    match kind {
        "users" | "user" => Ok(Kind {
            table: "users",
            relations: &[("memberships", "user_id"), ("app_users", "user_id")],
        }),
        "groups" | "group" => Ok(Kind {
            table: "groups",
            relations: &[("memberships", "group_id"), ("app_groups", "group_id")],
        }),
        "apps" | "app" => Ok(Kind {
            table: "apps",
            relations: &[("app_users", "app_id"), ("app_groups", "app_id")],
        }),
        other => Err(StoreError::NotFound(format!(
            "object kind {other:?} (expected users, groups or apps)"
        ))),
    }
}

pub(crate) fn run_from_row(r: &impl RowExt) -> Result<SyncRun, StoreError> {
    let kind = match r.text("kind")?.as_str() {
        "full" => SyncKind::Full,
        "incremental" => SyncKind::Incremental,
        "reconcile" => SyncKind::Reconcile,
        other => return Err(StoreError::Corrupt(format!("sync run kind {other:?}"))),
    };
    let stats: SyncStats = serde_json::from_value(r.json("stats")?)
        .map_err(|e| StoreError::Corrupt(format!("sync run stats: {e}")))?;
    Ok(SyncRun {
        id: r.int("id")?,
        connection_id: r.int("connection_id")?,
        kind,
        status: r.text("status")?,
        started_at: from_ms(r.int("started_at")?)?,
        finished_at: opt_from_ms(r.opt_int("finished_at")?)?,
        stats,
        error: r.opt_text("error")?,
    })
}

fn stats_json(stats: &SyncStats) -> Result<Value, StoreError> {
    serde_json::to_value(stats).map_err(|e| StoreError::Corrupt(format!("sync stats: {e}")))
}

const RUN_COLUMNS: &str = "id, connection_id, kind, status, started_at, finished_at, stats, error";

impl InventoryStore for Store {
    async fn upsert_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        users: &[UserRecord],
    ) -> Result<(), StoreError> {
        self.forget_live_users(conn);
        let users = dedup_last(users, |u| u.id.as_str());
        if users.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(19);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&users, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO users (connection_id, id, status, login, email, first_name, \
                     last_name, department, title, manager_id, employee_number, created, \
                     status_changed, last_login, last_updated, profile, login_lc, email_lc, \
                     name_lc, last_name_lc, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, u| {
                    b.push(conn)
                        .push_bind(u.id.as_str())
                        .push_bind(u.status.as_str())
                        .push_bind(u.login.as_str())
                        .push_bind(u.email.as_deref())
                        .push_bind(u.first_name.as_deref())
                        .push_bind(u.last_name.as_deref())
                        .push_bind(u.department.as_deref())
                        .push_bind(u.title.as_deref())
                        .push_bind(u.manager_id.as_deref())
                        .push_bind(u.employee_number.as_deref())
                        .push_bind(opt_ms(u.created))
                        .push_bind(opt_ms(u.status_changed))
                        .push_bind(opt_ms(u.last_login))
                        .push_bind(opt_ms(u.last_updated))
                        .push_bind(Json(&u.profile))
                        .push_bind(u.login.to_lowercase())
                        .push_bind(lower(u.email.as_deref()))
                        .push_bind(name_lc(u.first_name.as_deref(), u.last_name.as_deref()))
                        .push_bind(lower(u.last_name.as_deref()))
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, id) DO UPDATE SET status = excluded.status, \
                     login = excluded.login, email = excluded.email, \
                     first_name = excluded.first_name, last_name = excluded.last_name, \
                     department = excluded.department, title = excluded.title, \
                     manager_id = excluded.manager_id, \
                     employee_number = excluded.employee_number, created = excluded.created, \
                     status_changed = excluded.status_changed, \
                     last_login = excluded.last_login, last_updated = excluded.last_updated, \
                     profile = excluded.profile, login_lc = excluded.login_lc, \
                     email_lc = excluded.email_lc, name_lc = excluded.name_lc, \
                     last_name_lc = excluded.last_name_lc, \
                     last_seen_run = excluded.last_seen_run, removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn upsert_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        groups: &[GroupRecord],
    ) -> Result<(), StoreError> {
        let groups = dedup_last(groups, |g| g.id.as_str());
        if groups.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(11);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&groups, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO groups (connection_id, id, group_type, name, description, \
                     created, last_updated, last_membership_updated, users_count, profile, \
                     name_lc, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, g| {
                    b.push(conn)
                        .push_bind(g.id.as_str())
                        .push_bind(g.group_type.as_str())
                        .push_bind(g.name.as_str())
                        .push_bind(g.description.as_deref())
                        .push_bind(opt_ms(g.created))
                        .push_bind(opt_ms(g.last_updated))
                        .push_bind(opt_ms(g.last_membership_updated))
                        .push_bind(g.users_count)
                        .push_bind(Json(&g.profile))
                        .push_bind(g.name.to_lowercase())
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, id) DO UPDATE SET \
                     group_type = excluded.group_type, name = excluded.name, \
                     description = excluded.description, created = excluded.created, \
                     last_updated = excluded.last_updated, \
                     last_membership_updated = excluded.last_membership_updated, \
                     users_count = excluded.users_count, profile = excluded.profile, \
                     name_lc = excluded.name_lc, last_seen_run = excluded.last_seen_run, \
                     removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn upsert_apps(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        apps: &[AppRecord],
    ) -> Result<(), StoreError> {
        let apps = dedup_last(apps, |a| a.id.as_str());
        if apps.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(8);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&apps, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO apps (connection_id, id, name, label, status, sign_on_mode, \
                     created, last_updated, label_lc, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, a| {
                    b.push(conn)
                        .push_bind(a.id.as_str())
                        .push_bind(a.name.as_str())
                        .push_bind(a.label.as_str())
                        .push_bind(a.status.as_str())
                        .push_bind(a.sign_on_mode.as_deref())
                        .push_bind(opt_ms(a.created))
                        .push_bind(opt_ms(a.last_updated))
                        .push_bind(a.label.to_lowercase())
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, id) DO UPDATE SET name = excluded.name, \
                     label = excluded.label, status = excluded.status, \
                     sign_on_mode = excluded.sign_on_mode, created = excluded.created, \
                     last_updated = excluded.last_updated, label_lc = excluded.label_lc, \
                     last_seen_run = excluded.last_seen_run, removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn upsert_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        let user_ids = dedup_last(user_ids, |u| u.as_str());
        if user_ids.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(2);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&user_ids, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO memberships \
                     (connection_id, group_id, user_id, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, u| {
                    b.push(conn)
                        .push_bind(group_id)
                        .push_bind(u.as_str())
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, group_id, user_id) DO UPDATE SET \
                     last_seen_run = excluded.last_seen_run, removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn finish_group_members(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        group_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_unseen("memberships", "group_id", conn, run, group_id, at)
            .await
    }

    async fn apply_membership_change(
        &self,
        conn: ConnectionId,
        group_id: &str,
        user_id: &str,
        added: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = if added {
            // last_seen_run stays as it was (NULL for a new row): no run saw it in a listing.
            "INSERT INTO memberships (connection_id, group_id, user_id, last_seen_run, removed_at) \
             VALUES ($1, $2, $3, NULL, NULL) \
             ON CONFLICT (connection_id, group_id, user_id) DO UPDATE SET removed_at = NULL"
        } else {
            "UPDATE memberships SET removed_at = $4 WHERE connection_id = $1 AND group_id = $2 \
             AND user_id = $3 AND removed_at IS NULL"
        };
        on_writer!(self, c => {
            let mut q = sqlx::query(sql).bind(conn).bind(group_id).bind(user_id);
            if !added {
                q = q.bind(ms(at));
            }
            q.execute(&mut *c).await.map_err(db_err).map(|_| ())
        })
    }

    async fn upsert_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppUserRecord],
    ) -> Result<(), StoreError> {
        let rows = dedup_last(rows, |r| (r.app_id.as_str(), r.user_id.as_str()));
        if rows.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(6);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&rows, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO app_users (connection_id, app_id, user_id, scope, status, \
                     user_name, last_updated, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, r| {
                    b.push(conn)
                        .push_bind(r.app_id.as_str())
                        .push_bind(r.user_id.as_str())
                        .push_bind(r.scope.as_str())
                        .push_bind(r.status.as_deref())
                        .push_bind(r.user_name.as_deref())
                        .push_bind(opt_ms(r.last_updated))
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, app_id, user_id) DO UPDATE SET \
                     scope = excluded.scope, status = excluded.status, \
                     user_name = excluded.user_name, last_updated = excluded.last_updated, \
                     last_seen_run = excluded.last_seen_run, removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn finish_app_users(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_unseen("app_users", "app_id", conn, run, app_id, at)
            .await
    }

    async fn remove_app_user(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE app_users SET removed_at = $4 WHERE connection_id = $1 \
                   AND app_id = $2 AND user_id = $3 AND removed_at IS NULL";
        on_writer!(self, c => {
            sqlx::query(sql)
                .bind(conn)
                .bind(app_id)
                .bind(user_id)
                .bind(ms(at))
                .execute(&mut *c)
                .await
                .map_err(db_err)
                .map(|_| ())
        })
    }

    async fn upsert_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        rows: &[AppGroupRecord],
    ) -> Result<(), StoreError> {
        let rows = dedup_last(rows, |r| (r.app_id.as_str(), r.group_id.as_str()));
        if rows.is_empty() {
            return Ok(());
        }
        let chunk = self.chunk_rows(4);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            for rows in statement_chunks(&rows, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO app_groups (connection_id, app_id, group_id, priority, \
                     last_updated, last_seen_run, removed_at) ",
                );
                qb.push_values(rows, |mut b, r| {
                    b.push(conn)
                        .push_bind(r.app_id.as_str())
                        .push_bind(r.group_id.as_str())
                        .push_bind(r.priority)
                        .push_bind(opt_ms(r.last_updated))
                        .push(run)
                        .push("NULL");
                });
                qb.push(
                    " ON CONFLICT (connection_id, app_id, group_id) DO UPDATE SET \
                     priority = excluded.priority, last_updated = excluded.last_updated, \
                     last_seen_run = excluded.last_seen_run, removed_at = NULL",
                );
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn finish_app_groups(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        app_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_unseen("app_groups", "app_id", conn, run, app_id, at)
            .await
    }

    async fn finish_full_listing(
        &self,
        conn: ConnectionId,
        run: SyncRunId,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.forget_live_users(conn);
        let kind = kind_of(kind)?;
        let at = ms(at);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            let sql = format!(
                "UPDATE {} SET removed_at = $3 WHERE connection_id = $1 AND removed_at IS NULL \
                 AND (last_seen_run IS NULL OR last_seen_run <> $2)",
                kind.table
            );
            sqlx::query(&sql)
                .bind(conn)
                .bind(run)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            // Relations of every removed object, not only those removed just now: a relation
            // written after its object was removed is stale too.
            for (table, column) in kind.relations {
                let sql = format!(
                    "UPDATE {table} SET removed_at = $2 WHERE connection_id = $1 \
                     AND removed_at IS NULL AND {column} IN \
                     (SELECT id FROM {} WHERE connection_id = $1 AND removed_at IS NOT NULL)",
                    kind.table
                );
                sqlx::query(&sql)
                    .bind(conn)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn mark_removed(
        &self,
        conn: ConnectionId,
        kind: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.forget_live_users(conn);
        let kind = kind_of(kind)?;
        let at = ms(at);
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            let sql = format!(
                "UPDATE {} SET removed_at = $3 WHERE connection_id = $1 AND id = $2 \
                 AND removed_at IS NULL",
                kind.table
            );
            sqlx::query(&sql)
                .bind(conn)
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            for (table, column) in kind.relations {
                let sql = format!(
                    "UPDATE {table} SET removed_at = $3 WHERE connection_id = $1 \
                     AND {column} = $2 AND removed_at IS NULL"
                );
                sqlx::query(&sql)
                    .bind(conn)
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    async fn record_sso_events(
        &self,
        conn: ConnectionId,
        events: &[SsoEvent],
    ) -> Result<usize, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let (t30, t90) = self.usage_window_starts();
        // Both statements bind five values a row.
        let chunk = self.chunk_rows(5);
        // `MAX` of two values: a scalar function on SQLite, `GREATEST` on PostgreSQL.
        let greatest = match self.backend() {
            Backend::Sqlite => "MAX",
            Backend::Postgres => "GREATEST",
        };
        // In key order: appended at the end of the table (a log is read in time order).
        let mut events: Vec<&SsoEvent> = events.iter().collect();
        events.sort_by(|a, b| (a.published, &a.uuid).cmp(&(b.published, &b.uuid)));
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            let mut usage = UsageDelta::default();
            let mut inserted = 0;
            for rows in statement_chunks(&events, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO sso_events \
                     (connection_id, uuid, user_id, app_id, published, success) ",
                );
                qb.push_values(rows, |mut b, e| {
                    b.push(conn)
                        .push_bind(e.uuid.as_str())
                        .push_bind(e.user_id.as_str())
                        .push_bind(e.app_id.as_str())
                        .push_bind(ms(e.published))
                        .push_bind(e.success);
                });
                // RETURNING lists only the rows actually inserted (not the duplicates).
                qb.push(
                    " ON CONFLICT (connection_id, published, uuid) DO NOTHING \
                     RETURNING app_id, user_id, published, success",
                );
                for row in qb.build().fetch_all(&mut *tx).await.map_err(db_err)? {
                    inserted += 1;
                    if row.bool("success")? {
                        usage.add(
                            row.text("app_id")?,
                            row.text("user_id")?,
                            row.int("published")?,
                            (t30, t90),
                        );
                    }
                }
            }
            // Usage grows by what the new events add: each event is inserted once, so the
            // counts stay exact without reading a pair's earlier events again (re-reading
            // them made a long log backfill quadratic). Windows age as time passes:
            // `refresh_app_usage` recomputes them (after each full sync, and daily).
            let usage = usage.into_rows();
            for rows in statement_chunks(&usage, chunk) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO app_usage \
                     (connection_id, app_id, user_id, last_sso_at, sso_count_30d, sso_count_90d) ",
                );
                qb.push_values(rows, |mut b, (app, user, u)| {
                    b.push(conn)
                        .push_bind(app.as_str())
                        .push_bind(user.as_str())
                        .push_bind(u.last)
                        .push_bind(u.n30)
                        .push_bind(u.n90);
                });
                qb.push(format!(
                    " ON CONFLICT (connection_id, app_id, user_id) DO UPDATE SET \
                     last_sso_at = {greatest}(app_usage.last_sso_at, excluded.last_sso_at), \
                     sso_count_30d = app_usage.sso_count_30d + excluded.sso_count_30d, \
                     sso_count_90d = app_usage.sso_count_90d + excluded.sso_count_90d"
                ));
                qb.build().execute(&mut *tx).await.map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(inserted)
        })
    }

    fn for_sync(&self) -> Self {
        self.with_deferred_commits()
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.flush_deferred().await
    }

    async fn refresh_app_usage(&self, conn: ConnectionId) -> Result<(), StoreError> {
        let (t30, t90) = self.usage_window_starts();
        on_writer!(self, c => {
            let mut tx = c.begin_write_tx().await?;
            sqlx::query("DELETE FROM app_usage WHERE connection_id = $1")
                .bind(conn)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO app_usage \
                 (connection_id, app_id, user_id, last_sso_at, sso_count_30d, sso_count_90d) \
                 SELECT connection_id, app_id, user_id, MAX(published), \
                 CAST(SUM(CASE WHEN published >= $2 THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN published >= $3 THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM sso_events WHERE connection_id = $1 AND success \
                 GROUP BY connection_id, app_id, user_id",
            )
            .bind(conn)
            .bind(t30)
            .bind(t90)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        })
    }

    async fn checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
    ) -> Result<Option<Value>, StoreError> {
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let row = sqlx::query(
                "SELECT state FROM sync_checkpoints WHERE connection_id = $1 AND resource = $2",
            )
            .bind(conn)
            .bind(resource)
            .fetch_optional(p)
            .await
            .map_err(db_err)?;
            row.map(|r| r.json("state")).transpose()
        })
    }

    async fn save_checkpoint(
        &self,
        conn: ConnectionId,
        resource: &str,
        state: &Value,
    ) -> Result<(), StoreError> {
        let now = ms(self.now());
        on_writer!(self, c => {
            sqlx::query(
                "INSERT INTO sync_checkpoints (connection_id, resource, state, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (connection_id, resource) DO UPDATE SET \
                 state = excluded.state, updated_at = excluded.updated_at",
            )
            .bind(conn)
            .bind(resource)
            .bind(Json(state))
            .bind(now)
            .execute(&mut *c)
            .await
            .map_err(db_err)
            .map(|_| ())
        })
    }

    async fn clear_checkpoints(&self, conn: ConnectionId, prefix: &str) -> Result<(), StoreError> {
        // substr/length rather than LIKE: no wildcard escaping, same meaning on both backends.
        on_writer!(self, c => {
            sqlx::query(
                "DELETE FROM sync_checkpoints WHERE connection_id = $1 \
                 AND substr(resource, 1, length($2)) = $2",
            )
            .bind(conn)
            .bind(prefix)
            .execute(&mut *c)
            .await
            .map_err(db_err)
            .map(|_| ())
        })
    }

    async fn start_run(
        &self,
        conn: ConnectionId,
        kind: SyncKind,
        at: DateTime<Utc>,
    ) -> Result<SyncRunId, StoreError> {
        let stats = stats_json(&SyncStats::default())?;
        on_writer!(self, c => {
            let row = sqlx::query(
                "INSERT INTO sync_runs (connection_id, kind, status, started_at, stats) \
                 VALUES ($1, $2, 'running', $3, $4) RETURNING id",
            )
            .bind(conn)
            .bind(kind.as_str())
            .bind(ms(at))
            .bind(Json(&stats))
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
            row.int("id")
        })
    }

    async fn update_run(&self, run: SyncRunId, stats: &SyncStats) -> Result<(), StoreError> {
        let stats = stats_json(stats)?;
        let done = on_writer!(self, c => {
            sqlx::query("UPDATE sync_runs SET stats = $2 WHERE id = $1")
                .bind(run)
                .bind(Json(&stats))
                .execute(&mut *c)
                .await
                .map_err(db_err)
                .map(|r| r.rows_affected())
        })?;
        found(done, || format!("sync run {run}"))
    }

    async fn finish_run(
        &self,
        run: SyncRunId,
        status: &str,
        stats: &SyncStats,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let stats = stats_json(stats)?;
        let kind = on_writer!(self, c => {
            sqlx::query(
                "UPDATE sync_runs SET status = $2, stats = $3, error = $4, finished_at = $5 \
                 WHERE id = $1 RETURNING kind",
            )
            .bind(run)
            .bind(status)
            .bind(Json(&stats))
            .bind(error)
            .bind(ms(at))
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?
            .map(|r| r.text("kind"))
            .transpose()
        })?;
        let Some(kind) = kind else {
            return Err(StoreError::NotFound(format!("sync run {run}")));
        };
        if status == "succeeded" {
            // ANALYZE writes through the pool: let it not wait behind a deferred batch.
            self.flush_deferred().await?;
            // A run may have written many rows: refresh the planner's statistics (a full
            // or reconcile run rewrote the whole inventory). Not worth failing the run for.
            let full = kind != SyncKind::Incremental.as_str();
            if let Err(e) = self.optimize(full).await {
                tracing::warn!(run, error = %e, "refreshing the planner statistics failed");
            }
        }
        Ok(())
    }

    async fn unfinished_run(&self, conn: ConnectionId) -> Result<Option<SyncRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE connection_id = $1 AND status = 'running' \
             ORDER BY id DESC LIMIT 1"
        );
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let row = sqlx::query(&sql)
                .bind(conn)
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            row.map(|r| run_from_row(&r)).transpose()
        })
    }

    async fn last_run(
        &self,
        conn: ConnectionId,
        kind: Option<SyncKind>,
    ) -> Result<Option<SyncRun>, StoreError> {
        // "Finished" = any status but running (succeeded or failed); runs of a connection
        // are sequential, so the highest id is the latest.
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE connection_id = $1 \
             AND status <> 'running' AND ($2 IS NULL OR kind = $2) ORDER BY id DESC LIMIT 1"
        );
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let row = sqlx::query(&sql)
                .bind(conn)
                .bind(kind.map(SyncKind::as_str))
                .fetch_optional(p)
                .await
                .map_err(db_err)?;
            row.map(|r| run_from_row(&r)).transpose()
        })
    }

    async fn group_membership_stamps(
        &self,
        conn: ConnectionId,
    ) -> Result<MembershipStamps, StoreError> {
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT id, last_membership_updated FROM groups \
                 WHERE connection_id = $1 AND removed_at IS NULL ORDER BY id",
            )
            .bind(conn)
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            rows.iter()
                .map(|r| Ok((r.text("id")?, opt_from_ms(r.opt_int("last_membership_updated")?)?)))
                .collect()
        })
    }
}

impl Store {
    /// Marks removed the rows of `table` under `parent_col = parent` that `run` did not write.
    async fn mark_unseen(
        &self,
        table: &str,
        parent_col: &str,
        conn: ConnectionId,
        run: SyncRunId,
        parent: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {table} SET removed_at = $4 WHERE connection_id = $1 AND {parent_col} = $2 \
             AND removed_at IS NULL AND (last_seen_run IS NULL OR last_seen_run <> $3)"
        );
        on_writer!(self, c => {
            sqlx::query(&sql)
                .bind(conn)
                .bind(parent)
                .bind(run)
                .bind(ms(at))
                .execute(&mut *c)
                .await
                .map_err(db_err)
                .map(|_| ())
        })
    }
}

/// `(VALUES ($a, $u), …)`: a row-value list, understood by SQLite (3.15+) and PostgreSQL.
/// What new successful SSO events add to `app_usage`, per (app, user).
#[derive(Default)]
struct UsageDelta(HashMap<(String, String), Usage>);

#[derive(Clone, Copy)]
struct Usage {
    /// Latest sign-in (ms).
    last: i64,
    n30: i64,
    n90: i64,
}

impl UsageDelta {
    /// Adds one event published at `at` (ms), given the window starts `(t30, t90)`.
    fn add(&mut self, app: String, user: String, at: i64, (t30, t90): (i64, i64)) {
        let u = self.0.entry((app, user)).or_insert(Usage {
            last: at,
            n30: 0,
            n90: 0,
        });
        u.last = u.last.max(at);
        u.n30 += i64::from(at >= t30);
        u.n90 += i64::from(at >= t90);
    }

    /// The rows, sorted by key (the index order of `app_usage`).
    fn into_rows(self) -> Vec<(String, String, Usage)> {
        let mut rows: Vec<_> = self.0.into_iter().map(|((a, u), v)| (a, u, v)).collect();
        rows.sort_unstable_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        rows
    }
}

fn found(rows: u64, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}
