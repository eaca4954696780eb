//! A runner killed with `kill -9` loses its jobs to another runner once their leases
//! expire. The test binary runs itself again as the child runner
//! (`takeover::child_runner`, ignored unless asked for).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use steward_jobs::{JobError, Registry, Runner, handler_fn};
use steward_store::Store;
use steward_store::jobs::JobState;

use crate::common::{SharedDb, config, new_job, postgres, sqlite_file};

/// The child's database URL.
const CHILD_DB_ENV: &str = "STEWARD_JOBS_TEST_CHILD_DB";
/// The child runner's holder name.
const CHILD_HOLDER_ENV: &str = "STEWARD_JOBS_TEST_CHILD_HOLDER";

/// The child: a runner whose handler never returns, until it is killed.
#[tokio::test]
#[ignore = "run by the takeover tests as a child process"]
async fn child_runner() {
    let (Ok(url), Ok(holder)) = (std::env::var(CHILD_DB_ENV), std::env::var(CHILD_HOLDER_ENV))
    else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let registry = Registry::new().with(
        "block",
        handler_fn(|_job| async {
            std::future::pending::<()>().await;
            Ok::<(), JobError>(())
        }),
    );
    Runner::new(store, registry, config(&holder))
        .run(std::future::pending())
        .await
        .unwrap();
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn takeover(db: SharedDb) {
    let name = db.name;
    let store = Store::connect(&db.url).await.unwrap();
    let id = store
        .enqueue_job(&new_job("block", 1, store.now(), 3))
        .await
        .unwrap()
        .id;
    let child_holder = format!("child-{}", uuid::Uuid::new_v4().simple());
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "takeover::child_runner",
                "--nocapture",
                "--ignored",
            ])
            .env(CHILD_DB_ENV, &db.url)
            .env(CHILD_HOLDER_ENV, &child_holder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Wait until the child holds the job, then until its heartbeat renewed the lease.
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        let job = store.find_job(id).await.unwrap().unwrap();
        if job.state == JobState::Running && job.lease_holder.as_deref() == Some(&child_holder) {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: the child never claimed the job: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let renewed = store.find_job(id).await.unwrap().unwrap();
    assert!(
        renewed.lease_expires_at > first.lease_expires_at,
        "{name}: the heartbeat did not renew the lease"
    );
    assert_eq!(renewed.state, JobState::Running, "{name}");

    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    let killed = Instant::now();

    let cfg = config("parent");
    let lease = cfg.lease.to_std().unwrap();
    let runner = Runner::new(
        store.clone(),
        Registry::new().with("block", handler_fn(|_job| async { Ok(()) })),
        cfg,
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stop_rx.await;
            })
            .await
    });
    let job = loop {
        let job = store.find_job(id).await.unwrap().unwrap();
        if job.state == JobState::Succeeded {
            break job;
        }
        assert!(
            killed.elapsed() < lease + Duration::from_secs(2),
            "{name}: not taken over within the lease: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = killed.elapsed();
    // The lease was honoured: renewed at most one heartbeat before the kill.
    assert!(
        took >= lease - Duration::from_millis(500),
        "{name}: taken over before the lease expired ({took:?})"
    );
    assert_eq!(job.attempts, 2, "{name}: the takeover counts as an attempt");
    assert_eq!(job.lease_holder.as_deref(), Some("parent"), "{name}");
    eprintln!("{name}: taken over {took:?} after the kill (lease {lease:?})");
    let _ = stop_tx.send(());
    running.await.unwrap().unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_killed_runner_are_taken_over_on_postgres() {
    let Some(db) = postgres().await else {
        eprintln!("skipped: STEWARD_TEST_POSTGRES_URL not set");
        return;
    };
    takeover(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_killed_runner_are_taken_over_on_a_sqlite_file() {
    takeover(sqlite_file()).await;
}
