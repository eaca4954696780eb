//! Every state-changing command writes exactly one audit event when it makes the change and
//! none when it refuses; `steward audit verify` accepts that history and names the event a
//! hand-made UPDATE changed; `audit export --format csv` and `jobs list --json` print what
//! their docs say. The real binary, on the default SQLite file and (when
//! `STEWARD_TEST_POSTGRES_URL` is set) a PostgreSQL schema of its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sqlx::{Connection as _, Executor as _};
use steward_jose::{Alg, PrivateKey};
use steward_store::Store;

use crate::inventory::{sim, steward_command};
use crate::{stderr, stdout, temp_dir};

/// Where the binary keeps its data: the data directory (master key, and the SQLite file
/// unless `database` is given).
struct Env {
    data: PathBuf,
    database: Option<String>,
}

impl Env {
    async fn run(&self, args: &[String]) -> Output {
        let mut cmd = steward_command(&self.data, args);
        if let Some(url) = &self.database {
            cmd.env("STEWARD_DATABASE_URL", url);
        }
        tokio::task::spawn_blocking(move || cmd.output().expect("run steward"))
            .await
            .expect("join")
    }

    /// The database URL the binary uses.
    fn url(&self) -> String {
        self.database.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data.join("steward.db").display()
            )
        })
    }

    /// Every audit event, oldest first, through `steward audit export --format jsonl`.
    async fn events(&self) -> Vec<Value> {
        let out = self
            .run(&strings(&["audit", "export", "--format", "jsonl"]))
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
            .collect()
    }
}

fn strings(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// One command, its exit status, and the audit events it must add.
struct Case {
    what: &'static str,
    args: Vec<String>,
    exit: i32,
    events: usize,
    action: &'static str,
}

fn cases(good: &[String], failing: &[String]) -> Vec<Case> {
    let with = |parts: &[&str], flags: &[String]| {
        let mut a = strings(parts);
        a.extend(flags.iter().cloned());
        a
    };
    let case = |what, args, exit, events, action| Case {
        what,
        args,
        exit,
        events,
        action,
    };
    vec![
        case(
            "connect",
            with(&["connect", "--name", "okta"], good),
            0,
            1,
            "connection.create",
        ),
        case(
            "connect: a bad name",
            with(&["connect", "--name", "bad name"], good),
            1,
            0,
            "",
        ),
        case(
            "connect: a taken name",
            with(&["connect", "--name", "okta"], good),
            1,
            0,
            "",
        ),
        case(
            "connect: the doctor fails",
            with(&["connect", "--name", "failing"], failing),
            1,
            0,
            "",
        ),
        case(
            "connect --force: saved failing",
            with(&["connect", "--name", "failing", "--force"], failing),
            0,
            1,
            "connection.create",
        ),
        case(
            "admin create",
            strings(&["admin", "create", "--username", "alice", "--role", "viewer"]),
            0,
            1,
            "account.create",
        ),
        case(
            "admin create: a taken user name",
            strings(&["admin", "create", "--username", "alice", "--role", "viewer"]),
            1,
            0,
            "",
        ),
        case(
            "admin create: a bad role",
            strings(&["admin", "create", "--username", "bob", "--role", "wizard"]),
            1,
            0,
            "",
        ),
        case(
            "sync",
            strings(&["sync", "--connection", "okta"]),
            0,
            1,
            "sync.start",
        ),
        case(
            "sync: an unknown connection",
            strings(&["sync", "--connection", "nope"]),
            1,
            0,
            "",
        ),
        case(
            "jobs run with nothing queued",
            strings(&["jobs", "run", "--until-idle"]),
            0,
            0,
            "",
        ),
    ]
}

async fn audited_on(env: Env, dir: &Path) {
    let since = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let sim = sim().await;
    let creds = &sim.credentials;
    let flags = |key: &Path| {
        vec![
            "--domain".to_owned(),
            creds.domain.clone(),
            "--client-id".to_owned(),
            creds.client_id.clone(),
            "--private-key".to_owned(),
            key.display().to_string(),
            "--allow-insecure-loopback".to_owned(),
        ]
    };
    let good = dir.join("key.json");
    std::fs::write(&good, creds.private_key_jwk.to_string()).expect("write key");
    // A key Okta doesn't know: the doctor's token check fails.
    let mut unknown = PrivateKey::generate_ec(Alg::ES256).expect("key");
    let kid = unknown.thumbprint();
    unknown.set_kid(Some(kid));
    let failing = dir.join("unknown.json");
    std::fs::write(&failing, unknown.to_private_jwk().to_string()).expect("write key");

    let mut before = env.events().await.len();
    for c in cases(&flags(&good), &flags(&failing)) {
        let out = env.run(&c.args).await;
        assert_eq!(
            out.status.code(),
            Some(c.exit),
            "{}: stdout {}\nstderr {}",
            c.what,
            stdout(&out),
            stderr(&out)
        );
        let events = env.events().await;
        let new = &events[before..];
        assert_eq!(new.len(), c.events, "{}: {new:?}", c.what);
        for e in new {
            assert_eq!(e["action"], c.action, "{}: {e}", c.what);
            assert_eq!(e["actor"]["kind"], "cli", "{}: {e}", c.what);
        }
        before = events.len();
    }
    let events = env.events().await;

    // The real history verifies.
    let out = env.run(&strings(&["audit", "verify", "--json"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("verify JSON");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["events"].as_u64(),
        u64::try_from(events.len()).ok(),
        "{v}"
    );
    assert!(v["first_broken"].is_null(), "{v}");

    // CSV since today: the header and one row per event; since a far date: the header.
    let out = env
        .run(&strings(&[
            "audit", "export", "--format", "csv", "--since", &since,
        ]))
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    // RFC 4180: every record, the header too, ends in CRLF; no blank records between.
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert!(csv.ends_with("\r\n"), "{csv:?}");
    assert_eq!(
        csv.matches('\n').count(),
        csv.matches("\r\n").count(),
        "{csv:?}"
    );
    assert_eq!(lines.len(), 1 + events.len(), "{csv:?}");
    assert!(lines[0].starts_with("workspace,seq,"), "{csv}");
    let out = env
        .run(&strings(&[
            "audit",
            "export",
            "--format",
            "csv",
            "--since",
            "2999-01-01",
        ]))
        .await;
    assert_eq!(
        stdout(&out).split_terminator("\r\n").count(),
        1,
        "{:?}",
        stdout(&out)
    );

    // `jobs list --json`: `{"jobs": [...]}`.
    let out = env
        .run(&strings(&["jobs", "list", "--all", "--json"]))
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("jobs JSON");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["jobs"], "{v}");
    assert!(v["jobs"].is_array(), "{v}");

    // Tampering: with the triggers dropped, one event's details changed by hand. The
    // verification fails and names that event.
    let target = events
        .iter()
        .find(|e| e["action"] == "account.create")
        .expect("the account.create event");
    let seq = target["seq"].as_i64().expect("seq");
    let store = Store::connect(&env.url()).await.expect("store");
    let on = if env.database.is_some() {
        " ON audit_events"
    } else {
        ""
    };
    for trigger in ["audit_events_no_update", "audit_events_no_delete"] {
        store
            .raw_execute(&format!("DROP TRIGGER {trigger}{on}"))
            .await
            .expect("drop trigger");
    }
    let changed = store
        .raw_execute(&format!(
            "UPDATE audit_events SET details = '{{\"username\":\"mallory\"}}' WHERE seq = {seq}"
        ))
        .await
        .expect("tamper");
    assert_eq!(changed, 1);
    store.close().await;
    let out = env.run(&strings(&["audit", "verify", "--json"])).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("verify JSON");
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_broken"]["seq"].as_i64(), Some(seq), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_write_one_event_per_change_and_verify_finds_tampering_on_sqlite() {
    let dir = temp_dir();
    let env = Env {
        data: dir.join("data"),
        database: None,
    };
    audited_on(env, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_write_one_event_per_change_and_verify_finds_tampering_on_postgres() {
    let Ok(base) = std::env::var("STEWARD_TEST_POSTGRES_URL") else {
        eprintln!("STEWARD_TEST_POSTGRES_URL not set: skipped");
        return;
    };
    let dir = temp_dir();
    let schema = format!(
        "steward_cli_test_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let mut c = sqlx::PgConnection::connect(&base).await.expect("postgres");
    c.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let env = Env {
        data: dir.join("data"),
        database: Some(format!("{base}{sep}options=-c%20search_path%3D{schema}")),
    };
    audited_on(env, &dir).await;
    let _ = c
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await;
    let _ = c.close().await;
}
