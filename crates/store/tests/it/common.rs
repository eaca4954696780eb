//! Backends to run each test on, and record builders.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::json;
use sqlx::Connection as _;
use sqlx::Executor as _;
use steward_inventory::{AppGroupRecord, AppRecord, AppUserRecord, GroupRecord, UserRecord};
use steward_store::Store;

/// Env var with a PostgreSQL URL (`postgres://postgres@127.0.0.1:5432/test`).
pub const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// A fixed "now" for tests.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date")
}

pub fn fixed_clock(now: DateTime<Utc>) -> steward_store::Clock {
    Arc::new(move || now)
}

/// A PostgreSQL schema that lives as long as this guard.
pub struct PgSchema {
    base_url: String,
    pub schema: String,
}

impl PgSchema {
    pub async fn create(base_url: &str) -> PgSchema {
        let schema = format!("steward_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(base_url)
            .await
            .expect("connect to STEWARD_TEST_POSTGRES_URL");
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .expect("create schema");
        let _ = admin.close().await;
        PgSchema {
            base_url: base_url.to_owned(),
            schema,
        }
    }

    /// The URL selecting this schema; its connections carry the schema name as
    /// `application_name`, so teardown can end those a failed test left behind.
    pub fn url(&self) -> String {
        self.url_from(&self.base_url)
    }

    /// [`PgSchema::url`] on another base URL (same server and database).
    pub fn url_from(&self, base: &str) -> String {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}options=-c%20search_path%3D{0}&application_name={0}",
            self.schema
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop runs outside async code too (after a panic): use a runtime of our own.
        let url = self.base_url.clone();
        let schema = self.schema.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    // A connection left inside a transaction would block the drop.
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    )
                    .bind(&schema)
                    .execute(&mut c)
                    .await;
                    let _ = c.execute("SET lock_timeout = '20s'").await;
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = c.execute(drop.as_str()).await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

/// A store on one backend; keeps its PostgreSQL schema alive.
pub struct TestStore {
    pub store: Store,
    pub name: &'static str,
    _schema: Option<PgSchema>,
}

/// PostgreSQL URL from the environment, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty())
}

/// In-memory SQLite, plus PostgreSQL when configured; clocks fixed at [`t0`].
pub async fn backends() -> Vec<TestStore> {
    let mut out = vec![TestStore {
        store: Store::connect("sqlite::memory:")
            .await
            .expect("sqlite")
            .with_clock(fixed_clock(t0())),
        name: "sqlite",
        _schema: None,
    }];
    if let Some(url) = postgres_url() {
        let schema = PgSchema::create(&url).await;
        let store = Store::connect(&schema.url())
            .await
            .expect("postgres")
            .with_clock(fixed_clock(t0()));
        out.push(TestStore {
            store,
            name: "postgres",
            _schema: Some(schema),
        });
    }
    out
}

/// Runs `test` on each backend.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    for ts in backends().await {
        eprintln!("--- backend: {}", ts.name);
        test(ts.store.clone()).await;
        ts.store.close().await;
    }
}

pub fn ts(days_ago: i64) -> DateTime<Utc> {
    t0() - TimeDelta::days(days_ago)
}

pub fn user(i: usize) -> UserRecord {
    UserRecord {
        id: format!("00u{i:017}"),
        status: "ACTIVE".into(),
        login: format!("User{i}@Example.com"),
        email: Some(format!("user{i}@example.com")),
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{i}")),
        department: Some(
            if i.is_multiple_of(2) {
                "Engineering"
            } else {
                "Sales"
            }
            .into(),
        ),
        title: Some("Engineer".into()),
        manager_id: None,
        employee_number: Some(i.to_string()),
        created: Some(ts(400)),
        status_changed: None,
        last_login: Some(ts(1)),
        last_updated: Some(ts(2) + TimeDelta::milliseconds(i as i64 % 1000)),
        profile: json!({"login": format!("User{i}@Example.com"), "costCenter": i}),
    }
}

pub fn group(i: usize) -> GroupRecord {
    GroupRecord {
        id: format!("00g{i:017}"),
        group_type: "OKTA_GROUP".into(),
        name: format!("Group {i}"),
        description: None,
        created: Some(ts(300)),
        last_updated: Some(ts(3)),
        last_membership_updated: Some(ts(1)),
        users_count: None,
        profile: json!({"name": format!("Group {i}")}),
    }
}

pub fn app(i: usize) -> AppRecord {
    AppRecord {
        id: format!("0oa{i:017}"),
        name: "bookmark".into(),
        label: format!("App {i}"),
        status: "ACTIVE".into(),
        sign_on_mode: Some("BOOKMARK".into()),
        created: Some(ts(200)),
        last_updated: Some(ts(5)),
    }
}

pub fn app_user(app: usize, user: usize, scope: &str) -> AppUserRecord {
    AppUserRecord {
        app_id: format!("0oa{app:017}"),
        user_id: format!("00u{user:017}"),
        scope: scope.into(),
        status: Some("ACTIVE".into()),
        user_name: Some(format!("user{user}")),
        last_updated: Some(ts(4)),
    }
}

pub fn app_group(app: usize, group: usize) -> AppGroupRecord {
    AppGroupRecord {
        app_id: format!("0oa{app:017}"),
        group_id: format!("00g{group:017}"),
        priority: Some(group as i64),
        last_updated: Some(ts(4)),
    }
}

pub fn uid(i: usize) -> String {
    format!("00u{i:017}")
}

pub fn gid(i: usize) -> String {
    format!("00g{i:017}")
}

pub fn aid(i: usize) -> String {
    format!("0oa{i:017}")
}
