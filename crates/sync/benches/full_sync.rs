//! Full and incremental sync of a large org against okta-sim with Okta's Workforce rate
//! limits: how close the engine gets to what the limits allow.
//!
//! ```sh
//! cargo bench -p steward-sync --bench full_sync
//! STEWARD_BENCH_USERS=10000 STEWARD_BENCH_GROUPS=500 STEWARD_BENCH_APPS=50 \
//!   cargo bench -p steward-sync --bench full_sync          # a quick run
//! ```
//!
//! Settings (environment): `STEWARD_BENCH_USERS` (100000), `STEWARD_BENCH_GROUPS` (5000),
//! `STEWARD_BENCH_APPS` (500), `STEWARD_BENCH_LOG_DAYS` (90; also the days the sync reads),
//! `STEWARD_BENCH_LOG_EVENTS_PER_DAY` (the simulator's default), `STEWARD_BENCH_COMPRESSION`
//! (60: rate-limit windows of 1 s), `STEWARD_BENCH_CHURN_PERCENT` (1),
//! `STEWARD_BENCH_SIM` (the okta-sim binary; default `target/release/okta-sim`, built with
//! `cargo build --release -p okta-sim` when missing), `STEWARD_TEST_POSTGRES_URL` (adds the
//! PostgreSQL row), `STEWARD_BENCH_SKIP_UNLIMITED=1` (skips the rate-limits-off part),
//! `STEWARD_BENCH_ONLY_UNLIMITED=1` (runs only that part).
//!
//! The simulator runs as a separate process so that the peak memory (`VmHWM`, reset through
//! `/proc/self/clear_refs` before each sync) is the sync's own.
//!
//! Figures:
//! - the rate-limit lower bound: for each bucket, the fewest requests any client needs at the
//!   largest page sizes (from the simulator's ground truth, `GET /__sim/snapshot`), divided by
//!   the rate one app may use (`per_minute` × app share / window); the largest over buckets;
//! - wall time of the full sync and its ratio to that bound; requests used against the
//!   fewest possible; 429s (goal 0); peak memory;
//! - an incremental sync after `STEWARD_BENCH_CHURN_PERCENT`% of the users in random changes,
//!   as a fraction of the full sync's requests (goal ≤ 3%);
//! - with rate limits off: inventory rows written per second into SQLite (and PostgreSQL).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use okta_client::{ClientId, OktaClient, OktaConfig, OktaDomain, PrivateKeyInput};
use okta_sim::ratelimit::RateLimitConfig;
use okta_sim::ratelimit::pattern::PathPattern;
use serde_json::{Value, json};
use steward_store::Store;
use steward_sync::{SyncConfig, SyncReport, Syncer, SystemClock};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const CONN: i64 = 1;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

struct Settings {
    users: usize,
    groups: usize,
    apps: usize,
    log_days: u32,
    log_events_per_day: Option<usize>,
    compression: f64,
    churn_percent: f64,
}

/// okta-sim in its own process, killed on drop.
struct SimProcess {
    child: Child,
    base_url: String,
    credentials: Value,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sim_binary() -> Res<PathBuf> {
    if let Ok(p) = std::env::var("STEWARD_BENCH_SIM") {
        return Ok(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let bin = target.join("release").join("okta-sim");
    if !bin.exists() {
        eprintln!("building okta-sim (release)…");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "okta-sim"])
            .current_dir(workspace_root())
            .status()?;
        if !status.success() {
            return Err("cargo build --release -p okta-sim failed".into());
        }
    }
    Ok(bin)
}

fn start_sim(s: &Settings, dir: &Path, rate_limits: &str) -> Res<SimProcess> {
    let creds = dir.join(format!("credentials-{rate_limits}.json"));
    let log = std::fs::File::create(dir.join(format!("okta-sim-{rate_limits}.log")))?;
    let mut cmd = Command::new(sim_binary()?);
    cmd.args(["--rate-limits", rate_limits])
        .args(["--time-compression", &s.compression.to_string()])
        .args(["--users", &s.users.to_string()])
        .args(["--groups", &s.groups.to_string()])
        .args(["--apps", &s.apps.to_string()])
        .args(["--log-days", &s.log_days.to_string()])
        .arg("--credentials-out")
        .arg(&creds)
        .env("RUST_LOG", "okta_sim=warn")
        .stdout(Stdio::piped())
        .stderr(log);
    if let Some(n) = s.log_events_per_day {
        cmd.args(["--log-events-per-day", &n.to_string()]);
    }
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base_url = loop {
        match lines.next() {
            Some(line) => {
                if let Some(url) = line?.strip_prefix("okta-sim listening on ") {
                    break url.trim().to_owned();
                }
            }
            None => {
                let _ = child.kill();
                return Err("okta-sim exited before listening (see its log)".into());
            }
        }
    };
    let credentials: Value = serde_json::from_slice(&std::fs::read(&creds)?)?;
    eprintln!(
        "okta-sim ({rate_limits}) ready at {base_url} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(SimProcess {
        child,
        base_url,
        credentials,
    })
}

fn client(sim: &SimProcess, compression: f64) -> Res<OktaClient> {
    let c = &sim.credentials;
    let s = |k: &str| c[k].as_str().ok_or(format!("credentials: no {k}"));
    let key = PrivateKeyInput::parse(s("private_key_pem")?, Some(s("kid")?))?;
    let domain = OktaDomain::parse(s("domain")?, true)?;
    let id = ClientId::parse(s("client_id")?)?;
    let mut config = OktaConfig::new(domain, id, key);
    if let Some(scopes) = c["scopes"].as_array() {
        config.scopes = scopes
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    // Okta's windows last 60 s; the simulator's are compressed like its limits.
    config.transport.rate_limit_window = Duration::from_secs_f64(60.0 / compression);
    Ok(OktaClient::new(config)?)
}

async fn control(
    sim: &SimProcess,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Res<Value> {
    let mut req = reqwest::Client::new().request(method, format!("{}/__sim/{path}", sim.base_url));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    if !resp.status().is_success() {
        return Err(format!("/__sim/{path}: HTTP {}", resp.status()).into());
    }
    Ok(resp.json().await?)
}

/// Peak resident memory (VmHWM) in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); false when not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Full syncs with the simulator's rate limits off: (database, rows, wall, requests).
async fn unlimited(s: &Settings, dir: &Path, sim: &SimProcess) -> Res<Vec<Speed>> {
    let mut speed: Vec<Speed> = Vec::new();
    control(
        sim,
        reqwest::Method::PUT,
        "rate-limits",
        Some(json!({"preset": "off"})),
    )
    .await?;
    eprintln!("full sync into SQLite, rate limits off…");
    let store = sqlite_store(dir, "unlimited").await?;
    let (r, wall) = sync(client(sim, s.compression)?, store.clone(), s.log_days, true).await?;
    let rows = inventory_rows(&store.counts(CONN).await?);
    speed.push(("SQLite".into(), rows, wall, r.stats.requests));
    store.close().await;
    if let Ok(base) = std::env::var("STEWARD_TEST_POSTGRES_URL") {
        eprintln!("full sync into PostgreSQL, rate limits off…");
        let (schema, url) = pg_schema(&base).await?;
        let outcome = async {
            let store = Store::connect(&url).await?;
            let (r, wall) =
                sync(client(sim, s.compression)?, store.clone(), s.log_days, true).await?;
            let rows = inventory_rows(&store.counts(CONN).await?);
            store.close().await;
            Ok::<_, Box<dyn std::error::Error>>((rows, wall, r.stats.requests))
        }
        .await;
        drop_pg_schema(&base, &schema).await?;
        let (rows, wall, requests) = outcome?;
        speed.push(("PostgreSQL".into(), rows, wall, requests));
    }
    Ok(speed)
}

type Speed = (String, i64, Duration, i64);

fn print_speed(speed: &[Speed]) {
    for (db, rows, wall, requests) in speed {
        println!(
            "{:<44} {rows} rows in {:.1} s = {:.0} rows/s ({requests} requests)",
            format!("rate limits off, into {db}"),
            wall.as_secs_f64(),
            *rows as f64 / wall.as_secs_f64().max(f64::EPSILON)
        );
    }
}

async fn sync(
    client: OktaClient,
    store: Store,
    log_days: u32,
    full: bool,
) -> Res<(SyncReport, Duration)> {
    let config = SyncConfig {
        log_days,
        ..SyncConfig::for_client(&client)
    };
    let syncer = Syncer::new(client, store, CONN, config, Arc::new(SystemClock));
    let t = Instant::now();
    let report = if full {
        syncer.full().await?
    } else {
        syncer.incremental().await?
    };
    Ok((report, t.elapsed()))
}

/// One rate-limit bucket's share of the lower bound.
struct Bound {
    bucket: String,
    fewest: u64,
    per_second: f64,
}

/// The length of a JSON array, counted without keeping its elements: the ground truth of a
/// 100k-user org parsed into `serde_json::Value` takes hundreds of MiB, which the allocator
/// keeps after it is dropped and which would then show in the next sync's peak memory.
#[derive(Default)]
struct Len(u64);

impl<'de> serde::Deserialize<'de> for Len {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counter;
        impl<'de> serde::de::Visitor<'de> for Counter {
            type Value = Len;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Len, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Len(n))
            }
        }
        d.deserialize_seq(Counter)
    }
}

/// What the lower bound needs of the simulator's ground truth (`GET /__sim/snapshot`).
#[derive(serde::Deserialize)]
struct Truth {
    #[serde(default)]
    users: Len,
    groups: Vec<TruthGroup>,
    apps: Vec<TruthApp>,
}

#[derive(serde::Deserialize)]
struct TruthGroup {
    #[serde(default)]
    members: Len,
}

#[derive(serde::Deserialize)]
struct TruthApp {
    #[serde(default)]
    users: Len,
    #[serde(default)]
    groups: Len,
}

async fn truth(sim: &SimProcess) -> Res<Truth> {
    let resp = reqwest::get(format!("{}/__sim/snapshot", sim.base_url)).await?;
    if !resp.status().is_success() {
        return Err(format!("/__sim/snapshot: HTTP {}", resp.status()).into());
    }
    Ok(serde_json::from_slice(&resp.bytes().await?)?)
}

/// The fewest requests per bucket at the largest page sizes, from the ground truth.
fn lower_bound(truth: &Truth, sso_events: u64, limits: &RateLimitConfig) -> Res<Vec<Bound>> {
    let pages = |n: u64, size: u64| n.div_ceil(size);
    let users = truth.users.0;
    let groups = &truth.groups;
    let apps = &truth.apps;
    let members: u64 = groups
        .iter()
        .map(|g| g.members.0)
        .filter(|m| *m > 0)
        .map(|m| pages(m, 1000))
        .sum();
    let app_users: u64 = apps.iter().map(|a| pages(a.users.0, 500).max(1)).sum();
    let app_groups: u64 = apps.iter().map(|a| pages(a.groups.0, 200).max(1)).sum();
    // A representative path of each listing, and its fewest requests.
    let needs = [
        ("/api/v1/users", pages(users, 200)),
        ("/api/v1/groups", pages(groups.len() as u64, 10_000)),
        ("/api/v1/groups/00g/users", members),
        ("/api/v1/apps", pages(apps.len() as u64, 200)),
        ("/api/v1/apps/0oa/users", app_users),
        ("/api/v1/apps/0oa/groups", app_groups),
        ("/api/v1/logs", pages(sso_events, 1000).max(1)),
    ];
    let mut by_bucket: BTreeMap<String, Bound> = BTreeMap::new();
    for (path, n) in needs {
        let spec = limits
            .buckets
            .iter()
            .find(|b| {
                (b.methods.is_empty() || b.methods.iter().any(|m| m == "GET"))
                    && PathPattern::parse(&b.pattern).is_ok_and(|p| p.matches(path))
            })
            .ok_or(format!("no rate-limit bucket for {path}"))?;
        let window_s = 60.0 / limits.time_compression;
        let per_second =
            f64::from(spec.per_minute) * f64::from(limits.app_share_percent) / 100.0 / window_s;
        by_bucket
            .entry(spec.name.clone())
            .or_insert(Bound {
                bucket: spec.name.clone(),
                fewest: 0,
                per_second,
            })
            .fewest += n;
    }
    Ok(by_bucket.into_values().collect())
}

/// Requests and 429s per bucket from the simulator's request log since `after`.
async fn used_by_bucket(sim: &SimProcess, after: u64) -> Res<BTreeMap<String, (u64, u64)>> {
    let log = control(
        sim,
        reqwest::Method::GET,
        &format!("requests?after={after}"),
        None,
    )
    .await?;
    let mut used: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in log["requests"].as_array().ok_or("requests")? {
        let bucket = r["bucket"].as_str().unwrap_or("(none)").to_owned();
        let e = used.entry(bucket).or_default();
        e.0 += 1;
        if r["status"] == 429 {
            e.1 += 1;
        }
    }
    Ok(used)
}

/// The kind of request a path is: `/api/v1/apps/{id}/users` → `apps/{id}/users`.
fn resource_of(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            1 => "{id}",
            _ if i % 2 == 1 => "{sub}",
            _ => p,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Requests (429s and retries included) per kind of request since `after`.
async fn used_by_resource(sim: &SimProcess, after: u64) -> Res<BTreeMap<String, u64>> {
    let log = control(
        sim,
        reqwest::Method::GET,
        &format!("requests?after={after}"),
        None,
    )
    .await?;
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    for r in log["requests"].as_array().ok_or("requests")? {
        let uri = r["uri"].as_str().unwrap_or_default();
        if uri.starts_with("/api/") {
            *used.entry(resource_of(uri)).or_default() += 1;
        }
    }
    Ok(used)
}

fn breakdown(used: &BTreeMap<String, u64>) -> String {
    used.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn last_seq(sim: &SimProcess) -> Res<u64> {
    let v = control(
        sim,
        reqwest::Method::GET,
        "requests?after=18446744073709551615",
        None,
    )
    .await?;
    Ok(v["last_seq"].as_u64().unwrap_or(0))
}

fn inventory_rows(counts: &steward_store::queries::Counts) -> i64 {
    [
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "sso_events",
    ]
    .iter()
    .map(|t| counts.rows.get(*t).copied().unwrap_or(0))
    .sum()
}

async fn sqlite_store(dir: &Path, name: &str) -> Res<Store> {
    let sub = dir.join(name);
    std::fs::create_dir_all(&sub)?;
    Ok(Store::connect(&steward_store::default_sqlite_url(&sub)).await?)
}

/// A fresh schema on `base` and the URL selecting it.
async fn pg_schema(base: &str) -> Res<(String, String)> {
    use sqlx::{Connection as _, Executor as _};
    let schema = format!("steward_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await?;
    let _ = admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok((
        schema.clone(),
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
    ))
}

async fn drop_pg_schema(base: &str, schema: &str) -> Res<()> {
    use sqlx::{Connection as _, Executor as _};
    let mut admin = sqlx::PgConnection::connect(base).await?;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await?;
    let _ = admin.close().await;
    Ok(())
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let s = Settings {
        users: env_or("STEWARD_BENCH_USERS", 100_000),
        groups: env_or("STEWARD_BENCH_GROUPS", 5_000),
        apps: env_or("STEWARD_BENCH_APPS", 500),
        log_days: env_or("STEWARD_BENCH_LOG_DAYS", 90),
        log_events_per_day: std::env::var("STEWARD_BENCH_LOG_EVENTS_PER_DAY")
            .ok()
            .and_then(|v| v.parse().ok()),
        compression: env_or("STEWARD_BENCH_COMPRESSION", 60.0),
        churn_percent: env_or("STEWARD_BENCH_CHURN_PERCENT", 1.0),
    };
    let dir = std::env::temp_dir().join(format!("steward-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&s, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).ok().as_deref() == Some("1")
}

async fn run(s: &Settings, dir: &Path) -> Res<()> {
    let sim = start_sim(s, dir, "okta")?;
    if env_flag("STEWARD_BENCH_ONLY_UNLIMITED") {
        let speed = unlimited(s, dir, &sim).await?;
        println!();
        print_speed(&speed);
        return Ok(());
    }
    let summary = control(&sim, reqwest::Method::GET, "summary", None).await?;
    let limits_v = control(&sim, reqwest::Method::GET, "rate-limits", None).await?;
    let limits: RateLimitConfig = serde_json::from_value(limits_v["config"].clone())?;
    eprintln!("org: {summary}");

    // 1. Full sync under Okta's limits.
    let store = sqlite_store(dir, "limited").await?;
    let seq0 = last_seq(&sim).await?;
    let reset = reset_peak_rss();
    eprintln!("full sync under Okta's rate limits…");
    let (full, full_wall) = sync(
        client(&sim, s.compression)?,
        store.clone(),
        s.log_days,
        true,
    )
    .await?;
    let peak = peak_rss_mib();
    let used = used_by_bucket(&sim, seq0).await?;
    let full_by_resource = used_by_resource(&sim, seq0).await?;
    let counts = store.counts(CONN).await?;
    let bounds = lower_bound(
        &truth(&sim).await?,
        counts.sso_events.max(0) as u64,
        &limits,
    )?;

    // 2. Incremental after churn.
    let churn = ((s.users as f64) * s.churn_percent / 100.0)
        .round()
        .max(1.0) as u64;
    let applied = control(
        &sim,
        reqwest::Method::POST,
        "mutations/random",
        Some(json!({"count": churn, "seed": 42})),
    )
    .await?;
    let applied = applied["applied"].as_array().map_or(0, Vec::len);
    eprintln!("incremental sync after {applied} changes…");
    let reset_incr = reset_peak_rss();
    let seq1 = last_seq(&sim).await?;
    let (incr, incr_wall) = sync(
        client(&sim, s.compression)?,
        store.clone(),
        s.log_days,
        false,
    )
    .await?;
    let incr_peak = peak_rss_mib();
    let incr_by_resource = used_by_resource(&sim, seq1).await?;
    store.close().await;

    // 3. Rate limits off: rows per second into each database.
    let speed = if env_flag("STEWARD_BENCH_SKIP_UNLIMITED") {
        Vec::new()
    } else {
        unlimited(s, dir, &sim).await?
    };

    // Report.
    let fewest: u64 = bounds.iter().map(|b| b.fewest).sum();
    let bound_s = bounds
        .iter()
        .map(|b| b.fewest as f64 / b.per_second)
        .fold(0.0, f64::max);
    let secs = |d: Duration| d.as_secs_f64();
    let mib = |m: Option<f64>, reset: bool| match m {
        Some(m) if reset => format!("{m:.0} MiB"),
        Some(m) => format!("{m:.0} MiB (since process start)"),
        None => "n/a".into(),
    };
    println!();
    println!(
        "steward-sync full_sync: {} users, {} groups, {} memberships, {} apps, {} user \
         assignments, {} group assignments, {} SSO events synced ({} log days); rate limits \
         okta_workforce, time compression {}",
        summary["users"]["total"],
        summary["groups"]["total"],
        summary["memberships"],
        summary["apps"]["total"],
        summary["app_user_assignments"]["total"],
        summary["app_group_assignments"],
        counts.sso_events,
        s.log_days,
        s.compression
    );
    println!();
    println!(
        "{:<36} {:>9} {:>9} {:>7} {:>10} {:>10}",
        "rate-limit bucket", "fewest", "used", "429s", "app rate/s", "bound (s)"
    );
    for b in &bounds {
        let (u, r) = used.get(&b.bucket).copied().unwrap_or((0, 0));
        println!(
            "{:<36} {:>9} {:>9} {:>7} {:>10.1} {:>10.1}",
            b.bucket,
            b.fewest,
            u,
            r,
            b.per_second,
            b.fewest as f64 / b.per_second
        );
    }
    for (bucket, (u, r)) in &used {
        if !bounds.iter().any(|b| &b.bucket == bucket) {
            println!("{bucket:<36} {:>9} {u:>9} {r:>7}", "-");
        }
    }
    println!();
    let row = |k: &str, v: String| println!("{k:<44} {v}");
    row("full sync wall time", format!("{:.1} s", secs(full_wall)));
    row("rate-limit lower bound", format!("{bound_s:.1} s"));
    row(
        "wall / lower bound",
        format!("{:.2}", secs(full_wall) / bound_s.max(f64::EPSILON)),
    );
    row(
        "requests used / fewest",
        format!(
            "{} / {} = {:.3}",
            full.stats.requests,
            fewest,
            full.stats.requests as f64 / fewest.max(1) as f64
        ),
    );
    row("429 answers (goal 0)", full.stats.rate_limited.to_string());
    row(
        "client-side rate-limit wait (sum over tasks)",
        format!("{:.1} s", full.stats.rate_limit_wait_ms as f64 / 1000.0),
    );
    row("peak memory of the full sync (VmHWM)", mib(peak, reset));
    row(
        &format!("incremental after {applied} changes ({}%)", s.churn_percent),
        format!(
            "{:.1} s, {} requests = {:.2}% of the full sync's (goal ≤ 3%), {} × 429, peak {}",
            secs(incr_wall),
            incr.stats.requests,
            100.0 * incr.stats.requests as f64 / full.stats.requests.max(1) as f64,
            incr.stats.rate_limited,
            mib(incr_peak, reset_incr)
        ),
    );
    row("full sync requests by kind", breakdown(&full_by_resource));
    row("incremental requests by kind", breakdown(&incr_by_resource));
    print_speed(&speed);
    Ok(())
}
