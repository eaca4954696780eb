//! `steward serve` (the real binary) killed with `kill -9` in the middle of the sync its
//! scheduler started: while it runs, `steward sync` of the same connection is refused; once
//! it is dead, `steward sync` starts at once (the sync lock died with the process) and ends
//! equal to the simulator. On the default SQLite file, and on PostgreSQL when configured.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::inventory::{Db, assert_counts_match, ok, pem_flags, sim_get, sim_send};
use crate::{stderr, temp_dir};

/// An org whose full sync takes a few hundred requests, so that with a latency fault it
/// lasts seconds.
async fn sim() -> RunningSim {
    let config = SimConfig {
        users: 1_500,
        groups: 50,
        apps: 12,
        log_days: 3,
        ..SimConfig::small()
    };
    RunningSim::start(config).await.expect("okta-sim")
}

/// A running `steward serve`; killed with SIGKILL on drop.
struct Serve {
    child: Child,
}

impl Serve {
    /// Starts `steward serve` on a free port and waits for "Steward is running at".
    fn start(db: &Db, data: &Path) -> Serve {
        let mut child = db
            .command(
                data,
                &[
                    "serve".into(),
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--allow-insecure-loopback".into(),
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn steward serve");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("Steward is running at http://") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("steward serve did not start");
        assert!(line.ends_with('/'), "{line}");
        Serve { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("serve status").is_none()
    }

    /// `kill -9`, and waits for the process to be gone.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "killed: {status:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the simulator has answered `n` more requests than `before`, while `serve`
/// stays alive.
async fn wait_for_requests(sim: &RunningSim, serve: &mut Serve, before: u64, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.state.requests.total() < before + n {
        assert!(serve.is_running(), "steward serve exited");
        assert!(
            Instant::now() < deadline,
            "steward serve's sync did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_sync_then_steward_sync_starts_at_once_and_ends_equal() {
    for db in Db::all().await {
        let started = Instant::now();
        serve_killed_on(&db).await;
        eprintln!(
            "{}: serve killed mid-sync took {:?}",
            db.name,
            started.elapsed()
        );
    }
}

async fn serve_killed_on(db: &Db) {
    let sim = sim().await;
    let dir = temp_dir();
    let data = dir.join("data");
    ok(&db
        .run(
            &data,
            &["connect", "--name", "prod"],
            &pem_flags(&sim, &dir),
        )
        .await);
    // Slow pages: serve's full sync (about 100 requests, some 20 one after another) must
    // outlast the start of another `steward sync`, which can take over a second while
    // serve writes.
    sim_send(
        &sim,
        reqwest::Method::POST,
        "faults",
        json!({"path": "/api/v1/", "kind": "latency", "ms": 250}),
    )
    .await;
    // And groups (their list and their members) so slow that serve's sync can't finish,
    // however long the machine takes to start the `steward sync` below: measured in CI, a
    // loaded machine let serve's whole sync end before it. Killed long before this returns.
    sim_send(
        &sim,
        reqwest::Method::POST,
        "faults",
        json!({"path": "/api/v1/groups", "kind": "latency", "ms": 20_000}),
    )
    .await;

    // The scheduler's first tick is at start: the never-synced connection syncs at once.
    let before = sim.state.requests.total();
    let mut serve = Serve::start(db, &data);
    wait_for_requests(&sim, &mut serve, before, 3).await;

    // A connection never has two syncs at once: serve holds its lock.
    let out = db.run(&data, &["sync"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}: {}", db.name, stderr(&out));
    assert!(
        stderr(&out).contains("another sync of this connection is running"),
        "{}: {}",
        db.name,
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("pid {} ", serve.pid())),
        "{}: held by serve: {}",
        db.name,
        stderr(&out)
    );

    assert!(serve.is_running(), "steward serve exited");
    serve.kill();
    let truth = sim_get(&sim, "summary").await;
    let partial = db.status(&data).await;
    assert_ne!(
        partial["connections"][0]["counts"]["memberships"], truth["memberships"],
        "{}: serve's sync got to the end before the kill: {partial}",
        db.name
    );

    // The lock died with serve: a sync starts at once, with nothing released by hand.
    sim_send(&sim, reqwest::Method::DELETE, "faults", json!({})).await;
    let rerun = Instant::now();
    let out = db.run(&data, &["sync"], &[]).await;
    ok(&out);
    eprintln!(
        "{}: sync after serve's kill -9 took {:?}",
        db.name,
        rerun.elapsed()
    );
    let status = db.status(&data).await;
    let conn = &status["connections"][0];
    assert_counts_match(conn, &truth);
    assert_eq!(conn["last_sync"]["status"], "succeeded", "{conn}");
}

/// The sync jobs in `steward jobs list --json --all`.
async fn sync_jobs(db: &Db, data: &Path) -> Vec<Value> {
    let out = db
        .run(data, &["jobs", "list", "--json", "--all"], &[])
        .await;
    ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).expect("jobs JSON");
    v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["kind"] == "sync")
        .cloned()
        .collect()
}

/// Two `steward serve` on one PostgreSQL schema: both schedulers find the never-synced
/// connection due at start, yet one sync job is queued, it runs once, and never two
/// run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serves_on_one_postgres_database_run_the_sync_once() {
    let Some(db) = Db::all().await.into_iter().find(|d| d.name == "postgres") else {
        eprintln!("STEWARD_TEST_POSTGRES_URL not set: skipped");
        return;
    };
    let started = Instant::now();
    let sim = sim().await;
    let dir = temp_dir();
    let data = dir.join("data");
    ok(&db
        .run(
            &data,
            &["connect", "--name", "prod"],
            &pem_flags(&sim, &dir),
        )
        .await);
    sim_send(
        &sim,
        reqwest::Method::POST,
        "faults",
        json!({"path": "/api/v1/", "kind": "latency", "ms": 5}),
    )
    .await;
    let mut a = Serve::start(&db, &data);
    let mut b = Serve::start(&db, &data);

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_running = false;
    let job = loop {
        assert!(a.is_running() && b.is_running(), "a steward serve exited");
        let jobs = sync_jobs(&db, &data).await;
        assert!(
            jobs.len() <= 1,
            "two sync jobs for one connection: {jobs:?}"
        );
        if let Some(job) = jobs.first() {
            assert!(job["attempts"].as_u64() <= Some(1), "{job}");
            match job["state"].as_str() {
                Some("running") => seen_running = true,
                Some("succeeded") => break job.clone(),
                Some("pending") => {}
                other => panic!("sync job {other:?}: {job}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "the sync job did not finish: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(seen_running, "the sync ended before it was seen running");
    assert_eq!(job["attempts"], 1, "{job}");
    // Both schedulers keep ticking; nothing more is due.
    assert_eq!(sync_jobs(&db, &data).await.len(), 1);
    let status = db.status(&data).await;
    let conn = &status["connections"][0];
    assert_counts_match(conn, &sim_get(&sim, "summary").await);
    assert_eq!(conn["last_sync"]["status"], "succeeded", "{conn}");
    a.kill();
    b.kill();
    eprintln!("postgres: two serves took {:?}", started.elapsed());
}
