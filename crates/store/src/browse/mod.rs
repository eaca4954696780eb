//! Reads for the web UI's inventory pages: groups with member counts, a group's members and
//! apps, apps with assignment and usage counts, an app's assignees, departments, sync runs.
//! Live objects only; every list is paged and ordered by an indexed lower-case column.
//! Departments and sync runs are in `lists`.

mod lists;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;
use steward_inventory::{ConnectionId, StoreError};

use crate::db::{RowExt, Store, db_err, on_pool};
use crate::queries::{MAX_PAGE_SIZE, Page};
use crate::time::opt_from_ms;

/// A name-prefix filter and a page, for groups and apps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Case-insensitive prefix of the name (groups) or label (apps).
    pub search: Option<String>,
    /// Page number, from 0.
    pub page: u32,
    /// Rows per page (clamped to 1..=1000; 0 means 50).
    pub page_size: u32,
}

impl ListQuery {
    fn limits(&self) -> (u32, i64) {
        let size = if self.page_size == 0 {
            50
        } else {
            self.page_size.clamp(1, MAX_PAGE_SIZE)
        };
        (size, i64::from(self.page) * i64::from(size))
    }

    fn range(&self) -> Option<(String, String)> {
        let s = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())?;
        let low = s.to_lowercase();
        Some((low.clone(), format!("{low}{}", char::MAX)))
    }
}

/// A row of the group list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`.
    pub group_type: String,
    /// Description.
    pub description: Option<String>,
    /// Live members.
    pub members: i64,
    /// Apps assigned to the group.
    pub apps: i64,
}

/// A row of the app list, with usage figures (from the last usage refresh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppSummary {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Okta's app name (e.g. `bookmark`).
    pub name: String,
    /// `ACTIVE`, `INACTIVE`.
    pub status: String,
    /// Sign-on mode.
    pub sign_on_mode: Option<String>,
    /// Users assigned (directly or through a group, as Okta lists them).
    pub assigned_users: i64,
    /// Groups assigned.
    pub assigned_groups: i64,
    /// Users with a successful SSO in the last 30 days.
    pub active_30d: i64,
    /// Users with a successful SSO in the last 90 days.
    pub active_90d: i64,
    /// Assigned users with no recorded SSO at all.
    pub never_used: i64,
}

/// A user as listed on a group or an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// User id.
    pub id: String,
    /// Login.
    pub login: String,
    /// `first last`.
    pub name: String,
    /// Status.
    pub status: String,
    /// For app assignees: `USER` (direct) or `GROUP`.
    pub scope: Option<String>,
    /// For app assignees: last successful SSO.
    pub last_sso_at: Option<DateTime<Utc>>,
    /// For app assignees: SSOs over 30 days.
    pub sso_count_30d: i64,
}

/// A group or app as listed on the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// Id.
    pub id: String,
    /// Name or label.
    pub name: String,
}

/// A group with a page of members and its apps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupDetail {
    /// The group.
    pub group: GroupSummary,
    /// Members, by login.
    pub members: Page<Member>,
    /// Apps assigned to the group, by label.
    pub apps: Vec<Ref>,
}

/// An app with a page of assignees and its groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppDetail {
    /// The app and its figures.
    pub app: AppSummary,
    /// Assigned users, by login, with usage.
    pub assignees: Page<Member>,
    /// Groups assigned, by name.
    pub groups: Vec<Ref>,
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.group_type, g.description, \
     (SELECT COUNT(*) FROM memberships m WHERE m.connection_id = g.connection_id \
      AND m.group_id = g.id AND m.removed_at IS NULL) AS members, \
     (SELECT COUNT(*) FROM app_groups ag WHERE ag.connection_id = g.connection_id \
      AND ag.group_id = g.id AND ag.removed_at IS NULL) AS apps FROM groups g";

const APP_SELECT: &str = "SELECT a.id, a.label, a.name, a.status, a.sign_on_mode, \
     (SELECT COUNT(*) FROM app_users au WHERE au.connection_id = a.connection_id \
      AND au.app_id = a.id AND au.removed_at IS NULL) AS assigned_users, \
     (SELECT COUNT(*) FROM app_groups ag WHERE ag.connection_id = a.connection_id \
      AND ag.app_id = a.id AND ag.removed_at IS NULL) AS assigned_groups, \
     (SELECT COUNT(*) FROM app_usage u WHERE u.connection_id = a.connection_id \
      AND u.app_id = a.id AND u.sso_count_30d > 0) AS active_30d, \
     (SELECT COUNT(*) FROM app_usage u WHERE u.connection_id = a.connection_id \
      AND u.app_id = a.id AND u.sso_count_90d > 0) AS active_90d, \
     (SELECT COUNT(*) FROM app_users au WHERE au.connection_id = a.connection_id \
      AND au.app_id = a.id AND au.removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM app_usage u \
      WHERE u.connection_id = au.connection_id AND u.app_id = au.app_id \
      AND u.user_id = au.user_id)) AS never_used FROM apps a";

fn group_from_row(r: &dyn RowExt) -> Result<GroupSummary, StoreError> {
    Ok(GroupSummary {
        id: r.text("id")?,
        name: r.text("name")?,
        group_type: r.text("group_type")?,
        description: r.opt_text("description")?,
        members: r.int("members")?,
        apps: r.int("apps")?,
    })
}

fn app_from_row(r: &dyn RowExt) -> Result<AppSummary, StoreError> {
    Ok(AppSummary {
        id: r.text("id")?,
        label: r.text("label")?,
        name: r.text("name")?,
        status: r.text("status")?,
        sign_on_mode: r.opt_text("sign_on_mode")?,
        assigned_users: r.int("assigned_users")?,
        assigned_groups: r.int("assigned_groups")?,
        active_30d: r.int("active_30d")?,
        active_90d: r.int("active_90d")?,
        never_used: r.int("never_used")?,
    })
}

fn member_from_row(r: &impl RowExt, app: bool) -> Result<Member, StoreError> {
    let first = r.opt_text("first_name")?.unwrap_or_default();
    let last = r.opt_text("last_name")?.unwrap_or_default();
    Ok(Member {
        id: r.text("id")?,
        login: r.text("login")?,
        name: format!("{first} {last}").trim().to_owned(),
        status: r.text("status")?,
        scope: if app { r.opt_text("scope")? } else { None },
        last_sso_at: if app {
            opt_from_ms(r.opt_int("last_sso_at")?)?
        } else {
            None
        },
        sso_count_30d: if app {
            r.opt_int("sso_count_30d")?.unwrap_or(0)
        } else {
            0
        },
    })
}

fn ref_from_row(r: &impl RowExt) -> Result<Ref, StoreError> {
    Ok(Ref {
        id: r.text("id")?,
        name: r.text("name")?,
    })
}

impl Store {
    /// A page of live groups (name prefix search), by name, with member and app counts.
    pub async fn list_groups(
        &self,
        conn: ConnectionId,
        q: &ListQuery,
    ) -> Result<Page<GroupSummary>, StoreError> {
        self.list_named(
            conn,
            q,
            GROUP_SELECT,
            "groups",
            "g",
            "name_lc",
            group_from_row,
        )
        .await
    }

    /// A page of live apps (label prefix search), by label, with assignment and usage counts.
    pub async fn list_apps(
        &self,
        conn: ConnectionId,
        q: &ListQuery,
    ) -> Result<Page<AppSummary>, StoreError> {
        self.list_named(conn, q, APP_SELECT, "apps", "a", "label_lc", app_from_row)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn list_named<T>(
        &self,
        conn: ConnectionId,
        q: &ListQuery,
        select: &str,
        table: &str,
        alias: &str,
        col: &str,
        decode: fn(&dyn RowExt) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let (page_size, offset) = q.limits();
        let range = q.range();
        on_pool!(self, p => {
            let filter = |qb: &mut QueryBuilder<'_, _>| {
                qb.push(format!(" WHERE {alias}.connection_id = ")).push_bind(conn);
                qb.push(format!(" AND {alias}.removed_at IS NULL"));
                if let Some((low, high)) = &range {
                    qb.push(format!(" AND {alias}.{col} >= ")).push_bind(low.clone());
                    qb.push(format!(" AND {alias}.{col} < ")).push_bind(high.clone());
                }
            };
            let mut count = QueryBuilder::new(format!("SELECT COUNT(*) AS n FROM {table} {alias}"));
            filter(&mut count);
            let total = count.build().fetch_one(p).await.map_err(db_err)?.int("n")?;
            let mut list = QueryBuilder::new(select);
            filter(&mut list);
            list.push(format!(" ORDER BY {alias}.{col}, {alias}.id LIMIT "))
                .push_bind(i64::from(page_size))
                .push(" OFFSET ")
                .push_bind(offset);
            let rows = list.build().fetch_all(p).await.map_err(db_err)?;
            let items = rows.iter().map(|r| decode(r)).collect::<Result<_, _>>()?;
            Ok(Page { items, total, page: q.page, page_size })
        })
    }

    /// A live group with a page of its members and the apps assigned to it.
    pub async fn group_detail(
        &self,
        conn: ConnectionId,
        group_id: &str,
        page: u32,
        page_size: u32,
    ) -> Result<Option<GroupDetail>, StoreError> {
        let q = ListQuery {
            search: None,
            page,
            page_size,
        };
        let (size, offset) = q.limits();
        let head = format!(
            "{GROUP_SELECT} WHERE g.connection_id = $1 AND g.id = $2 AND g.removed_at IS NULL"
        );
        on_pool!(self, p => {
            let Some(row) = sqlx::query(&head).bind(conn).bind(group_id)
                .fetch_optional(p).await.map_err(db_err)? else { return Ok(None) };
            let group = group_from_row(&row)?;
            let members = sqlx::query(
                "SELECT u.id, u.login, u.first_name, u.last_name, u.status FROM memberships m \
                 JOIN users u ON u.connection_id = m.connection_id AND u.id = m.user_id \
                 AND u.removed_at IS NULL \
                 WHERE m.connection_id = $1 AND m.group_id = $2 AND m.removed_at IS NULL \
                 ORDER BY u.login_lc, u.id LIMIT $3 OFFSET $4",
            )
            .bind(conn).bind(group_id).bind(i64::from(size)).bind(offset)
            .fetch_all(p).await.map_err(db_err)?;
            let apps = sqlx::query(
                "SELECT a.id, a.label AS name FROM app_groups ag JOIN apps a \
                 ON a.connection_id = ag.connection_id AND a.id = ag.app_id AND a.removed_at IS NULL \
                 WHERE ag.connection_id = $1 AND ag.group_id = $2 AND ag.removed_at IS NULL \
                 ORDER BY a.label_lc, a.id",
            )
            .bind(conn).bind(group_id)
            .fetch_all(p).await.map_err(db_err)?;
            Ok(Some(GroupDetail {
                members: Page {
                    items: members.iter().map(|r| member_from_row(r, false)).collect::<Result<_, _>>()?,
                    total: group.members,
                    page,
                    page_size: size,
                },
                apps: apps.iter().map(ref_from_row).collect::<Result<_, _>>()?,
                group,
            }))
        })
    }

    /// A live app with a page of its assignees (with usage) and the groups assigned to it.
    pub async fn app_detail(
        &self,
        conn: ConnectionId,
        app_id: &str,
        page: u32,
        page_size: u32,
    ) -> Result<Option<AppDetail>, StoreError> {
        let q = ListQuery {
            search: None,
            page,
            page_size,
        };
        let (size, offset) = q.limits();
        let head = format!(
            "{APP_SELECT} WHERE a.connection_id = $1 AND a.id = $2 AND a.removed_at IS NULL"
        );
        on_pool!(self, p => {
            let Some(row) = sqlx::query(&head).bind(conn).bind(app_id)
                .fetch_optional(p).await.map_err(db_err)? else { return Ok(None) };
            let app = app_from_row(&row)?;
            let users = sqlx::query(
                "SELECT u.id, u.login, u.first_name, u.last_name, u.status, au.scope, \
                 us.last_sso_at, us.sso_count_30d FROM app_users au \
                 JOIN users u ON u.connection_id = au.connection_id AND u.id = au.user_id \
                 LEFT JOIN app_usage us ON us.connection_id = au.connection_id \
                 AND us.app_id = au.app_id AND us.user_id = au.user_id \
                 WHERE au.connection_id = $1 AND au.app_id = $2 AND au.removed_at IS NULL \
                 ORDER BY u.login_lc, u.id LIMIT $3 OFFSET $4",
            )
            .bind(conn).bind(app_id).bind(i64::from(size)).bind(offset)
            .fetch_all(p).await.map_err(db_err)?;
            let groups = sqlx::query(
                "SELECT g.id, g.name FROM app_groups ag JOIN groups g \
                 ON g.connection_id = ag.connection_id AND g.id = ag.group_id AND g.removed_at IS NULL \
                 WHERE ag.connection_id = $1 AND ag.app_id = $2 AND ag.removed_at IS NULL \
                 ORDER BY g.name_lc, g.id",
            )
            .bind(conn).bind(app_id)
            .fetch_all(p).await.map_err(db_err)?;
            Ok(Some(AppDetail {
                assignees: Page {
                    items: users.iter().map(|r| member_from_row(r, true)).collect::<Result<_, _>>()?,
                    total: app.assigned_users,
                    page,
                    page_size: size,
                },
                groups: groups.iter().map(ref_from_row).collect::<Result<_, _>>()?,
                app,
            }))
        })
    }
}
