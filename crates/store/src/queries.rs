//! Reads for `steward status`, the web UI and the sync tests. Everything is scoped by
//! connection and, unless said otherwise, shows live objects only (`removed_at IS NULL`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;
use steward_inventory::{ConnectionId, StoreError, UserRecord};

use crate::db::{BeginRead, RowExt, Store, db_err, on_pool};
use crate::time::{from_ms, opt_from_ms};

/// Every live object with its relations, ids only: the shape (and JSON field names) of the
/// simulator's `GET /__sim/snapshot`, so a sync test can compare the two for equality after
/// [`InventorySnapshot::normalized`]. Everything is sorted by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySnapshot {
    /// Live users.
    pub users: Vec<SnapshotUser>,
    /// Live groups with their live members.
    pub groups: Vec<SnapshotGroup>,
    /// Live apps with their live assignments.
    pub apps: Vec<SnapshotApp>,
}

/// A user in an [`InventorySnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotUser {
    /// Id.
    pub id: String,
    /// Status.
    pub status: String,
    /// `lastUpdated` as Okta writes it (`2024-01-02T03:04:05.000Z`).
    #[serde(rename = "lastUpdated")]
    pub last_updated: Option<String>,
    /// Login.
    pub login: String,
}

/// A group in an [`InventorySnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotGroup {
    /// Id.
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`.
    #[serde(rename = "type")]
    pub group_type: String,
    /// Name.
    pub name: String,
    /// `lastMembershipUpdated` as Okta writes it.
    #[serde(rename = "lastMembershipUpdated")]
    pub last_membership_updated: Option<String>,
    /// Member user ids, sorted.
    pub members: Vec<String>,
}

/// An app in an [`InventorySnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotApp {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// `ACTIVE`, `INACTIVE`.
    pub status: String,
    /// Assigned users, sorted by id.
    pub users: Vec<SnapshotAppUser>,
    /// Assigned group ids, sorted.
    pub groups: Vec<String>,
}

/// A user assignment in an [`InventorySnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotAppUser {
    /// User id.
    pub id: String,
    /// `USER` or `GROUP`.
    pub scope: String,
}

impl InventorySnapshot {
    /// Everything sorted by id (the simulator lists in creation order).
    pub fn normalized(mut self) -> InventorySnapshot {
        self.users.sort_by(|a, b| a.id.cmp(&b.id));
        self.groups.sort_by(|a, b| a.id.cmp(&b.id));
        for g in &mut self.groups {
            g.members.sort();
        }
        self.apps.sort_by(|a, b| a.id.cmp(&b.id));
        for a in &mut self.apps {
            a.users.sort_by(|x, y| x.id.cmp(&y.id));
            a.groups.sort();
        }
        self
    }
}

/// Okta's time format, as the simulator renders it.
fn okta_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn opt_okta_time(ms: Option<i64>) -> Result<Option<String>, StoreError> {
    Ok(opt_from_ms(ms)?.map(okta_time))
}

/// Figures of one connection's inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Live users by status.
    pub users_by_status: BTreeMap<String, i64>,
    /// Live groups by type.
    pub groups_by_type: BTreeMap<String, i64>,
    /// Live memberships.
    pub memberships: i64,
    /// Live apps by status.
    pub apps_by_status: BTreeMap<String, i64>,
    /// Live user assignments by scope (`USER`, `GROUP`).
    pub app_users_by_scope: BTreeMap<String, i64>,
    /// Live group assignments.
    pub app_groups: i64,
    /// Recorded SSO events.
    pub sso_events: i64,
    /// Rows per table, removed ones included.
    pub rows: BTreeMap<String, i64>,
}

impl Counts {
    /// Live users.
    pub fn users(&self) -> i64 {
        self.users_by_status.values().sum()
    }
    /// Live groups.
    pub fn groups(&self) -> i64 {
        self.groups_by_type.values().sum()
    }
    /// Live apps.
    pub fn apps(&self) -> i64 {
        self.apps_by_status.values().sum()
    }
    /// Live user assignments.
    pub fn app_users(&self) -> i64 {
        self.app_users_by_scope.values().sum()
    }
}

/// Filter and page of [`Store::list_users`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive prefix of the login, email, `first last` or last name.
    pub search: Option<String>,
    /// Exact status.
    pub status: Option<String>,
    /// Exact department.
    pub department: Option<String>,
    /// Include removed users.
    pub include_removed: bool,
    /// Page number, from 0.
    pub page: u32,
    /// Rows per page (1..=1000).
    pub page_size: u32,
}

impl Default for UserQuery {
    fn default() -> Self {
        UserQuery {
            search: None,
            status: None,
            department: None,
            include_removed: false,
            page: 0,
            page_size: 50,
        }
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Rows matching, over all pages.
    pub total: i64,
    /// Page number, from 0.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
}

/// A row of the user list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    /// Id.
    pub id: String,
    /// Login.
    pub login: String,
    /// Email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Status.
    pub status: String,
    /// Department.
    pub department: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Last login.
    pub last_login: Option<DateTime<Utc>>,
    /// When a sync found it gone.
    pub removed_at: Option<DateTime<Utc>>,
}

/// A user with their groups and apps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserDetail {
    /// The user.
    pub user: UserRecord,
    /// When a sync found it gone.
    pub removed_at: Option<DateTime<Utc>>,
    /// Live groups, by name.
    pub groups: Vec<GroupRef>,
    /// Live apps the user is assigned to (directly or through a group), by label.
    pub apps: Vec<UserApp>,
}

/// A group as listed on a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type.
    pub group_type: String,
}

/// An app as listed on a user: how it is assigned and when it was last used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserApp {
    /// App id.
    pub app_id: String,
    /// Label.
    pub label: String,
    /// App status.
    pub status: String,
    /// Scope of the user assignment Okta lists (`USER` = direct, `GROUP`), if listed.
    pub scope: Option<String>,
    /// Groups of the user assigned to the app.
    pub via_groups: Vec<String>,
    /// Last successful SSO.
    pub last_sso_at: Option<DateTime<Utc>>,
    /// Successful SSOs over 30 days (as of the last usage refresh).
    pub sso_count_30d: i64,
    /// Successful SSOs over 90 days.
    pub sso_count_90d: i64,
}

/// Maximum page size of list calls.
pub const MAX_PAGE_SIZE: u32 = 1_000;

/// `[prefix, prefix + U+10FFFF)`: the byte-order range of strings starting with `prefix`
/// (the `*_lc` columns compare bytewise: BINARY on SQLite, `COLLATE "C"` on PostgreSQL).
fn prefix_range(prefix: &str) -> (String, String) {
    let low = prefix.to_lowercase();
    let high = format!("{low}{}", char::MAX);
    (low, high)
}

pub(crate) fn user_from_row(r: &impl RowExt) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: r.text("id")?,
        status: r.text("status")?,
        login: r.text("login")?,
        email: r.opt_text("email")?,
        first_name: r.opt_text("first_name")?,
        last_name: r.opt_text("last_name")?,
        department: r.opt_text("department")?,
        title: r.opt_text("title")?,
        manager_id: r.opt_text("manager_id")?,
        employee_number: r.opt_text("employee_number")?,
        created: opt_from_ms(r.opt_int("created")?)?,
        status_changed: opt_from_ms(r.opt_int("status_changed")?)?,
        last_login: opt_from_ms(r.opt_int("last_login")?)?,
        last_updated: opt_from_ms(r.opt_int("last_updated")?)?,
        profile: r.json("profile")?,
    })
}

fn grouped_counts(rows: &[impl RowExt]) -> Result<BTreeMap<String, i64>, StoreError> {
    rows.iter()
        .map(|r| Ok((r.text("k")?, r.int("n")?)))
        .collect()
}

impl Store {
    /// Every live object with its relations (see [`InventorySnapshot`]).
    pub async fn inventory_snapshot(
        &self,
        conn: ConnectionId,
    ) -> Result<InventorySnapshot, StoreError> {
        self.flush_deferred().await?;
        on_pool!(self, p => {
            // One read transaction: a consistent view even while a sync writes.
            let mut tx = p.begin_read().await?;
            let fetch = |sql: &'static str| sqlx::query(sql).bind(conn);
            let users = fetch(
                "SELECT id, status, login, last_updated FROM users \
                 WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let groups = fetch(
                "SELECT id, group_type, name, last_membership_updated FROM groups \
                 WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let members = fetch(
                "SELECT group_id, user_id FROM memberships \
                 WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let apps = fetch(
                "SELECT id, label, status FROM apps WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let app_users = fetch(
                "SELECT app_id, user_id, scope FROM app_users \
                 WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let app_groups = fetch(
                "SELECT app_id, group_id FROM app_groups \
                 WHERE connection_id = $1 AND removed_at IS NULL",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;

            let mut snap = InventorySnapshot {
                users: users
                    .iter()
                    .map(|r| {
                        Ok(SnapshotUser {
                            id: r.text("id")?,
                            status: r.text("status")?,
                            last_updated: opt_okta_time(r.opt_int("last_updated")?)?,
                            login: r.text("login")?,
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                groups: Vec::with_capacity(groups.len()),
                apps: Vec::with_capacity(apps.len()),
            };
            let mut members_of: HashMap<String, Vec<String>> = HashMap::new();
            for r in &members {
                members_of.entry(r.text("group_id")?).or_default().push(r.text("user_id")?);
            }
            for r in &groups {
                let id = r.text("id")?;
                snap.groups.push(SnapshotGroup {
                    members: members_of.remove(&id).unwrap_or_default(),
                    id,
                    group_type: r.text("group_type")?,
                    name: r.text("name")?,
                    last_membership_updated: opt_okta_time(r.opt_int("last_membership_updated")?)?,
                });
            }
            let mut users_of: HashMap<String, Vec<SnapshotAppUser>> = HashMap::new();
            for r in &app_users {
                users_of.entry(r.text("app_id")?).or_default().push(SnapshotAppUser {
                    id: r.text("user_id")?,
                    scope: r.text("scope")?,
                });
            }
            let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
            for r in &app_groups {
                groups_of.entry(r.text("app_id")?).or_default().push(r.text("group_id")?);
            }
            for r in &apps {
                let id = r.text("id")?;
                snap.apps.push(SnapshotApp {
                    users: users_of.remove(&id).unwrap_or_default(),
                    groups: groups_of.remove(&id).unwrap_or_default(),
                    id,
                    label: r.text("label")?,
                    status: r.text("status")?,
                });
            }
            Ok(snap.normalized())
        })
    }

    /// Figures of a connection's inventory (see [`Counts`]).
    pub async fn counts(&self, conn: ConnectionId) -> Result<Counts, StoreError> {
        const GROUPED: [&str; 4] = [
            "SELECT status AS k, COUNT(*) AS n FROM users \
             WHERE connection_id = $1 AND removed_at IS NULL GROUP BY status",
            "SELECT group_type AS k, COUNT(*) AS n FROM groups \
             WHERE connection_id = $1 AND removed_at IS NULL GROUP BY group_type",
            "SELECT status AS k, COUNT(*) AS n FROM apps \
             WHERE connection_id = $1 AND removed_at IS NULL GROUP BY status",
            "SELECT scope AS k, COUNT(*) AS n FROM app_users \
             WHERE connection_id = $1 AND removed_at IS NULL GROUP BY scope",
        ];
        const TABLES: [&str; 9] = [
            "users",
            "groups",
            "memberships",
            "apps",
            "app_users",
            "app_groups",
            "sso_events",
            "app_usage",
            "sync_runs",
        ];
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let mut tx = p.begin_read().await?;
            let mut grouped = Vec::with_capacity(GROUPED.len());
            for sql in GROUPED {
                let rows = sqlx::query(sql).bind(conn).fetch_all(&mut *tx).await.map_err(db_err)?;
                grouped.push(grouped_counts(&rows)?);
            }
            let mut rows = BTreeMap::new();
            for table in TABLES {
                let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE connection_id = $1");
                let r = sqlx::query(&sql).bind(conn).fetch_one(&mut *tx).await.map_err(db_err)?;
                rows.insert(table.to_owned(), r.int("n")?);
            }
            let mut live = BTreeMap::new();
            for table in ["memberships", "app_groups"] {
                let sql = format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE connection_id = $1 \
                     AND removed_at IS NULL"
                );
                let r = sqlx::query(&sql).bind(conn).fetch_one(&mut *tx).await.map_err(db_err)?;
                live.insert(table, r.int("n")?);
            }
            tx.commit().await.map_err(db_err)?;
            let mut grouped = grouped.into_iter();
            Ok(Counts {
                users_by_status: grouped.next().unwrap_or_default(),
                groups_by_type: grouped.next().unwrap_or_default(),
                apps_by_status: grouped.next().unwrap_or_default(),
                app_users_by_scope: grouped.next().unwrap_or_default(),
                memberships: live.get("memberships").copied().unwrap_or(0),
                app_groups: live.get("app_groups").copied().unwrap_or(0),
                sso_events: rows.get("sso_events").copied().unwrap_or(0),
                rows,
            })
        })
    }

    /// A page of users matching `query`, ordered by login. Search is a case-insensitive prefix
    /// match on login, email, `first last` and last name, served by indexes.
    pub async fn list_users(
        &self,
        conn: ConnectionId,
        query: &UserQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
        let offset = i64::from(query.page) * i64::from(page_size);
        let range = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(prefix_range);
        let plain = !query.include_removed
            && query.status.is_none()
            && query.department.is_none()
            && range.is_none();
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let filter = |qb: &mut QueryBuilder<'_, _>| {
                qb.push(" WHERE connection_id = ").push_bind(conn);
                if !query.include_removed {
                    qb.push(" AND removed_at IS NULL");
                }
                if let Some(status) = &query.status {
                    qb.push(" AND status = ").push_bind(status.clone());
                }
                if let Some(department) = &query.department {
                    qb.push(" AND department = ").push_bind(department.clone());
                }
                if let Some((low, high)) = &range {
                    qb.push(" AND (");
                    for (i, col) in ["login_lc", "email_lc", "name_lc", "last_name_lc"]
                        .iter()
                        .enumerate()
                    {
                        if i > 0 {
                            qb.push(" OR ");
                        }
                        qb.push(format!("({col} >= "))
                            .push_bind(low.clone())
                            .push(format!(" AND {col} < "))
                            .push_bind(high.clone())
                            .push(")");
                    }
                    qb.push(")");
                }
            };
            // The unfiltered list's total is cached per connection: counting 100k index
            // entries costs ~7 ms per page. The cache is keyed by the connection's latest
            // sync run, once finished (only syncs write users), so the total shown is exact.
            let stamp = if plain {
                sqlx::query(
                    "SELECT id, status, finished_at FROM sync_runs WHERE connection_id = $1 \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(conn)
                .fetch_optional(p)
                .await
                .map_err(db_err)?
                .map(|r| Ok::<_, StoreError>((r.int("id")?, r.text("status")?, r.opt_int("finished_at")?)))
                .transpose()?
                .filter(|(_, status, _)| status != "running")
                .map(|(id, _, finished)| (id, finished.unwrap_or(0)))
            } else {
                None
            };
            let total = match stamp.and_then(|s| self.cached_live_users(conn, s)) {
                Some(n) => n,
                None => {
                    let mut count = QueryBuilder::new("SELECT COUNT(*) AS n FROM users");
                    filter(&mut count);
                    let n = count.build().fetch_one(p).await.map_err(db_err)?.int("n")?;
                    if let Some(s) = stamp {
                        self.cache_live_users(conn, s, n);
                    }
                    n
                }
            };

            let mut list = QueryBuilder::new(
                "SELECT id, login, email, first_name, last_name, status, department, title, \
                 last_login, removed_at FROM users",
            );
            filter(&mut list);
            list.push(" ORDER BY login_lc, id LIMIT ")
                .push_bind(i64::from(page_size))
                .push(" OFFSET ")
                .push_bind(offset);
            let rows = list.build().fetch_all(p).await.map_err(db_err)?;
            let items = rows
                .iter()
                .map(|r| {
                    Ok(UserSummary {
                        id: r.text("id")?,
                        login: r.text("login")?,
                        email: r.opt_text("email")?,
                        first_name: r.opt_text("first_name")?,
                        last_name: r.opt_text("last_name")?,
                        status: r.text("status")?,
                        department: r.opt_text("department")?,
                        title: r.opt_text("title")?,
                        last_login: opt_from_ms(r.opt_int("last_login")?)?,
                        removed_at: opt_from_ms(r.opt_int("removed_at")?)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(Page { items, total, page: query.page, page_size })
        })
    }

    /// A user (live or removed) with their live groups and apps, how each app is assigned and
    /// its usage. `None` if the connection never saw this user.
    pub async fn user_detail(
        &self,
        conn: ConnectionId,
        user_id: &str,
    ) -> Result<Option<UserDetail>, StoreError> {
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let mut tx = p.begin_read().await?;
            let Some(row) = sqlx::query("SELECT * FROM users WHERE connection_id = $1 AND id = $2")
                .bind(conn)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
            else {
                // Not left to Drop: a dropped transaction rolls back only when its connection
                // is next used, holding its locks meanwhile.
                tx.rollback().await.map_err(db_err)?;
                return Ok(None);
            };
            let user = user_from_row(&row)?;
            let removed_at = opt_from_ms(row.opt_int("removed_at")?)?;
            let groups = sqlx::query(
                "SELECT g.id, g.name, g.group_type FROM memberships m JOIN groups g \
                 ON g.connection_id = m.connection_id AND g.id = m.group_id \
                 WHERE m.connection_id = $1 AND m.user_id = $2 AND m.removed_at IS NULL \
                 AND g.removed_at IS NULL",
            )
            .bind(conn)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let direct = sqlx::query(
                "SELECT a.id, a.label, a.status, au.scope FROM app_users au JOIN apps a \
                 ON a.connection_id = au.connection_id AND a.id = au.app_id \
                 WHERE au.connection_id = $1 AND au.user_id = $2 AND au.removed_at IS NULL \
                 AND a.removed_at IS NULL",
            )
            .bind(conn)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let via_group = sqlx::query(
                "SELECT a.id, a.label, a.status, ag.group_id FROM memberships m \
                 JOIN app_groups ag ON ag.connection_id = m.connection_id \
                 AND ag.group_id = m.group_id AND ag.removed_at IS NULL \
                 JOIN apps a ON a.connection_id = ag.connection_id AND a.id = ag.app_id \
                 AND a.removed_at IS NULL \
                 WHERE m.connection_id = $1 AND m.user_id = $2 AND m.removed_at IS NULL",
            )
            .bind(conn)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let usage = sqlx::query(
                "SELECT app_id, last_sso_at, sso_count_30d, sso_count_90d FROM app_usage \
                 WHERE connection_id = $1 AND user_id = $2",
            )
            .bind(conn)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;

            let mut groups = groups
                .iter()
                .map(|r| {
                    Ok(GroupRef {
                        id: r.text("id")?,
                        name: r.text("name")?,
                        group_type: r.text("group_type")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            groups.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));

            let mut apps: BTreeMap<String, UserApp> = BTreeMap::new();
            let mut app_entry = |r: &dyn Fn(&str) -> Result<String, StoreError>| -> Result<String, StoreError> {
                let id = r("id")?;
                if !apps.contains_key(&id) {
                    apps.insert(id.clone(), UserApp {
                        app_id: id.clone(),
                        label: r("label")?,
                        status: r("status")?,
                        scope: None,
                        via_groups: Vec::new(),
                        last_sso_at: None,
                        sso_count_30d: 0,
                        sso_count_90d: 0,
                    });
                }
                Ok(id)
            };
            let mut scopes = Vec::new();
            for r in &direct {
                let id = app_entry(&|c| r.text(c))?;
                scopes.push((id, r.text("scope")?));
            }
            let mut vias = Vec::new();
            for r in &via_group {
                let id = app_entry(&|c| r.text(c))?;
                vias.push((id, r.text("group_id")?));
            }
            for (id, scope) in scopes {
                if let Some(a) = apps.get_mut(&id) {
                    a.scope = Some(scope);
                }
            }
            for (id, group) in vias {
                if let Some(a) = apps.get_mut(&id) {
                    a.via_groups.push(group);
                }
            }
            for r in &usage {
                if let Some(a) = apps.get_mut(&r.text("app_id")?) {
                    a.last_sso_at = Some(from_ms(r.int("last_sso_at")?)?);
                    a.sso_count_30d = r.int("sso_count_30d")?;
                    a.sso_count_90d = r.int("sso_count_90d")?;
                }
            }
            let mut apps: Vec<UserApp> = apps.into_values().collect();
            for a in &mut apps {
                a.via_groups.sort();
            }
            apps.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.app_id.cmp(&b.app_id)));
            Ok(Some(UserDetail { user, removed_at, groups, apps }))
        })
    }
}

/// Users asked about per statement in [`Store::app_assignment_facts`].
const FACT_USERS_PER_QUERY: usize = 500;

impl steward_inventory::AssignmentReads for Store {
    /// Three reads in one snapshot: the app, the shape of its assignments, and per chunk of
    /// users their status, login and memberships in the app's groups.
    async fn app_assignment_facts(
        &self,
        conn: ConnectionId,
        app_id: &str,
        user_ids: &[String],
    ) -> Result<steward_inventory::AppAssignmentFacts, StoreError> {
        use steward_inventory::{AppAssignmentFacts, UserAssignmentFacts};
        let mut ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let mut tx = p.begin_read().await?;
            let app_live = sqlx::query(
                "SELECT COUNT(*) AS n FROM apps \
                 WHERE connection_id = $1 AND id = $2 AND removed_at IS NULL",
            )
            .bind(conn)
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?
            .int("n")?
                > 0;
            let shape = sqlx::query(
                "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN au.user_name = u.login \
                 THEN 1 ELSE 0 END), 0) AS plain \
                 FROM app_users au LEFT JOIN users u ON u.connection_id = au.connection_id \
                 AND u.id = au.user_id AND u.removed_at IS NULL \
                 WHERE au.connection_id = $1 AND au.app_id = $2 AND au.removed_at IS NULL",
            )
            .bind(conn)
            .bind(app_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut facts = AppAssignmentFacts {
                app_live,
                assignments: shape.int("n")?,
                plain_assignments: shape.int("plain")?,
                users: Vec::with_capacity(ids.len()),
            };
            for chunk in ids.chunks(FACT_USERS_PER_QUERY) {
                let mut q = QueryBuilder::new(
                    "SELECT u.id AS id, u.status AS status, u.login AS login, \
                     u.status_changed AS status_changed, au.scope AS scope FROM users u \
                     LEFT JOIN app_users au ON au.connection_id = u.connection_id \
                     AND au.user_id = u.id AND au.removed_at IS NULL AND au.app_id = ",
                );
                q.push_bind(app_id)
                    .push(" WHERE u.connection_id = ")
                    .push_bind(conn)
                    .push(" AND u.removed_at IS NULL AND u.id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                let users = q.build().fetch_all(&mut *tx).await.map_err(db_err)?;
                let mut q = QueryBuilder::new(
                    "SELECT m.user_id AS user_id, m.group_id AS group_id FROM memberships m \
                     JOIN app_groups ag ON ag.connection_id = m.connection_id \
                     AND ag.group_id = m.group_id AND ag.removed_at IS NULL \
                     JOIN groups g ON g.connection_id = m.connection_id AND g.id = m.group_id \
                     AND g.removed_at IS NULL \
                     WHERE m.removed_at IS NULL AND m.connection_id = ",
                );
                q.push_bind(conn)
                    .push(" AND ag.app_id = ")
                    .push_bind(app_id)
                    .push(" AND m.user_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                let members = q.build().fetch_all(&mut *tx).await.map_err(db_err)?;
                let mut groups: HashMap<String, Vec<String>> = HashMap::new();
                for m in &members {
                    groups.entry(m.text("user_id")?).or_default().push(m.text("group_id")?);
                }
                for u in &users {
                    let user_id = u.text("id")?;
                    let mut app_groups = groups.remove(&user_id).unwrap_or_default();
                    app_groups.sort_unstable();
                    facts.users.push(UserAssignmentFacts {
                        status: u.text("status")?,
                        login: u.text("login")?,
                        status_changed: opt_from_ms(u.opt_int("status_changed")?)?,
                        app_groups,
                        assignment_scope: u.opt_text("scope")?,
                        user_id,
                    });
                }
            }
            tx.commit().await.map_err(db_err)?;
            facts.users.sort_unstable_by(|a, b| a.user_id.cmp(&b.user_id));
            Ok(facts)
        })
    }
    async fn group_app_assignments(
        &self,
        conn: ConnectionId,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let mut tx = p.begin_read().await?;
            for chunk in ids.chunks(FACT_USERS_PER_QUERY) {
                let mut q = QueryBuilder::new(
                    "SELECT ag.group_id AS group_id, ag.app_id AS app_id FROM app_groups ag \
                     JOIN groups g ON g.connection_id = ag.connection_id AND g.id = ag.group_id \
                     AND g.removed_at IS NULL \
                     JOIN apps a ON a.connection_id = ag.connection_id AND a.id = ag.app_id \
                     AND a.removed_at IS NULL \
                     WHERE ag.removed_at IS NULL AND ag.connection_id = ",
                );
                q.push_bind(conn).push(" AND ag.group_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                for r in q.build().fetch_all(&mut *tx).await.map_err(db_err)? {
                    out.push((r.text("group_id")?, r.text("app_id")?));
                }
            }
            tx.commit().await.map_err(db_err)?;
        });
        out.sort_unstable();
        Ok(out)
    }

    async fn group_member_ids(
        &self,
        conn: ConnectionId,
        group_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.flush_deferred().await?;
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT m.user_id AS user_id FROM memberships m \
                 JOIN groups g ON g.connection_id = m.connection_id AND g.id = m.group_id \
                 AND g.removed_at IS NULL \
                 JOIN users u ON u.connection_id = m.connection_id AND u.id = m.user_id \
                 AND u.removed_at IS NULL \
                 WHERE m.connection_id = $1 AND m.group_id = $2 AND m.removed_at IS NULL \
                 ORDER BY m.user_id",
            )
            .bind(conn)
            .bind(group_id)
            .fetch_all(p)
            .await
            .map_err(db_err)?;
            rows.iter().map(|r| r.text("user_id")).collect()
        })
    }
}
