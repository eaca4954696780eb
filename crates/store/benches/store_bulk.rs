//! Bulk write throughput: 100k users and 1M memberships, written in Okta page sizes
//! (200 users, 1000 members per call) as a full sync would, then the same again (the update
//! path of a re-sync), then the removal pass. SQLite on a file in a temp dir; PostgreSQL in a
//! throwaway schema when `STEWARD_TEST_POSTGRES_URL` is set.
//!
//! `cargo bench -p steward-store --bench store_bulk` (`STORE_BENCH_USERS` scales it down).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::{Connection as _, Executor as _};
use steward_inventory::{InventoryStore, UserRecord};
use steward_store::Store;

const USER_PAGE: usize = 200;
const MEMBER_PAGE: usize = 1_000;
const GROUPS: usize = 1_000;

fn user(i: usize) -> UserRecord {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single();
    UserRecord {
        id: format!("00u{i:017}"),
        status: "ACTIVE".into(),
        login: format!("user{i}@example.com"),
        email: Some(format!("user{i}@example.com")),
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{i}")),
        department: Some(format!("Dept {}", i % 40)),
        title: Some("Engineer".into()),
        manager_id: Some(format!("00u{:017}", i / 10)),
        employee_number: Some(i.to_string()),
        created: t,
        status_changed: t,
        last_login: t,
        last_updated: t,
        profile: json!({
            "login": format!("user{i}@example.com"),
            "email": format!("user{i}@example.com"),
            "firstName": format!("First{i}"),
            "lastName": format!("Last{i}"),
            "department": format!("Dept {}", i % 40),
            "costCenter": format!("CC{}", i % 100),
        }),
    }
}

fn rate(rows: usize, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    format!(
        "{rows:>9} rows in {secs:>7.2} s = {:>9.0} rows/s",
        rows as f64 / secs
    )
}

async fn run(name: &str, store: &Store, users_n: usize) {
    let conn = 1;
    let users: Vec<UserRecord> = (0..users_n).map(user).collect();
    // Each user in 10 groups: users_n * 10 memberships over GROUPS groups.
    let per_group = users_n * 10 / GROUPS;
    let members: Vec<Vec<String>> = (0..GROUPS)
        .map(|g| {
            (0..per_group)
                .map(|k| format!("00u{:017}", (g * 7 + k * (GROUPS / 10 + 1)) % users_n))
                .collect()
        })
        .collect();
    let memberships: usize = members.iter().map(Vec::len).sum();

    for (pass, run) in [("insert", 1), ("update", 2)] {
        let started = Instant::now();
        for page in users.chunks(USER_PAGE) {
            store.upsert_users(conn, run, page).await.expect("users");
        }
        println!(
            "{name:>8} users       {pass}: {}",
            rate(users.len(), started)
        );

        let started = Instant::now();
        for (g, ids) in members.iter().enumerate() {
            let gid = format!("00g{g:017}");
            for page in ids.chunks(MEMBER_PAGE) {
                store
                    .upsert_members(conn, run, &gid, page)
                    .await
                    .expect("members");
            }
        }
        println!(
            "{name:>8} memberships {pass}: {}",
            rate(memberships, started)
        );
    }

    let started = Instant::now();
    store
        .finish_full_listing(conn, 2, "users", Utc::now())
        .await
        .expect("finish");
    println!(
        "{name:>8} finish_full_listing(users) over {memberships} memberships: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let counts = store.counts(conn).await.expect("counts");
    assert_eq!(counts.users(), users_n as i64);
    assert_eq!(counts.memberships as usize, memberships);
}

fn main() {
    let users_n: usize = std::env::var("STORE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("steward-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        let store = Store::connect(&url).await.expect("sqlite");
        run("sqlite", &store, users_n).await;
        store.close().await;
        let size = std::fs::metadata(dir.join("bench.db"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("  sqlite file: {:.1} MiB", size as f64 / 1048576.0);
        let _ = std::fs::remove_dir_all(&dir);

        if let Some(base) = std::env::var("STEWARD_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            let schema = format!("steward_bench_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base).await.expect("postgres");
            admin
                .execute(format!("CREATE SCHEMA {schema}").as_str())
                .await
                .expect("schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            let store = Store::connect(&format!("{base}{sep}options=-c%20search_path%3D{schema}"))
                .await
                .expect("postgres store");
            run("postgres", &store, users_n).await;
            store.close().await;
            admin
                .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await
                .expect("drop schema");
        } else {
            println!("(set STEWARD_TEST_POSTGRES_URL to measure PostgreSQL too)");
        }
    });
}
