//! `steward connect`, `sync` and `status` against an in-process okta-sim, with the real
//! binary on the default SQLite database in a temporary data directory.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::{stderr, stdout, temp_dir};

pub(crate) async fn sim() -> RunningSim {
    let config = SimConfig {
        users: 60,
        groups: 8,
        apps: 4,
        log_days: 2,
        ..SimConfig::small()
    };
    RunningSim::start(config).await.expect("okta-sim")
}

/// The database a test's `steward` runs use: the default SQLite file in the data directory,
/// or a PostgreSQL schema of its own (dropped with this value).
pub(crate) struct Db {
    /// `sqlite` or `postgres`, for messages.
    pub(crate) name: &'static str,
    /// `STEWARD_DATABASE_URL`, when not the default.
    url: Option<String>,
    _schema: Option<PgSchema>,
}

impl Db {
    /// The default SQLite file in `STEWARD_DATA_DIR`.
    pub(crate) fn sqlite() -> Db {
        Db {
            name: "sqlite",
            url: None,
            _schema: None,
        }
    }

    /// SQLite, and PostgreSQL in a fresh schema when `STEWARD_TEST_POSTGRES_URL` is set.
    pub(crate) async fn all() -> Vec<Db> {
        let mut dbs = vec![Db::sqlite()];
        if let Some(base) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) {
            let schema = PgSchema::create(&base).await;
            dbs.push(Db {
                name: "postgres",
                url: Some(schema.url()),
                _schema: Some(schema),
            });
        }
        dbs
    }

    /// `steward args…` with `data_dir` as STEWARD_DATA_DIR, this database, and no other
    /// Steward settings from the environment.
    pub(crate) fn command(&self, data_dir: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
        cmd.args(args).env("STEWARD_DATA_DIR", data_dir);
        for var in [
            "STEWARD_DATABASE_URL",
            "STEWARD_MASTER_KEY",
            "STEWARD_MASTER_KEY_FILE",
            "STEWARD_OKTA_DOMAIN",
            "STEWARD_OKTA_CLIENT_ID",
            "STEWARD_OKTA_PRIVATE_KEY_FILE",
            "STEWARD_OKTA_KEY_ID",
            "STEWARD_OKTA_DPOP",
            "STEWARD_OKTA_CA_CERT",
            "STEWARD_LISTEN",
        ] {
            cmd.env_remove(var);
        }
        if let Some(url) = &self.url {
            cmd.env("STEWARD_DATABASE_URL", url);
        }
        cmd
    }

    /// Runs [`Db::command`] to its end.
    pub(crate) async fn run(&self, data_dir: &Path, args: &[&str], extra: &[String]) -> Output {
        let args: Vec<String> = args
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect();
        let cmd = self.command(data_dir, &args);
        tokio::task::spawn_blocking(move || {
            let mut cmd = cmd;
            cmd.output().expect("run steward")
        })
        .await
        .expect("join")
    }

    /// `steward status --json`.
    pub(crate) async fn status(&self, data_dir: &Path) -> Value {
        let out = self.run(data_dir, &["status", "--json"], &[]).await;
        ok(&out);
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }
}

/// Env var with a PostgreSQL URL (`postgres://postgres@127.0.0.1:5432/test`).
const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// A PostgreSQL schema that lives as long as this guard (as in the store's tests).
struct PgSchema {
    base_url: String,
    schema: String,
}

impl PgSchema {
    async fn create(base_url: &str) -> PgSchema {
        use sqlx::{Connection as _, Executor as _};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!(
            "steward_cli_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
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
    fn url(&self) -> String {
        let base = &self.base_url;
        let sep = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{sep}options=-c%20search_path%3D{0}&application_name={0}",
            self.schema
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        use sqlx::{Connection as _, Executor as _};
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

/// Runs `steward args… extra…` to its end on the default SQLite database in `data_dir`
/// (see [`Db::command`]).
/// `steward args…` on the default SQLite database of `data_dir`, with no other Steward
/// settings from the environment.
pub(crate) fn steward_command(data_dir: &Path, args: &[String]) -> Command {
    Db::sqlite().command(data_dir, args)
}

pub(crate) async fn steward_in(data_dir: &Path, args: &[&str], extra: &[String]) -> Output {
    Db::sqlite().run(data_dir, args, extra).await
}

/// The connection flags with the simulator's key as a PEM file.
pub(crate) fn pem_flags(sim: &RunningSim, dir: &Path) -> Vec<String> {
    let key = dir.join("key.pem");
    std::fs::write(&key, &sim.credentials.private_key_pem).expect("write key");
    vec![
        "--domain".into(),
        sim.credentials.domain.clone(),
        "--client-id".into(),
        sim.credentials.client_id.clone(),
        "--private-key".into(),
        key.display().to_string(),
        "--key-id".into(),
        sim.credentials.kid.clone(),
        "--allow-insecure-loopback".into(),
    ]
}

pub(crate) async fn sim_get(sim: &RunningSim, path: &str) -> Value {
    reqwest::get(format!("{}/__sim/{path}", sim.base_url))
        .await
        .expect("control call")
        .json()
        .await
        .expect("control JSON")
}

pub(crate) async fn sim_send(
    sim: &RunningSim,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{}/__sim/{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .expect("control call");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("control JSON")
}

pub(crate) fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

async fn status_json(dir: &Path) -> Value {
    Db::sqlite().status(dir).await
}

/// `by` (only the non-zero entries) equals `expected` (with zeros).
fn assert_breakdown(what: &str, by: &Value, expected: &Value) {
    let expected = expected.as_object().expect("breakdown");
    let mut want = serde_json::Map::new();
    for (k, v) in expected {
        if v.as_u64() != Some(0) {
            want.insert(k.clone(), v.clone());
        }
    }
    assert_eq!(by, &Value::Object(want), "{what}");
}

/// The status counts of a connection equal the simulator's ground truth.
pub(crate) fn assert_counts_match(conn: &Value, truth: &Value) {
    let c = &conn["counts"];
    assert_eq!(c["users"], truth["users"]["total"], "users");
    assert_breakdown("users", &c["users_by_status"], &truth["users"]["by_status"]);
    assert_eq!(c["groups"], truth["groups"]["total"], "groups");
    assert_breakdown("groups", &c["groups_by_type"], &truth["groups"]["by_type"]);
    assert_eq!(c["memberships"], truth["memberships"], "memberships");
    assert_eq!(c["apps"], truth["apps"]["total"], "apps");
    assert_breakdown("apps", &c["apps_by_status"], &truth["apps"]["by_status"]);
    assert_eq!(
        c["app_user_assignments"], truth["app_user_assignments"]["total"],
        "app users"
    );
    assert_breakdown(
        "app users",
        &c["app_users_by_scope"],
        &truth["app_user_assignments"]["by_scope"],
    );
    assert_eq!(
        c["app_group_assignments"], truth["app_group_assignments"],
        "app groups"
    );
}

/// The base64 body of a PEM: what must never be in the database in clear.
fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_status_against_the_simulator() {
    let sim = sim().await;
    let dir = temp_dir();
    let data = dir.join("data");
    let flags = pem_flags(&sim, &dir);

    // connect: the doctor's checklist, then saved.
    let out = steward_in(&data, &["connect", "--name", "prod"], &flags).await;
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("✓ PASS  scope:okta.logs.read"), "{text}");
    assert!(text.contains("Saved connection \"prod\""), "{text}");
    // The name is taken now.
    let out = steward_in(&data, &["connect", "--name", "prod"], &flags).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    // Nothing synced yet.
    let status = status_json(&data).await;
    assert_eq!(status["workspace"], "default");
    assert!(
        status["database"]
            .as_str()
            .is_some_and(|u| u.starts_with("sqlite://")),
        "{status}"
    );
    let conns = status["connections"].as_array().expect("connections");
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["name"], "prod");
    assert_eq!(conns[0]["status"], "ok");
    assert_eq!(conns[0]["counts"]["users"], 0);
    assert!(conns[0]["last_sync"].is_null());

    // Full sync: the inventory equals the simulator's.
    let out = steward_in(&data, &["sync", "--full"], &[]).await;
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Synced \"prod\": full in"), "{text}");
    assert!(text.contains("0 rate-limited (429)"), "{text}");
    let status = status_json(&data).await;
    let conn = &status["connections"][0];
    assert_counts_match(conn, &sim_get(&sim, "summary").await);
    let last = &conn["last_sync"];
    assert_eq!(last["kind"], "full", "{last}");
    assert_eq!(last["status"], "succeeded", "{last}");
    assert!(last["requests"].as_i64().is_some_and(|n| n > 0), "{last}");
    assert_eq!(last["rate_limited"], 0);
    assert!(last["duration_ms"].is_i64(), "{last}");
    assert!(last["started_at"].is_string() && last["finished_at"].is_string());
    assert!(conn["counts"]["sso_events"].as_i64().is_some_and(|n| n > 0));
    let full_requests = last["requests"].as_i64().unwrap_or(0);

    // Changes in Okta, then an incremental sync catches up with fewer requests.
    sim_send(
        &sim,
        reqwest::Method::POST,
        "mutations/random",
        json!({"count": 12, "seed": 7}),
    )
    .await;
    let out = steward_in(&data, &["sync", "--connection", "prod"], &[]).await;
    ok(&out);
    assert!(
        stdout(&out).contains("Synced \"prod\": incremental in"),
        "{}",
        stdout(&out)
    );
    let status = status_json(&data).await;
    let conn = &status["connections"][0];
    assert_counts_match(conn, &sim_get(&sim, "summary").await);
    assert_eq!(conn["last_sync"]["kind"], "incremental");
    assert!(
        conn["last_sync"]["requests"]
            .as_i64()
            .is_some_and(|n| n > 0 && n < full_requests),
        "{}",
        conn["last_sync"]
    );

    // Text status shows the same.
    let out = steward_in(&data, &["status"], &[]).await;
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("prod ("), "{text}");
    assert!(
        text.contains("last sync    incremental succeeded"),
        "{text}"
    );

    // A connection another process is syncing (its lock held) is not synced twice, and the
    // refusal says who holds it.
    let url = format!("sqlite://{}?mode=rwc", data.join("steward.db").display());
    let store = steward_store::Store::connect(&url)
        .await
        .expect("open the store");
    let id = conn["id"].as_i64().expect("connection id");
    let lock = store
        .try_lock_sync(id, "steward serve elsewhere")
        .await
        .expect("lock")
        .expect("free");
    let out = steward_in(&data, &["sync"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("another sync"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("steward serve elsewhere"),
        "{}",
        stderr(&out)
    );
    lock.release().await.expect("release");
    store.close().await;

    // Unknown connection.
    let out = steward_in(&data, &["sync", "--connection", "nope"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no connection named"),
        "{}",
        stderr(&out)
    );

    // Secrets at rest: the master key file is private, the key is only stored sealed.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("master.key"))
            .expect("master.key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "master.key mode {mode:o}");
    }
    let body = pem_body(&sim.credentials.private_key_pem);
    assert!(body.len() > 100);
    let mut checked = 0;
    for name in ["steward.db", "steward.db-wal"] {
        let Ok(bytes) = std::fs::read(data.join(name)) else {
            continue;
        };
        checked += 1;
        // The whole body, and any single 64-character line of it.
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&body),
            "{name} holds the private key in clear"
        );
        for line in sim.credentials.private_key_pem.lines() {
            if !line.starts_with("-----") && line.len() >= 32 {
                assert!(
                    !text.contains(line),
                    "{name} holds a line of the private key"
                );
            }
        }
    }
    assert!(checked >= 1, "no database file in {}", data.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_refuses_a_failing_connection_unless_forced() {
    let sim = sim().await;
    let dir = temp_dir();
    let data = dir.join("data");
    let flags = pem_flags(&sim, &dir);
    // The app loses okta.groups.manage: the doctor fails, a sync (read scopes) still works.
    let scopes = [
        "okta.users.read",
        "okta.apps.read",
        "okta.groups.read",
        "okta.logs.read",
    ];
    sim_send(
        &sim,
        reqwest::Method::PATCH,
        &format!("apps/{}", sim.credentials.client_id),
        json!({"scopes": scopes}),
    )
    .await;

    let out = steward_in(&data, &["connect", "--name", "limited"], &flags).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("✗ FAIL  scope:okta.groups.manage"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        status_json(&data).await["connections"],
        json!([]),
        "not saved"
    );

    let out = steward_in(
        &data,
        &["connect", "--name", "limited", "--force", "--json"],
        &flags,
    )
    .await;
    ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).expect("connect JSON");
    assert_eq!(v["saved"], true, "{v}");
    assert_eq!(v["doctor"]["ok"], false, "{v}");
    let c = &v["connection"];
    assert_eq!(c["name"], "limited");
    assert_eq!(c["workspace"], "default");
    assert_eq!(c["status"], "failing");
    assert_eq!(c["allow_insecure_loopback"], true);
    assert_eq!(c["ca_cert"], false);
    assert_eq!(c["key_id"], sim.credentials.kid.as_str());
    assert!(!out.stdout.is_empty() && !stdout(&out).contains("PRIVATE KEY"));

    let out = steward_in(&data, &["sync"], &[]).await;
    ok(&out);
    // No baseline yet: the incremental sync runs as a full one.
    assert!(
        stdout(&out).contains("Synced \"limited\": full in"),
        "{}",
        stdout(&out)
    );
    let status = status_json(&data).await;
    assert_eq!(status["connections"][0]["status"], "failing");
    assert_counts_match(&status["connections"][0], &sim_get(&sim, "summary").await);
}

/// `kill -9` in the middle of a full sync (the sync's writes commit in batches, so the last
/// ones are lost with the process), then a rerun: it starts at once (the lock died with the
/// process), resumes the run and ends equal to the simulator, with no duplicated rows. On
/// the default SQLite file, and on PostgreSQL when configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_with_sigkill_resumes_and_ends_equal() {
    for db in Db::all().await {
        let started = std::time::Instant::now();
        sync_killed_on(&db).await;
        eprintln!(
            "{}: kill -9 and rerun took {:?}",
            db.name,
            started.elapsed()
        );
    }
}

async fn sync_killed_on(db: &Db) {
    let config = SimConfig {
        users: 1_500,
        groups: 50,
        apps: 12,
        log_days: 3,
        ..SimConfig::small()
    };
    let sim = RunningSim::start(config).await.expect("okta-sim");
    let dir = temp_dir();
    let data = dir.join("data");
    let flags = pem_flags(&sim, &dir);
    ok(&db.run(&data, &["connect", "--name", "prod"], &flags).await);

    // Slow pages, so that the kill lands mid-sync whatever the machine's speed.
    let fault = sim_send(
        &sim,
        reqwest::Method::POST,
        "faults",
        json!({"path": "/api/v1/", "kind": "latency", "ms": 20}),
    )
    .await;
    assert!(
        fault["id"].is_string() || fault["id"].is_number(),
        "{fault}"
    );
    let before = sim.state.requests.total();
    let mut child = db
        .command(&data, &["sync".into(), "--full".into()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn steward sync");
    // A full sync of this org takes well over 100 requests.
    while sim.state.requests.total() < before + 60 {
        assert!(
            child.try_wait().expect("child status").is_none(),
            "{}: the sync ended before it could be killed",
            db.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "killed: {status:?}");

    let status = db.status(&data).await;
    let partial = &status["connections"][0];
    let truth = sim_get(&sim, "summary").await;
    assert_ne!(
        partial["counts"]["memberships"], truth["memberships"],
        "{}: the first sync got to the end: {partial}",
        db.name
    );
    // The dead process's sync lock died with it: the rerun starts at once, with nothing
    // released by hand.
    sim_send(&sim, reqwest::Method::DELETE, "faults", json!({})).await;
    let rerun = std::time::Instant::now();
    let out = db.run(&data, &["sync", "--full"], &[]).await;
    ok(&out);
    assert!(
        !stderr(&out).contains("another sync"),
        "the dead process's lock was released: {}",
        stderr(&out)
    );
    eprintln!(
        "{}: rerun after kill -9 took {:?}",
        db.name,
        rerun.elapsed()
    );
    let status = db.status(&data).await;
    if db.name == "postgres" {
        assert!(
            status["database"]
                .as_str()
                .is_some_and(|u| u.starts_with("postgres")),
            "{status}"
        );
    }
    let conn = &status["connections"][0];
    assert_counts_match(conn, &truth);
    assert_eq!(conn["last_sync"]["status"], "succeeded", "{conn}");
}
