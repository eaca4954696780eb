//! End-to-end tests in a real headless Chromium driven over WebDriver (fantoccini +
//! chromedriver): okta-sim runs in-process, the web app serves on `127.0.0.1:0` with a
//! first-run admin, and the browser signs in and uses the pages as an admin would.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y
//! chromium chromium-driver`; `.ci/run` installs them). `STEWARD_E2E=0` skips every test
//! here; otherwise a missing browser fails the test. Screenshots and page sources of each
//! step go to `target/e2e-artifacts/`.

mod browser;
mod inventory;
mod wizard;

use std::path::PathBuf;

use okta_sim::{RunningSim, SimConfig};
use serde_json::Value;
use steward_web::{AppState, Clock, WebConfig, serve};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use browser::{Browser, TempDir};

/// True (and says why) when `STEWARD_E2E=0`: the only way these tests skip.
pub fn skipped() -> bool {
    if std::env::var("STEWARD_E2E").as_deref() == Ok("0") {
        eprintln!("e2e browser test skipped: STEWARD_E2E=0");
        return true;
    }
    false
}

/// One browser at a time: the machines running these have few cores.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// okta-sim with its credentials file, and the web app with a first-run admin.
pub struct Env {
    pub sim: RunningSim,
    /// Written exactly as `okta-sim --credentials-out` writes it.
    pub credentials_file: PathBuf,
    /// The web app's base URL.
    pub base: String,
    pub admin_user: String,
    pub admin_password: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// The scheduler and job runner, as `steward serve` runs them.
    _workers: steward_app::jobs::Workers,
    _dir: TempDir,
}

/// Where the web app keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// `AppState::in_memory`: a private in-memory SQLite database.
    Memory,
    /// `AppState::on_store` on a SQLite file, as `steward serve` runs: adds the inventory,
    /// "Sync now" and the users pages.
    Sqlite,
}

impl Env {
    pub async fn start(storage: Storage) -> Env {
        let mut config = SimConfig::small();
        config.users = 40;
        config.groups = 6;
        config.apps = 3;
        config.log_days = 1;
        let sim = RunningSim::start(config).await.expect("okta-sim starts");
        let dir = TempDir::new("steward-e2e");
        let credentials_file = dir.0.join("okta-sim-credentials.json");
        okta_sim::credentials::write_file(&credentials_file, &sim.credentials)
            .expect("write the credentials file");

        let state = match storage {
            Storage::Memory => AppState::in_memory(WebConfig::dev(), Clock::system())
                .await
                .expect("state in memory"),
            Storage::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.0.join("steward.db").display());
                let store = steward_store::Store::connect(&url).await.expect("store");
                let master = steward_store::MasterKey::generate().expect("master key");
                AppState::on_store(WebConfig::dev(), store, master)
                    .await
                    .expect("state on the store")
            }
        };
        let admin = state
            .app
            .bootstrap_admin()
            .await
            .expect("bootstrap")
            .expect("first run creates admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let workers = state.app.spawn_workers();
        let server = tokio::spawn(serve(state, listener, async {
            let _ = stopped.await;
        }));
        Env {
            sim,
            credentials_file,
            base,
            admin_user: admin.username,
            admin_password: admin.password.expose().to_owned(),
            stop: Some(stop),
            server: Some(server),
            _workers: workers,
            _dir: dir,
        }
    }

    /// The credentials file, read back as an admin would open it.
    pub fn credentials(&self) -> Value {
        let text = std::fs::read_to_string(&self.credentials_file).expect("read credentials");
        serde_json::from_str(&text).expect("credentials JSON")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("join").expect("served");
        }
    }
}

/// Signs in through the login form (from `/`, which redirects there) and lands on `/`.
pub async fn sign_in(b: &mut Browser, env: &Env) {
    b.goto(&env.url("/")).await;
    b.wait_css("form[action='/login'] #username").await;
    assert_eq!(b.path().await, "/login");
    b.snap("login").await;
    b.fill("#username", &env.admin_user).await;
    b.fill("#password", &env.admin_password).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.wait_css("form.logout").await;
    assert_eq!(b.path().await, "/", "signed in and back on the overview");
    b.snap("signed-in").await;
}
