//! The equality checks on steward-store: in-memory SQLite always, PostgreSQL when
//! `STEWARD_TEST_POSTGRES_URL` is set (each test in a schema of its own, dropped after).

use serde_json::Value;
use sqlx::{Connection, Executor};
use steward_inventory::{ConnectionId, SyncKind};
use steward_store::{MasterKey, NewConnection, Store};
use steward_sync::{SyncConfig, Syncer, SystemClock};
use zeroize::Zeroizing;

use crate::common::*;

const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// A PostgreSQL schema dropped when the test ends.
struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    async fn create(base: &str) -> PgSchema {
        let name = format!("steward_sync_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(base).await.expect("postgres");
        c.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("schema");
        let _ = c.close().await;
        PgSchema {
            base: base.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    async fn drop_now(self) {
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.base).await {
            let _ = c
                .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name).as_str())
                .await;
            let _ = c.close().await;
        }
    }
}

/// A store with one workspace and one connection for `sim`.
async fn store_for(url: &str, sim: &okta_sim::RunningSim) -> (Store, ConnectionId) {
    let store = Store::connect(url).await.expect("store");
    let ws = store.ensure_workspace("acme").await.expect("workspace");
    let c = &sim.credentials;
    let new = NewConnection {
        name: "sim".into(),
        domain: c.domain.clone(),
        client_id: c.client_id.clone(),
        key_id: Some(c.kid.clone()),
        dpop_mode: "auto".into(),
        private_key_pem: Zeroizing::new(c.private_key_pem.clone()),
        transport: Default::default(),
        status: "ok".into(),
    };
    let master = MasterKey::generate().expect("master key");
    let store = store.with_audit_key(steward_store::audit::AuditKey::derive(&master));
    let event = steward_store::audit::NewAuditEvent {
        workspace: ws.id,
        at: chrono::Utc::now(),
        actor: steward_store::audit::Actor::system("test"),
        action: "connection.create".into(),
        target: steward_store::audit::Target::new("connection", ""),
        details: serde_json::json!({}),
        request_id: None,
    };
    let conn = store
        .create_connection(ws.id, &new, &master, &event)
        .await
        .expect("connection");
    (store, conn.id)
}

async fn stored(store: &Store, conn: ConnectionId) -> Value {
    let snap = store.inventory_snapshot(conn).await.expect("snapshot");
    serde_json::to_value(snap.normalized()).expect("JSON")
}

/// Full, mutations + incremental, full again: equal to Okta each time, and the repeated
/// full changes nothing.
async fn equality_on(url: &str, users: usize) {
    let sim = sim(users, users / 30, 12).await;
    let (store, conn) = store_for(url, &sim).await;
    let client = client(&sim);
    let config = SyncConfig {
        log_days: 7,
        ..SyncConfig::for_client(&client)
    };
    let s = Syncer::new(
        client,
        store.clone(),
        conn,
        config,
        std::sync::Arc::new(SystemClock),
    );
    let full = s.full().await.expect("full");
    assert_snapshot_equal(&truth(&sim), &stored(&store, conn).await);

    mutate(&sim, 200, 5).await;
    let inc = s.incremental().await.expect("incremental");
    assert_eq!(inc.kind, SyncKind::Incremental);
    assert_snapshot_equal(&truth(&sim), &stored(&store, conn).await);
    // Assignment changes were derived through the store's facts query.
    assert!(
        inc.stats
            .items
            .get("app_users_derived")
            .is_some_and(|n| *n > 0),
        "{:?}",
        inc.stats
    );
    assert!(
        inc.stats.requests * 3 < full.stats.requests,
        "{:?} vs {:?}",
        inc.stats,
        full.stats
    );

    let before = stored(&store, conn).await;
    s.full().await.expect("second full");
    assert_eq!(
        stored(&store, conn).await,
        before,
        "a repeated full sync changed the store"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_equals_okta() {
    equality_on("sqlite::memory:", 10_000).await;
}

/// On a database file the sync writes through the writer's deferred commits (in memory,
/// each write commits at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_store_equals_okta() {
    let dir = std::env::temp_dir().join(format!(
        "steward-sync-file-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    equality_on(&steward_store::default_sqlite_url(&dir), 3_000).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_equals_okta() {
    let Some(base) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) else {
        eprintln!("{POSTGRES_ENV} not set: skipped");
        return;
    };
    let schema = PgSchema::create(&base).await;
    equality_on(&schema.url(), 3_000).await;
    schema.drop_now().await;
}
