//! Headless Chromium over WebDriver: this test starts its own `chromedriver` on a free
//! port (in its own process group, killed with everything it started when the browser is
//! dropped) and opens one session with a fresh profile directory.
//!
//! Binaries: `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian's `chromium-driver`
//! and `chromium`), or `STEWARD_CHROMEDRIVER` / `STEWARD_CHROMIUM`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// How long to wait for a page or an element.
pub const WAIT: Duration = Duration::from_secs(60);

fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Where screenshots and page sources go: `target/e2e-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("e2e-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/e2e-artifacts");
    dir
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("addr").port()
}

/// `chromedriver` (and, through it, Chromium) started by this test.
struct Driver {
    child: Child,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in its own process group (pgid = its pid), and Chromium is
        // started inside it: end the group, then reap chromedriver.
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), uuid_like()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// One browser session, with a name for its artifacts and a step counter.
pub struct Browser {
    pub client: Client,
    name: String,
    step: u32,
    dir: PathBuf,
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. Panics (the test fails) when
    /// either is missing: only `STEWARD_E2E=0` skips these tests.
    pub async fn start(name: &str) -> Browser {
        let chromedriver = binary("STEWARD_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = binary("STEWARD_CHROMIUM", "/usr/bin/chromium");
        for (what, path, pkg) in [
            ("chromedriver", &chromedriver, "chromium-driver"),
            ("chromium", &chromium, "chromium"),
        ] {
            assert!(
                path.exists(),
                "{what} not found at {}: install it (apt-get install -y {pkg}), point \
                 STEWARD_{} at it, or set STEWARD_E2E=0 to skip the browser tests",
                path.display(),
                what.to_uppercase()
            );
        }
        let profile = TempDir::new("steward-e2e-profile");
        let port = free_port();
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().expect("start chromedriver");
        let driver = Driver {
            child,
            _profile: profile,
        };
        let url = format!("http://127.0.0.1:{port}");
        wait_until_up(&url).await;

        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--window-size=1280,1800",
            &format!("--user-data-dir={}", driver._profile.0.display()),
        ];
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": args,
            },
        }))
        .expect("capabilities");
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("open a WebDriver session in headless Chromium");
        Browser {
            client,
            name: name.to_owned(),
            step: 0,
            dir: artifacts_dir(),
            _driver: driver,
        }
    }

    /// Saves a screenshot (`<test>-NN-<what>.png`) and the page source next to it.
    pub async fn snap(&mut self, what: &str) -> PathBuf {
        self.step += 1;
        let base = format!("{}-{:02}-{what}", self.name, self.step);
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.dir.join(format!("{base}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(self.dir.join(format!("{base}.html")), html);
        }
        path
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits for an element by CSS selector.
    pub async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} within {WAIT:?}: {e}"))
    }

    /// Types `text` into the field `css` after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_css(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.wait_css(css).await.click().await.expect("click");
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.expect("text")
    }

    /// Scrolls the element into the middle of the viewport (for the next screenshot).
    pub async fn scroll_to(&self, css: &str) {
        let el = self.wait_css(css).await;
        let arg = serde_json::to_value(&el).expect("element reference");
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await
            .expect("scroll");
    }

    /// Waits until the current URL satisfies `ok` (a form submitted by a click may still
    /// be loading when the click returns).
    pub async fn wait_url(&self, ok: impl Fn(&url::Url) -> bool) -> url::Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.client.current_url().await.expect("url");
            if ok(&url) {
                return url;
            }
            assert!(Instant::now() < deadline, "still on {url} after {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Ends the WebDriver session (Chromium quits); chromedriver is killed on drop.
    pub async fn close(self) {
        let Browser {
            client, _driver, ..
        } = self;
        let _ = client.close().await;
        drop(_driver);
    }
}

async fn wait_until_up(url: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {url} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
