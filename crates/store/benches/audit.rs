//! Audit trail figures: events appended per second, one per transaction as real changes
//! do (sequentially, and from 4 tasks at once), and `verify_audit` over a long chain
//! (1,000,000 events by default, inserted in bulk batches of a valid chain). SQLite on a
//! file in a temp dir; PostgreSQL in a throwaway schema when `STEWARD_TEST_POSTGRES_URL`
//! is set.
//!
//! `cargo bench -p steward-store --bench audit` (`AUDIT_BENCH_EVENTS` scales the chain,
//! `AUDIT_BENCH_APPENDS` the append runs).

use std::time::Instant;

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;
use sqlx::{Connection as _, Executor as _};
use steward_store::audit::{Actor, AuditKey, NewAuditEvent, Target};
use steward_store::{MasterKey, Store};

const BULK_BATCH: usize = 10_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(workspace: i64, i: usize) -> NewAuditEvent {
    let t0 = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    NewAuditEvent {
        workspace,
        at: t0 + TimeDelta::milliseconds(i as i64 * 250),
        actor: Actor::account((i % 50) as i64 + 1, &format!("admin{}", i % 50)),
        action: ["account.update", "group.member.add", "connection.sync"][i % 3].into(),
        target: Target::new("group", format!("00g{:017}", i % 5_000)),
        details: json!({"user": format!("00u{i:017}"), "reason": "access review", "n": i}),
        request_id: Some(format!("req-{i:012}")),
    }
}

fn rate(what: &str, n: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  {what:<34} {n:>9} in {secs:>7.2} s = {:>9.0} /s",
        n as f64 / secs
    );
}

async fn run(name: &str, store: Store, appends: usize, chain: usize) {
    println!("{name}:");
    let key = AuditKey::derive(&MasterKey::generate().expect("key"));
    let store = store.with_audit_key(key);

    let ws = store
        .create_workspace("appends")
        .await
        .expect("workspace")
        .id;
    let started = Instant::now();
    for i in 0..appends {
        store.append_audit(&event(ws, i)).await.expect("append");
    }
    rate("append, 1 task (1 event per tx)", appends, started);

    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..appends / 4 {
                    store
                        .append_audit(&event(ws, appends + t * appends + i))
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    rate("append, 4 tasks (1 event per tx)", appends / 4 * 4, started);

    let ws = store.create_workspace("long").await.expect("workspace").id;
    let started = Instant::now();
    let mut i = 0;
    while i < chain {
        let n = BULK_BATCH.min(chain - i);
        let batch: Vec<_> = (i..i + n).map(|j| event(ws, j)).collect();
        store.append_audit_bulk(&batch).await.expect("bulk append");
        i += n;
    }
    rate("bulk insert of the chain", chain, started);

    let started = Instant::now();
    let v = store.verify_audit().await.expect("verify");
    assert!(v.ok, "{v:?}");
    let total = appends + appends / 4 * 4 + chain;
    assert_eq!(v.events as usize, total);
    rate("verify_audit (all events)", total, started);
    store.close().await;
}

fn main() {
    let appends = env_usize("AUDIT_BENCH_APPENDS", 2_000);
    let chain = env_usize("AUDIT_BENCH_EVENTS", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("steward-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("audit.db").display());
        let store = Store::connect(&url).await.expect("sqlite");
        run(
            "sqlite (file, WAL, synchronous=NORMAL)",
            store,
            appends,
            chain,
        )
        .await;
        let size = std::fs::metadata(dir.join("audit.db"))
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
            run("postgres", store, appends, chain).await;
            admin
                .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await
                .expect("drop schema");
        } else {
            println!("(set STEWARD_TEST_POSTGRES_URL to measure PostgreSQL too)");
        }
    });
}
