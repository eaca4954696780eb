//! The Okta integration page against okta-sim: paste Okta's key, let Steward generate one,
//! input errors, rotation, disconnect, the API; and the private key in no response and no
//! log line.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use axum::http::{Method, StatusCode};
use okta_client::InputError;
use okta_sim::{RunningSim, SimConfig};
use parking_lot::Mutex;
use serde_json::{Value, json};
use steward_app::Role;
use steward_jose::PrivateKey;

use super::TestApp;

async fn sim() -> RunningSim {
    let mut config = SimConfig::small();
    config.users = 20;
    config.groups = 4;
    config.apps = 2;
    config.log_days = 1;
    RunningSim::start(config).await.expect("okta-sim starts")
}

/// A log sink for `tracing_subscriber`.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary (a global subscriber: a thread-local one misses
/// events whose callsite interest another test thread cached first). Each test uses its
/// own keys, so grepping the whole buffer for this test's key is exact.
fn logs() -> &'static LogBuf {
    static LOGS: OnceLock<LogBuf> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    })
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn assert_no_key(what: &str, text: &str, d: &str) {
    assert!(!text.contains(d), "the private key's d appears in {what}");
    assert!(
        !text.contains("PRIVATE KEY"),
        "a PEM private key appears in {what}"
    );
    assert!(
        !text.contains("&quot;d&quot;") && !text.contains("\"d\":"),
        "a JWK d member appears in {what}"
    );
}

fn public_jwk_in(page: &str) -> Value {
    let start = page.find("id=\"public-jwk\">").expect("public JWK shown") + 16;
    let end = page[start..].find("</pre>").expect("end");
    let text = page[start..start + end].replace("&quot;", "\"");
    serde_json::from_str(&text).expect("JWK JSON")
}

async fn add_key_in_okta(sim: &RunningSim, jwk: &Value) {
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/__sim/apps/{}",
            sim.base_url, sim.credentials.client_id
        ))
        .json(&json!({"add_keys": [jwk]}))
        .send()
        .await
        .expect("sim control");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn paste_okta_key_connects_and_the_key_never_leaks() {
    let logs = logs();

    let sim = sim().await;
    let creds = &sim.credentials;
    let jwk_text = creds.private_key_jwk.to_string();
    let d = creds.private_key_jwk["d"].as_str().expect("d").to_owned();
    let public = PrivateKey::from_jwk(&creds.private_key_jwk)
        .expect("key")
        .public_jwk()
        .to_json()
        .to_string();

    let t = TestApp::new().await;
    let mut c = t.login("admin").await;
    let csrf = c.get("/settings/okta").await.csrf();
    let form = |key: &str, domain: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("action".to_owned(), "save".to_owned()),
            ("name".to_owned(), "okta".to_owned()),
            ("domain".to_owned(), domain.to_owned()),
            ("client_id".to_owned(), creds.client_id.clone()),
            ("dpop".to_owned(), "auto".to_owned()),
            ("private_key".to_owned(), key.to_owned()),
        ]
    };

    // The public key pasted: the step-7 fix, the other fields kept.
    let r = c
        .post_form("/settings/okta", &pairs(&form(&public, &creds.domain)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("step 7"), "{}", r.body);
    assert!(
        r.body.contains(&InputError::KeyIsPublic.fix()),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{}\"", creds.domain)));
    assert!(r.body.contains(&format!("value=\"{}\"", creds.client_id)));
    // The summary at the top of the form links to the key; the error sits under the key's
    // textarea, before the Key ID input.
    let at = |needle: &str| {
        r.body
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}: {}", r.body))
    };
    assert!(at("id=\"error-summary\"") < at("id=\"name\""));
    assert!(r.body.contains("href=\"#private_key\""), "{}", r.body);
    let error = at("class=\"field-error\"");
    assert!(at("id=\"private_key\"") < error && error < at("id=\"key_id\""));
    assert!(
        t.state
            .app
            .list_connections()
            .await
            .expect("list")
            .is_empty()
    );

    // The right key but a bad domain: the domain error, and the key is kept server-side.
    let r = c
        .post_form(
            "/settings/okta",
            &pairs(&form(&jwk_text, "acme-admin.okta.com")),
        )
        .await;
    assert!(r.body.contains("step 2"), "{}", r.body);
    assert!(r.body.contains("Key received"), "{}", r.body);
    assert!(r.body.contains(&creds.kid));

    // Fix the domain without pasting again: every check passes, the connection is saved.
    let r = c
        .post_form("/settings/okta", &pairs(&form("", &creds.domain)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Every check passed"), "{}", r.body);
    assert!(r.body.contains("Connected: okta"));
    let conn = t
        .state
        .app
        .find_connection("okta")
        .await
        .expect("find")
        .expect("saved");
    assert_eq!(conn.key_id.as_deref(), Some(creds.kid.as_str()));
    assert_eq!(conn.domain, creds.domain);

    // The connection page shows kid and thumbprint, tests, and never shows the key.
    let page = c.get("/settings/okta/okta").await;
    assert!(page.body.contains(&conn.key_thumbprint) && page.body.contains(&creds.kid));
    let r = c
        .post_form("/settings/okta/okta/test", &[("csrf", &csrf)])
        .await;
    assert!(r.body.contains("Every check passed"), "{}", r.body);
    let mut api = t.token_client(Role::Admin).await;
    let list = api.api(Method::GET, "/api/v1/connections", None).await;
    assert_eq!(list.json()["connections"][0]["name"], "okta");
    c.transcript.append(&mut api.transcript);

    for (i, body) in c.transcript.iter().enumerate() {
        assert_no_key(&format!("response {i}"), body, &d);
    }
    let logs = String::from_utf8_lossy(&logs.0.lock()).into_owned();
    assert!(logs.contains("connection saved"), "the capture works");
    assert!(logs.contains("request_id"), "spans carry the request id");
    assert_no_key("the logs", &logs, &d);
}

#[tokio::test]
async fn steward_generated_key_rotation_and_disconnect() {
    let sim = sim().await;
    let creds = &sim.credentials;
    let t = TestApp::new().await;
    let mut c = t.login("admin").await;
    let csrf = c.get("/settings/okta").await.csrf();
    let base = [
        ("csrf", csrf.as_str()),
        ("name", "okta"),
        ("domain", creds.domain.as_str()),
        ("client_id", creds.client_id.as_str()),
    ];

    // Step 6: Steward generates the pair and shows the public JWK (kid = thumbprint).
    let mut f = base.to_vec();
    f.push(("action", "generate"));
    let r = c.post_form("/settings/okta", &f).await;
    assert_eq!(r.status, StatusCode::OK);
    let jwk = public_jwk_in(&r.body);
    assert!(jwk.get("d").is_none());
    let kid = jwk["kid"].as_str().expect("kid").to_owned();
    assert!(
        r.body.contains(&format!("value=\"{}\"", creds.client_id)),
        "fields kept"
    );
    add_key_in_okta(&sim, &jwk).await;

    let mut f = base.to_vec();
    f.push(("action", "save"));
    let r = c.post_form("/settings/okta", &f).await;
    assert!(r.body.contains("Every check passed"), "{}", r.body);
    let conn = t
        .state
        .app
        .find_connection("okta")
        .await
        .expect("find")
        .expect("saved");
    assert_eq!(conn.key_id.as_deref(), Some(kid.as_str()));
    assert_eq!(conn.key_thumbprint, kid);

    // Rotation: a new pair, added in Okta, verified, switched.
    let r = c
        .post_form(
            "/settings/okta/okta/rotate",
            &[("csrf", &csrf), ("action", "generate")],
        )
        .await;
    let new_jwk = public_jwk_in(&r.body);
    assert_ne!(new_jwk["kid"], jwk["kid"]);
    // Verifying before the key is in Okta fails and keeps the old key.
    let r = c
        .post_form(
            "/settings/okta/okta/rotate",
            &[("csrf", &csrf), ("action", "verify")],
        )
        .await;
    assert!(r.body.contains("still uses the old key"), "{}", r.body);
    add_key_in_okta(&sim, &new_jwk).await;
    let r = c
        .post_form(
            "/settings/okta/okta/rotate",
            &[("csrf", &csrf), ("action", "verify")],
        )
        .await;
    assert!(r.body.contains("Switched to the new key"), "{}", r.body);
    let rotated = t
        .state
        .app
        .find_connection("okta")
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(rotated.key_id.as_deref(), new_jwk["kid"].as_str());

    // Disconnect deletes the key.
    let r = c
        .post_form("/settings/okta/okta/disconnect", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        t.state
            .app
            .find_connection("okta")
            .await
            .expect("read")
            .is_none()
    );
    let audit = super::audit(&t.state).await;
    for action in [
        "connection.create",
        "connection.rotate_key",
        "connection.delete",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    for (i, body) in c.transcript.iter().enumerate() {
        assert!(
            !body.contains("PRIVATE KEY") && !body.contains("&quot;d&quot;"),
            "response {i}"
        );
    }
}

#[tokio::test]
async fn api_creates_tests_and_deletes_a_connection() {
    let sim = sim().await;
    let creds = &sim.credentials;
    let d = creds.private_key_jwk["d"].as_str().expect("d").to_owned();
    let t = TestApp::new().await;
    let mut c = t.token_client(Role::Admin).await;
    let body = |key: String| json!({"name": "okta", "domain": creds.domain, "client_id": creds.client_id, "private_key": key});
    // A public key: 422 with the failing check and its fix.
    let public = PrivateKey::from_jwk(&creds.private_key_jwk)
        .expect("key")
        .public_jwk()
        .to_json();
    let r = c
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(body(public.to_string())),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let j = r.json();
    assert_eq!(j["saved"], false);
    let check = j["report"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "private_key")
        .expect("key check")
        .clone();
    assert_eq!(check["status"], "fail");
    assert_eq!(check["step"], 7);

    // Okta's PEM copy, with the kid given next to it.
    let mut with_kid = body(creds.private_key_pem.clone());
    with_kid["key_id"] = json!(creds.kid);
    let r = c
        .api(Method::POST, "/api/v1/connections", Some(with_kid))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["report"]["ok"], true);
    let r = c
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(body(creds.private_key_jwk.to_string())),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = c
        .api(Method::POST, "/api/v1/connections/okta/test", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["ok"], true);
    let r = c
        .api(Method::DELETE, "/api/v1/connections/okta", None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = c
        .api(Method::DELETE, "/api/v1/connections/okta", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for body in &c.transcript {
        assert!(!body.contains(&d) && !body.contains("PRIVATE KEY"));
    }
}

/// The connection test is bounded (`web.doctor_timeout_secs`): an org that never answers
/// gives the setup page a failing check that names what timed out and what to check, not a
/// hung request or a 500; nothing is saved.
#[tokio::test]
async fn doctor_timeout_shows_the_checks_so_far() {
    let sim = sim().await;
    let creds = &sim.credentials;
    let config = steward_web::WebConfig {
        doctor_timeout_secs: 1,
        ..steward_web::WebConfig::dev()
    };
    let t = TestApp::with_config(config).await;
    let mut c = t.login("admin").await;
    let csrf = c.get("/settings/okta").await.csrf();
    let form = |domain: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("action".to_owned(), "save".to_owned()),
            ("name".to_owned(), "okta".to_owned()),
            ("domain".to_owned(), domain.to_owned()),
            ("client_id".to_owned(), creds.client_id.clone()),
            ("dpop".to_owned(), "auto".to_owned()),
            ("private_key".to_owned(), creds.private_key_jwk.to_string()),
        ]
    };

    // A listener that accepts and never answers: the first batch of checks times out.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hung_addr = hung.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hung.accept().await {
            held.push(s);
        }
    });
    let started = std::time::Instant::now();
    let r = c
        .post_form("/settings/okta", &pairs(&form(&hung_addr.to_string())))
        .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("timed out after 1 s"), "{}", r.body);
    assert!(r.body.contains("<code>timeout</code>"), "{}", r.body);
    assert!(r.body.contains("reaching the org"), "{}", r.body);
    assert!(r.body.contains("firewall"), "{}", r.body);
    assert!(r.body.contains("web.doctor_timeout_secs"), "{}", r.body);
    holder.abort();

    // The org and the tokens answer, the role check's reads hang: the checks done are shown
    // (passing), then the read-only role check fails with the timeout.
    let fault = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(&json!({"path": "/api/v1/groups", "kind": "latency", "ms": 5000}))
        .send()
        .await
        .expect("sim control");
    assert!(fault.status().is_success());
    let r = c
        .post_form("/settings/okta", &pairs(&form(&creds.domain)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<code>org</code>"), "{}", r.body);
    assert!(
        r.body.contains("<code>scope:okta.users.read</code>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("timed out after 1 s"), "{}", r.body);
    assert!(r.body.contains("(role:read_only_admin)"), "{}", r.body);
    assert!(!r.body.contains("Every check passed"), "{}", r.body);
    assert!(
        t.state
            .app
            .find_connection("okta")
            .await
            .expect("find")
            .is_none(),
        "a timed-out test saves nothing"
    );

    // The API says the same: 422 with the report, not a 500.
    let mut api = t.token_client(Role::Admin).await;
    let r = api
        .api(
            Method::POST,
            "/api/v1/connections",
            Some(json!({
                "name": "okta",
                "domain": creds.domain,
                "client_id": creds.client_id,
                "private_key": creds.private_key_jwk.to_string(),
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let j = r.json();
    assert_eq!(j["saved"], false);
    let last = j["report"]["checks"]
        .as_array()
        .and_then(|c| c.last())
        .expect("checks")
        .clone();
    assert_eq!(last["id"], "role:read_only_admin", "{last}");
    assert_eq!(last["status"], "fail");
    assert!(
        last["detail"]
            .as_str()
            .is_some_and(|d| d.contains("timed out")),
        "{last}"
    );
}
