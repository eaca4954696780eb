//! Load benchmark of the web app on a large inventory:
//!
//! ```sh
//! cargo bench -p steward-web --bench web_load
//! ```
//!
//! Builds the app as `steward serve` runs it (`AppState::on_store` on a SQLite file),
//! connects okta-sim through the wizard over HTTP, seeds the inventory with
//! `WEB_LOAD_USERS` users (default 100,000) through `InventoryStore::upsert_users` (what a
//! full sync writes, without the sync's wait), signs in for a session cookie, then loads each
//! endpoint for `WEB_LOAD_SECS` seconds (default 10) over `WEB_LOAD_CONNECTIONS` connections
//! (default 16) and prints requests/s and p50/p95/p99 latency. The goal is p95 < 50 ms.
//!
//! The store refreshes the planner statistics itself when a sync run succeeds (`ANALYZE`
//! after a full run, see `Store::optimize`), so the seeding's `finish_run` does it here too;
//! `WEB_LOAD_ANALYZE=1` runs one more `ANALYZE` after seeding (it should change nothing). `WEB_LOAD_DIR=DIR` (a new directory) keeps the
//! database there for inspection.
//!
//! The load comes from `wrk` when it is on the PATH (`apt-get install -y wrk`; percentiles
//! from its Lua `done` hook), else from a built-in tokio/reqwest loop; `WEB_LOAD_TOOL=wrk`
//! or `builtin` chooses. The server, the database and the load generator share the machine,
//! so on a small machine the figures are a lower bound of what the app serves.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use okta_sim::{RunningSim, SimConfig};
use serde_json::json;
use steward_inventory::{InventoryStore, SyncKind, SyncStats, UserRecord};
use steward_web::{AppState, WebConfig, serve};

type BoxError = Box<dyn Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const FIRST: [&str; 24] = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "lara",
    "noah",
    "mei",
    "omar",
];
const LAST: [&str; 32] = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
];
const DEPARTMENTS: [&str; 12] = [
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Legal",
    "Support",
    "Operations",
    "Product",
    "Design",
    "People",
    "Security",
    "IT",
];
const STATUSES: [&str; 10] = [
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "ACTIVE",
    "SUSPENDED",
    "DEPROVISIONED",
    "PROVISIONED",
];

fn env_num(name: &str, default: u64) -> Res<u64> {
    match std::env::var(name) {
        Ok(v) => Ok(v
            .parse()
            .map_err(|e| format!("{name}={v:?} is not a number: {e}"))?),
        Err(_) => Ok(default),
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// User `i` of the seeded org: deterministic names, logins unique by a number suffix.
fn user(i: usize) -> UserRecord {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let login = format!("{first}.{last}{i}@acme.example.com");
    let department = DEPARTMENTS[i % DEPARTMENTS.len()];
    let status = STATUSES[i % STATUSES.len()];
    let base = Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).single();
    let at = |secs: i64| base.map(|b| b + chrono::Duration::seconds(secs));
    let i64i = i as i64;
    UserRecord {
        id: format!("00u{i:017}"),
        status: status.to_owned(),
        login: login.clone(),
        email: Some(login.clone()),
        first_name: Some(cap(first)),
        last_name: Some(cap(last)),
        department: Some(department.to_owned()),
        title: Some("Member of Staff".to_owned()),
        manager_id: None,
        employee_number: Some(format!("E{i:06}")),
        created: at(i64i * 60),
        status_changed: at(i64i * 60),
        last_login: at(86_400 * 700 + i64i * 7),
        last_updated: at(86_400 * 600 + i64i * 11),
        profile: json!({
            "login": login, "email": login, "firstName": cap(first), "lastName": cap(last),
            "department": department, "title": "Member of Staff",
            "employeeNumber": format!("E{i:06}"),
        }),
    }
}

/// A browser-like HTTP session: every `Set-Cookie` is kept and sent back.
struct Session {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Session {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
    }

    async fn get(&mut self, path: &str) -> Res<(u16, String)> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await?;
        self.keep_cookies(&r);
        Ok((r.status().as_u16(), r.text().await?))
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Res<(u16, String)> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await?;
        self.keep_cookies(&r);
        Ok((r.status().as_u16(), r.text().await?))
    }
}

/// The CSRF token of a page's first form.
fn csrf(page: &str) -> Res<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).ok_or("no CSRF field on the page")? + marker.len();
    let end = page[start..].find('"').ok_or("unterminated CSRF field")?;
    Ok(page[start..start + end].to_owned())
}

/// What the load runs against.
struct Setup {
    base: String,
    cookie: String,
    login: String,
    _sim: RunningSim,
    _state: AppState,
}

async fn setup(dir: &Path, users: usize) -> Res<Setup> {
    let t0 = Instant::now();
    let mut sim_config = SimConfig::small();
    sim_config.users = 5;
    sim_config.groups = 2;
    sim_config.apps = 1;
    sim_config.log_days = 1;
    let sim = RunningSim::start(sim_config)
        .await
        .map_err(|e| format!("okta-sim: {e:#}"))?;

    let url = format!("sqlite://{}?mode=rwc", dir.join("steward.db").display());
    let store = steward_store::Store::connect(&url).await?;
    let master = steward_store::MasterKey::generate()?;
    let state = AppState::on_store(WebConfig::dev(), store, master).await?;
    let admin = state
        .app
        .bootstrap_admin()
        .await?
        .ok_or("the database already had accounts")?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(state.clone(), listener, std::future::pending()));

    // Sign in and connect okta-sim through the wizard, as an admin would.
    let mut s = Session {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        base: base.clone(),
        cookies: Vec::new(),
    };
    let (_, page) = s.get("/login").await?;
    let token = csrf(&page)?;
    let password = admin.password.expose().to_owned();
    let (status, _) = s
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("username", &admin.username),
                ("password", &password),
                ("next", "/"),
            ],
        )
        .await?;
    if status != 303 {
        return Err(format!("login answered {status}").into());
    }
    let (_, page) = s.get("/settings/okta").await?;
    let token = csrf(&page)?;
    let key = sim.credentials.private_key_jwk.to_string();
    let (_, page) = s
        .post(
            "/settings/okta",
            &[
                ("csrf", &token),
                ("action", "save"),
                ("name", "okta"),
                ("domain", &sim.credentials.domain),
                ("client_id", &sim.credentials.client_id),
                ("dpop", "auto"),
                ("private_key", &key),
            ],
        )
        .await?;
    if !page.contains("Every check passed") {
        return Err("the wizard did not connect okta-sim".into());
    }

    // Seed the inventory as a full sync would write it.
    let conn = state.app.connection("okta").await?.id;
    let store = state.app.store();
    let run = store.start_run(conn, SyncKind::Full, Utc::now()).await?;
    let seeded = Instant::now();
    for chunk in (0..users).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<UserRecord> = chunk.iter().map(|&i| user(i)).collect();
        store.upsert_users(conn, run, &batch).await?;
    }
    let mut stats = SyncStats::default();
    stats.items.insert("users".into(), users as i64);
    store
        .finish_run(run, "succeeded", &stats, None, Utc::now())
        .await?;
    // WEB_LOAD_ANALYZE=1: an extra ANALYZE (finish_run above already ran one).
    if std::env::var("WEB_LOAD_ANALYZE").as_deref() == Ok("1") {
        store.raw_execute("ANALYZE").await?;
        eprintln!("ran ANALYZE");
    }
    eprintln!(
        "seeded {users} users in {:.1} s (setup {:.1} s)",
        seeded.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    Ok(Setup {
        base,
        cookie: s.cookie_header(),
        login: user(users / 2).login,
        _sim: sim,
        _state: state,
    })
}

/// One endpoint's figures.
struct Figures {
    requests: u64,
    secs: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
}

const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("STEWARD_WRK %d %d %f %f %f %f %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#;

fn run_wrk(script: &Path, url: &str, cookie: &str, conns: u64, secs: u64) -> Res<Figures> {
    let out = Command::new("wrk")
        .args([
            &format!("-t{}", conns.clamp(1, 2)),
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .args(["-H", &format!("Cookie: {cookie}"), url])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("STEWARD_WRK "))
        .ok_or_else(|| {
            format!(
                "wrk printed no figures: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let f: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [requests, micros, p50, p95, p99, max, errors] = f[..] else {
        return Err(format!("unexpected wrk figures: {line}").into());
    };
    Ok(Figures {
        requests: requests as u64,
        secs: micros / 1e6,
        p50_ms: p50 / 1e3,
        p95_ms: p95 / 1e3,
        p99_ms: p99 / 1e3,
        max_ms: max / 1e3,
        errors: errors as u64,
    })
}

async fn run_builtin(url: &str, cookie: &str, conns: u64, secs: u64) -> Res<Figures> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(conns as usize)
        .build()?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let url: Arc<str> = url.into();
    let cookie: Arc<str> = cookie.into();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (http, url, cookie) = (http.clone(), url.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = match http
                    .get(&*url)
                    .header(reqwest::header::COOKIE, &*cookie)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                lat.push(t.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (all.len() - 1) as f64).round() as usize;
        all[i.min(all.len() - 1)] as f64 / 1e3
    };
    Ok(Figures {
        requests: all.len() as u64,
        secs,
        p50_ms: pct(50.0),
        p95_ms: pct(95.0),
        p99_ms: pct(99.0),
        max_ms: pct(100.0),
        errors,
    })
}

/// Each endpoint answers 200 with the expected text before it is loaded.
async fn check(s: &Setup, endpoints: &[(String, String, Option<String>)]) -> Res<()> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for (label, path, expect) in endpoints {
        let r = http
            .get(format!("{}{path}", s.base))
            .header(reqwest::header::COOKIE, &s.cookie)
            .send()
            .await?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() {
            return Err(format!("{label} answered {status}: {body}").into());
        }
        if let Some(e) = expect
            && !body.contains(e.as_str())
        {
            return Err(format!("{label}: {e:?} not in the answer").into());
        }
    }
    Ok(())
}

fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .map(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false)
}

/// Removes the temporary directory on the way out.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> Res<()> {
    let users = env_num("WEB_LOAD_USERS", 100_000)? as usize;
    let secs = env_num("WEB_LOAD_SECS", 10)?;
    let conns = env_num("WEB_LOAD_CONNECTIONS", 16)?;
    let tool = match std::env::var("WEB_LOAD_TOOL").as_deref() {
        Ok("wrk") => "wrk",
        Ok("builtin") => "builtin",
        Ok(other) => return Err(format!("WEB_LOAD_TOOL={other:?}: use wrk or builtin").into()),
        Err(_) if have_wrk() => "wrk",
        Err(_) => "builtin",
    };
    // WEB_LOAD_DIR keeps the database (steward.db) there for inspection; it must be new.
    let (dir, _cleanup) = match std::env::var_os("WEB_LOAD_DIR") {
        Some(d) => (PathBuf::from(d), None),
        None => {
            let d = std::env::temp_dir().join(format!("steward-web-load-{}", std::process::id()));
            (d.clone(), Some(TempDir(d)))
        }
    };
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("figures.lua");
    std::fs::write(&script, WRK_SCRIPT)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let s = rt.block_on(setup(&dir, users))?;

    let last = &LAST[7];
    let prefix = &s.login[..s.login.len().min(12)];
    let endpoints: Vec<(String, String, Option<String>)> = vec![
        ("/users".into(), "/users".into(), None),
        (
            format!("/users?search={last}"),
            format!("/users?search={last}"),
            Some(cap(last)),
        ),
        (
            format!("/users?search=<login prefix {prefix}>"),
            format!("/users?search={prefix}"),
            Some(s.login.clone()),
        ),
        (
            "/users?search=<exact login>".into(),
            format!("/users?search={}", s.login),
            Some(s.login.clone()),
        ),
        ("/api/v1/users".into(), "/api/v1/users".into(), None),
        (
            format!("/api/v1/users?search={last}"),
            format!("/api/v1/users?search={last}"),
            Some(cap(last)),
        ),
    ];

    // Each endpoint answers 200 with what is expected before it is loaded.
    rt.block_on(check(&s, &endpoints))?;

    println!(
        "\nweb_load: {users} users, {conns} connections, {secs} s per endpoint, load by {tool}, \
         {} CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6}  p95<50ms",
        "endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    let mut missed = 0;
    for (label, path, _) in &endpoints {
        let url = format!("{}{path}", s.base);
        let f = if tool == "wrk" {
            run_wrk(&script, &url, &s.cookie, conns, secs)?
        } else {
            rt.block_on(run_builtin(&url, &s.cookie, conns, secs))?
        };
        let ok = f.p95_ms < 50.0 && f.errors == 0;
        if !ok {
            missed += 1;
        }
        println!(
            "{:<44} {:>8} {:>9.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6}  {}",
            label,
            f.requests,
            f.requests as f64 / f.secs,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.max_ms,
            f.errors,
            if ok { "yes" } else { "NO" }
        );
    }
    println!(
        "\n{} of {} endpoints meet p95 < 50 ms with no errors",
        endpoints.len() - missed,
        endpoints.len()
    );
    drop(s);
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}
