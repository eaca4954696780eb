//! End to end on a real listener: okta-sim, steward-store (in-memory SQLite), the web app.
//! Connect through the wizard, "Sync now", wait, then find a user by login and see their
//! groups and apps; CSRF and roles on Sync now; the private key in no response.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use okta_sim::{RunningSim, SimConfig};
use reqwest::header;
use serde_json::Value;
use steward_store::{MasterKey, Store};
use steward_web::{AppState, WebConfig, serve};

use super::{PASSWORD, TestApp};

/// A browser over HTTP: cookies, and every response body kept.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    transcript: Vec<String>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            transcript: Vec::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, String, String) {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let resp = req
            .header(header::COOKIE, cookie.join("; "))
            .send()
            .await
            .expect("request");
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ascii");
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').expect("pair");
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.text().await.expect("body");
        self.transcript.push(body.clone());
        (status, location, body)
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        let (s, _, b) = self.send(self.http.get(url)).await;
        (s, b)
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let url = format!("{}{path}", self.base);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    async fn login(&mut self, user: &str) {
        let (_, page) = self.get("/login").await;
        let csrf = csrf_in(&page);
        let (s, _, _) = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", user),
                    ("password", PASSWORD),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(s, 303, "login");
    }
}

fn csrf_in(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let end = page[start..].find('"').expect("end");
    page[start..start + end].to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A live user with at least one group and one app, from the simulator's ground truth:
/// (id, login, group names, app labels).
fn pick_user(truth: &Value) -> (String, String, Vec<String>, Vec<String>) {
    let arr = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for u in arr(&truth["users"]) {
        let id = u["id"].as_str().unwrap_or_default().to_owned();
        let has = |list: &Value, key: &str| {
            arr(list)
                .iter()
                .any(|m| m.as_str() == Some(&id) || m[key].as_str() == Some(&id))
        };
        let groups: Vec<String> = arr(&truth["groups"])
            .iter()
            .filter(|g| has(&g["members"], "id"))
            .filter_map(|g| g["name"].as_str().map(str::to_owned))
            .collect();
        let apps: Vec<String> = arr(&truth["apps"])
            .iter()
            .filter(|a| has(&a["users"], "id"))
            .filter_map(|a| a["label"].as_str().map(str::to_owned))
            .collect();
        if !groups.is_empty() && !apps.is_empty() {
            let login = u["login"].as_str().unwrap_or_default().to_owned();
            return (id, login, groups, apps);
        }
    }
    panic!("no user with groups and apps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_and_browse_the_inventory() {
    let sim = RunningSim::start(SimConfig {
        users: 300,
        groups: 20,
        apps: 6,
        log_days: 3,
        ..SimConfig::default()
    })
    .await
    .expect("okta-sim");
    let creds = &sim.credentials;
    let d = creds.private_key_jwk["d"].as_str().expect("d").to_owned();

    let store = Store::connect("sqlite::memory:").await.expect("store");
    let config = WebConfig {
        sync_log_days: 3,
        ..WebConfig::dev()
    };
    let master = MasterKey::generate().expect("master");
    let state = AppState::on_store(config, store, master)
        .await
        .expect("state");
    let t = TestApp::with_state(state).await;
    // "Sync now" queues a job: run them as `steward serve` does.
    let _workers = t.state.app.spawn_workers();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(t.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let mut b = Browser::new(&format!("http://{addr}"));
    b.login("admin").await;

    // Before any connection: the pages say so.
    let (s, page) = b.get("/users").await;
    assert_eq!(s, 200);
    assert!(page.contains("No Okta org is connected yet"), "{page}");

    // The wizard saves the connection (every check passes).
    let (_, page) = b.get("/settings/okta").await;
    let csrf = csrf_in(&page);
    let jwk = creds.private_key_jwk.to_string();
    let (s, _, page) = b
        .post(
            "/settings/okta",
            &[
                ("csrf", &csrf),
                ("action", "save"),
                ("name", "okta"),
                ("domain", &creds.domain),
                ("client_id", &creds.client_id),
                ("dpop", "auto"),
                ("private_key", &jwk),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("Every check passed"), "{page}");

    // Sync now needs the CSRF token, and the admin role.
    let (s, _, _) = b.post("/sync", &[("connection", "okta")]).await;
    assert_eq!(s, 403, "Sync now without CSRF");
    let mut viewer = Browser::new(&format!("http://{addr}"));
    viewer.login("viewer").await;
    let (_, home) = viewer.get("/").await;
    assert!(!home.contains("Sync now"), "no button for a viewer");
    let vcsrf = csrf_in(&home);
    let (s, _, _) = viewer
        .post("/sync", &[("csrf", &vcsrf), ("connection", "okta")])
        .await;
    assert_eq!(s, 403, "a viewer can't sync");

    let (_, home) = b.get("/").await;
    assert!(home.contains("Sync now"), "{home}");
    let (s, location, _) = b
        .post(
            "/sync",
            &[("csrf", &csrf), ("connection", "okta"), ("kind", "full")],
        )
        .await;
    assert_eq!((s, location.as_str()), (303, "/sync?connection=okta"));

    // Wait for the run, watching the progress endpoint and the page.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (s, body) = b.get("/api/v1/connections/okta/sync").await;
        assert_eq!(s, 200, "{body}");
        let j: Value = serde_json::from_str(&body).expect("JSON");
        match j["live"]["state"].as_str() {
            Some("succeeded") => break,
            Some("queued" | "running") => {
                let (_, page) = b.get("/sync?connection=okta").await;
                assert!(
                    page.contains("http-equiv=\"refresh\""),
                    "the page reloads itself"
                );
            }
            other => panic!("sync state {other:?}: {j}"),
        }
        assert!(Instant::now() < deadline, "the sync did not finish");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let (id, login, groups, apps) = pick_user(&okta_sim::control::truth::snapshot_of(
        &sim.state.org.read(),
    ));
    let prefix: String = login.chars().take(login.len() - 2).collect();
    let search = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", &prefix.to_uppercase())
        .finish();
    let (s, page) = b.get(&format!("/users?{search}")).await;
    assert_eq!(s, 200);
    assert!(
        page.contains(&escape(&login)),
        "{login} not found by {prefix}"
    );
    assert!(page.contains(&format!("/users/{id}?connection=okta")));

    let (s, page) = b.get(&format!("/users/{id}")).await;
    assert_eq!(s, 200);
    for g in &groups {
        assert!(page.contains(&escape(g)), "group {g} on the user page");
    }
    for a in &apps {
        assert!(page.contains(&escape(a)), "app {a} on the user page");
    }
    let (s, body) = b.get(&format!("/api/v1/users?{search}")).await;
    assert_eq!(s, 200);
    let j: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        j["page"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|u| u["id"] == id.as_str())
    );

    // The other pages render.
    for path in [
        "/",
        "/groups",
        "/apps",
        "/sync",
        "/api/v1/groups",
        "/api/v1/apps",
        "/api/v1/sync-runs",
    ] {
        let (s, body) = b.get(path).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let (_, page) = b.get("/apps").await;
    assert!(page.contains(&escape(&apps[0])));
    let (_, page) = b.get("/groups").await;
    assert!(
        page.contains("Members") || page.contains(&escape(&groups[0])) || page.contains("Next")
    );
    let (_, dash) = b.get("/").await;
    assert!(
        dash.contains("rate-limited (429)") && dash.contains("Next scheduled sync"),
        "{dash}"
    );

    for (i, body) in b.transcript.iter().chain(&viewer.transcript).enumerate() {
        assert!(
            !body.contains(&d),
            "the private key's d appears in response {i}"
        );
        assert!(
            !body.contains("PRIVATE KEY"),
            "a PEM key appears in response {i}"
        );
    }
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}
