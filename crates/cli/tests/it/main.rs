//! The real `steward` binary: exit codes, `--json` shape, `api`, `keygen`.

mod agree;
mod audited;
mod demo;
mod inventory;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use steward_jose::{Alg, PrivateKey, PublicJwk, jws};

/// A fresh directory under the system temp dir.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "steward-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

async fn sim(dpop: okta_sim::DpopMode) -> RunningSim {
    let mut config = SimConfig::small();
    config.users = 30;
    config.groups = 6;
    config.apps = 3;
    config.log_days = 1;
    config.dpop = dpop;
    RunningSim::start(config).await.expect("okta-sim")
}

/// Runs `steward args…` off the async runtime (the simulator keeps serving meanwhile).
async fn steward(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(&args)
            .env_remove("STEWARD_OKTA_DOMAIN")
            .env_remove("STEWARD_OKTA_CLIENT_ID")
            .env_remove("STEWARD_OKTA_PRIVATE_KEY_FILE")
            .env_remove("STEWARD_OKTA_KEY_ID")
            .env_remove("STEWARD_OKTA_DPOP")
            .env_remove("STEWARD_OKTA_CA_CERT")
            .output()
            .expect("run steward")
    })
    .await
    .expect("join")
}

/// The connection flags for the simulator's app, with its key written to a file.
fn connection(sim: &RunningSim, dir: &Path) -> Vec<String> {
    let key = dir.join("key.json");
    std::fs::write(&key, sim.credentials.private_key_jwk.to_string()).expect("write key");
    vec![
        "--domain".into(),
        sim.credentials.domain.clone(),
        "--client-id".into(),
        sim.credentials.client_id.clone(),
        "--private-key".into(),
        key.display().to_string(),
        "--allow-insecure-loopback".into(),
    ]
}

fn args(parts: &[&str], conn: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|s| s.to_string())
        .chain(conn.iter().cloned())
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_json_shape_and_exit_zero() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let dir = temp_dir();
    let out = steward(args(&["doctor", "--json"], &connection(&sim, &dir))).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let obj = v.as_object().expect("object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["checks", "dpop", "granted_scopes", "ok"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["dpop"], true);
    assert_eq!(
        v["granted_scopes"],
        json!([
            "okta.users.read",
            "okta.apps.read",
            "okta.groups.read",
            "okta.groups.manage",
            "okta.logs.read"
        ])
    );
    let checks = v["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 13);
    for c in checks {
        let mut k: Vec<&str> = c
            .as_object()
            .expect("check")
            .keys()
            .map(String::as_str)
            .collect();
        k.sort_unstable();
        assert_eq!(k, ["detail", "fix", "id", "status", "step"], "{c}");
        assert_eq!(c["status"], "pass", "{c}");
        assert!(c["fix"].is_null(), "{c}");
        assert!(c["step"].is_u64() || c["step"] == "host-clock", "{c}");
    }
    assert_eq!(checks[5]["id"], "clock");
    assert_eq!(checks[5]["step"], "host-clock");
    assert_eq!(checks[0]["step"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_exit_one_with_fix_in_text_and_json() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let dir = temp_dir();
    let conn = connection(&sim, &dir);
    let out = steward(args(&["doctor", "--dpop", "off"], &conn)).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("✗ FAIL  dpop"), "{text}");
    assert!(text.contains("fix: Use --dpop auto"), "{text}");
    assert!(text.contains("- SKIP  scope:okta.users.read"), "{text}");

    let out = steward(args(&["doctor", "--dpop", "off", "--json"], &conn)).await;
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    let dpop = &v["checks"][4];
    assert_eq!(dpop["id"], "dpop");
    assert_eq!(dpop["status"], "fail");
    assert_eq!(dpop["step"], 5);
    assert!(
        dpop["fix"]
            .as_str()
            .is_some_and(|f| f.contains("--dpop auto"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_input_errors_are_checks_not_crashes() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let dir = temp_dir();
    let public = dir.join("public.json");
    let key = PrivateKey::from_jwk(&sim.credentials.private_key_jwk).expect("key");
    std::fs::write(&public, key.public_jwk().to_json().to_string()).expect("write");
    let mut conn = connection(&sim, &dir);
    conn[5] = public.display().to_string();
    let out = steward(args(&["doctor"], &conn)).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("✗ FAIL  private_key"), "{text}");
    assert!(
        text.contains("copy the private key in Okta (step 7)"),
        "{text}"
    );
    assert!(!stderr(&out).contains("panicked"));

    conn[5] = dir.join("missing.pem").display().to_string();
    let out = steward(args(&["doctor", "--json"], &conn)).await;
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["checks"][3]["id"], "private_key");
    assert_eq!(v["checks"][3]["status"], "fail");

    // The key can come from standard input.
    let out = tokio::task::spawn_blocking({
        let mut conn = connection(&sim, &dir);
        conn[5] = "-".into();
        let jwk = sim.credentials.private_key_jwk.to_string();
        move || {
            use std::io::Write as _;
            let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
                .args(args(&["doctor", "--json"], &conn))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(jwk.as_bytes())
                .expect("write");
            child.wait_with_output().expect("wait")
        }
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_prints_the_body_and_fails_on_non_2xx() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let dir = temp_dir();
    let conn = connection(&sim, &dir);
    let out = steward(args(&["api", "GET", "/api/v1/users?limit=2"], &conn)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let users: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(users.as_array().map(Vec::len), Some(2));
    // Pretty-printed.
    assert!(stdout(&out).starts_with("[\n"));

    let out = steward(args(
        &["api", "GET", "/api/v1/groups/00gnothere000000000/users"],
        &conn,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&out.stdout).expect("error body on stdout");
    assert_eq!(body["errorCode"], "E0000007");
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
    assert!(stderr(&out).contains("E0000007"));

    // --data must be JSON.
    let out = steward(args(
        &["api", "PUT", "/api/v1/groups/x/users/y", "--data", "{bad"],
        &conn,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--data is not valid JSON"),
        "{}",
        stderr(&out)
    );

    // A 204 prints nothing and succeeds.
    let groups = steward(args(&["api", "GET", "/api/v1/groups"], &conn)).await;
    let groups: Value = serde_json::from_slice(&groups.stdout).expect("groups");
    let gid = groups
        .as_array()
        .and_then(|g| g.iter().find(|g| g["type"] == "OKTA_GROUP"))
        .and_then(|g| g["id"].as_str())
        .expect("an OKTA_GROUP")
        .to_owned();
    let uid = users[0]["id"].as_str().expect("user id").to_owned();
    let path = format!("/api/v1/groups/{gid}/users/{uid}");
    let out = steward(args(&["api", "PUT", &path, "--data", "{}"], &conn)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let out = steward(args(&["api", "GET", "https://example.com/steal"], &conn)).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not on the org"), "{}", stderr(&out));
}

fn keygen_checks(dir: &Path, alg: &str, expected: Alg) -> PublicJwk {
    let path = dir.join(format!("{alg}.pem"));
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["keygen", "--alg", alg, "--out"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let printed: Value = serde_json::from_slice(&out.stdout).expect("jwk on stdout");
    assert!(printed.get("d").is_none(), "private member printed");
    let jwk = PublicJwk::from_json(&printed).expect("public jwk");
    assert_eq!(
        jwk.kid(),
        Some(jwk.thumbprint().as_str()),
        "kid is the RFC 7638 thumbprint"
    );
    assert_eq!(jwk.alg(), Some(expected.as_str()));

    // The printed JWK verifies a signature made by the written key.
    let pem = std::fs::read_to_string(&path).expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key = PrivateKey::from_pem(&pem).expect("pkcs8");
    let jwt = jws::sign(
        &json!({"typ": "JWT"}),
        &json!({"hello": "okta"}),
        &key,
        expected,
    )
    .expect("sign");
    assert_eq!(
        jws::decode(&jwt)
            .expect("decode")
            .verify(&jwk)
            .expect("verify"),
        expected
    );

    // No overwrite without --force; with it, a new key, still 0600.
    let again = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["keygen", "--alg", alg, "--out"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).expect("pem"), pem);
    let forced = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["keygen", "--alg", alg, "--force", "--out"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(forced.status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(&path).expect("pem"), pem);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    jwk
}

#[test]
fn keygen_writes_0600_and_prints_a_matching_jwk() {
    let dir = temp_dir();
    keygen_checks(&dir, "RS256", Alg::RS256);
    keygen_checks(&dir, "ES256", Alg::ES256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_key_registered_in_okta_passes_the_doctor() {
    let sim = sim(okta_sim::DpopMode::Required).await;
    let dir = temp_dir();
    let path = dir.join("steward.pem");
    let out = steward(vec![
        "keygen".into(),
        "--out".into(),
        path.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let jwk: Value = serde_json::from_slice(&out.stdout).expect("jwk");
    let kid = jwk["kid"].as_str().expect("kid").to_owned();
    // "Add key" in Okta: the app now has two keys, so the kid is needed.
    let resp = reqwest::Client::new()
        .patch(format!(
            "{}/__sim/apps/{}",
            sim.base_url, sim.credentials.client_id
        ))
        .json(&json!({"add_keys": [jwk]}))
        .send()
        .await
        .expect("patch");
    assert!(resp.status().is_success());
    let mut conn = connection(&sim, &dir);
    conn[5] = path.display().to_string();
    let out = steward(args(&["doctor", "--json"], &conn)).await;
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["checks"][3]["status"], "fail");
    assert!(
        v["checks"][3]["fix"]
            .as_str()
            .is_some_and(|f| f.contains(&kid))
    );
    conn.extend(["--key-id".to_owned(), kid]);
    let out = steward(args(&["doctor"], &conn)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flags_from_the_environment() {
    let sim = sim(okta_sim::DpopMode::Optional).await;
    let dir = temp_dir();
    let conn = connection(&sim, &dir);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["doctor", "--allow-insecure-loopback"])
            .env("STEWARD_OKTA_DOMAIN", &conn[1])
            .env("STEWARD_OKTA_CLIENT_ID", &conn[3])
            .env("STEWARD_OKTA_PRIVATE_KEY_FILE", &conn[5])
            .env("STEWARD_OKTA_DPOP", "off")
            .output()
            .expect("run")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("DPoP off"));
}

#[test]
fn usage_errors_exit_two() {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["doctor", "--dpop", "maybe"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
