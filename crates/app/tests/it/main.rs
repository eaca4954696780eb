//! Integration tests of steward-app against okta-sim, on in-memory SQLite: syncs as jobs
//! (queued once, audited once, retried while the connection is locked, failed for good
//! when it is gone), and the job list.

// Helpers outside `#[test]` functions are test code too (clippy.toml allows unwrap in tests).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use okta_client::DpopMode;
use okta_sim::{RunningSim, SimConfig};
use steward_app::connections::ConnectionRequest;
use steward_app::syncs::Started;
use steward_app::{Actor, App, Clock, Settings};
use steward_inventory::{InventoryStore, SyncKind};
use steward_store::audit::AuditFilter;
use steward_store::jobs::JobState;
use zeroize::Zeroizing;

async fn sim() -> RunningSim {
    let config = SimConfig {
        users: 40,
        groups: 5,
        apps: 3,
        log_days: 1,
        ..SimConfig::small()
    };
    RunningSim::start(config).await.expect("okta-sim")
}

/// An app with the simulator's connection saved as `okta`.
async fn app_with_connection(sim: &RunningSim) -> App {
    let settings = Settings {
        allow_insecure_loopback: true,
        sync_log_days: 1,
        ..Settings::default()
    };
    let app = App::in_memory(settings, Clock::system())
        .await
        .expect("app");
    let c = &sim.credentials;
    let outcome = app
        .create_connection(
            &Actor::system("test"),
            ConnectionRequest {
                name: "okta".into(),
                domain: c.domain.clone(),
                client_id: c.client_id.clone(),
                private_key: Zeroizing::new(c.private_key_jwk.to_string()),
                key_id: None,
                dpop: DpopMode::Auto,
                ca_cert_pem: None,
                allow_insecure_loopback: true,
                force: false,
            },
            |_| {},
        )
        .await
        .expect("create");
    assert!(outcome.report.ok, "{:?}", outcome.report);
    app
}

async fn actions(app: &App, action: &str) -> usize {
    let filter = AuditFilter {
        action: Some(action.to_owned()),
        limit: 1000,
        ..AuditFilter::default()
    };
    app.list_audit(&filter).await.expect("audit").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_is_queued_once_audited_once_and_run_by_a_runner() {
    let sim = sim().await;
    let app = app_with_connection(&sim).await;
    let actor = Actor::account(7, "admin");
    let first = app
        .start_sync(&actor, "okta", SyncKind::Full)
        .await
        .expect("queue");
    let second = app
        .start_sync(&actor, "okta", SyncKind::Full)
        .await
        .expect("queue again");
    assert_eq!((first, second), (Started::Started, Started::AlreadyRunning));
    assert_eq!(
        actions(&app, "sync.request").await,
        1,
        "the duplicate wrote no event"
    );
    let conn = app.connection("okta").await.expect("conn");
    assert_eq!(app.syncs().status(conn.id).expect("live").state, "queued");

    let summary = steward_app::jobs::run_jobs(&app, true, std::future::pending())
        .await
        .expect("run");
    assert_eq!((summary.succeeded, summary.failed), (1, 0));
    let run = app
        .store()
        .last_run(conn.id, None)
        .await
        .expect("run")
        .expect("a run");
    assert_eq!(run.status, "succeeded");
    let truth = okta_sim::control::truth::summary_of(&sim.state.org.read(), chrono::Utc::now());
    let users = truth["users"]["total"].as_i64().expect("users");
    let memberships = truth["memberships"].as_i64().expect("memberships");
    assert!(users > 0);
    let counts = app.store().counts(conn.id).await.expect("counts");
    assert_eq!((counts.users(), counts.memberships), (users, memberships));
    assert_eq!(
        app.syncs().status(conn.id).expect("live").state,
        "succeeded"
    );
    // Done: the next request queues a new job.
    assert_eq!(
        app.start_sync(&actor, "okta", SyncKind::Incremental)
            .await
            .expect("queue"),
        Started::Started
    );
    assert_eq!(actions(&app, "sync.request").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_waits_for_a_locked_connection_then_runs() {
    let sim = sim().await;
    let app = app_with_connection(&sim).await;
    let conn = app.connection("okta").await.expect("conn");
    let lock = app
        .store()
        .try_lock_sync(conn.id, "steward sync elsewhere")
        .await
        .expect("lock")
        .expect("free");
    app.start_sync(&Actor::system("scheduler"), "okta", SyncKind::Full)
        .await
        .expect("queue");
    let summary = steward_app::jobs::run_jobs(&app, true, std::future::pending())
        .await
        .expect("run");
    assert_eq!((summary.succeeded, summary.retried), (0, 1));
    let jobs = app.list_jobs(&[JobState::Pending], 10).await.expect("jobs");
    assert_eq!(jobs.len(), 1);
    let error = jobs[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("another sync") && error.contains("steward sync elsewhere"),
        "{error}"
    );
    assert!(app.store().last_run(conn.id, None).await.unwrap().is_none());

    lock.release().await.expect("release");
    // The retry is due after its backoff (at most the 2 s base on the first retry).
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let summary = steward_app::jobs::run_jobs(&app, true, std::future::pending())
        .await
        .expect("run");
    assert_eq!(summary.succeeded, 1);
    let run = app.store().last_run(conn.id, None).await.unwrap().unwrap();
    assert_eq!(run.status, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_of_a_deleted_connection_fails_for_good_with_the_reason() {
    let sim = sim().await;
    let app = app_with_connection(&sim).await;
    app.start_sync(&Actor::system("scheduler"), "okta", SyncKind::Full)
        .await
        .expect("queue");
    app.disconnect(&Actor::system("test"), "okta")
        .await
        .expect("disconnect");
    let summary = steward_app::jobs::run_jobs(&app, true, std::future::pending())
        .await
        .expect("run");
    assert_eq!((summary.succeeded, summary.failed), (0, 1));
    let failed = app.list_jobs(&[JobState::Failed], 10).await.expect("jobs");
    assert_eq!(failed.len(), 1);
    let error = failed[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("deleted"), "{error}");
    // The chain holds: create, request, delete.
    let v = app.verify_audit().await.expect("verify");
    assert!(v.ok, "{v:?}");
}
