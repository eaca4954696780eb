//! `steward demo`: everything on one machine with no setup. Starts okta-sim in-process with
//! a seeded org (DPoP required, Okta's rate limits per window, with windows shortened by
//! `--time-compression`, 10 by default), creates the connection from its
//! credentials through the wizard's own path (the doctor runs first), runs the first full
//! sync with progress, then serves the web app and prints the URL and the admin login.
//!
//! Data lives in a fresh directory under `STEWARD_DATA_DIR` (or the system temp dir), so
//! every run starts clean and nothing outside it is touched.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use okta_client::DpopMode;
use okta_sim::{RunningSim, SimConfig};
use steward_app::Actor;
use steward_app::connections::ConnectionRequest;
use steward_app::syncs::Started;
use steward_inventory::SyncKind;
use steward_store::{MasterKey, Store};
use steward_web::WebConfig;
use zeroize::Zeroizing;

use crate::args::DemoArgs;
use crate::serve;

/// The connection's name.
const CONNECTION: &str = "okta-sim";

fn data_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os(steward_store::DATA_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let dir = base.join(format!("steward-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("while creating the data directory {}", dir.display()))?;
    Ok(dir)
}

/// `steward demo`.
pub async fn run(a: &DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = data_dir()?;
    println!("Data directory: {}", dir.display());

    let mut rate_limits = okta_sim::ratelimit::RateLimitConfig::okta_workforce();
    rate_limits.time_compression = a.time_compression;
    let window_ms = rate_limits.window_ms();
    let sim_config = SimConfig {
        users: a.users,
        groups: a.groups,
        apps: a.apps,
        log_days: a.log_days,
        dpop: okta_sim::DpopMode::Required,
        rate_limits,
        ..SimConfig::default()
    };
    println!(
        "Starting okta-sim: {} users, {} groups, {} apps, {} days of System Log…",
        a.users, a.groups, a.apps, a.log_days
    );
    if window_ms < 60_000 {
        println!(
            "Okta's rate limits apply per window of {:.1} s instead of 60 s \
             (--time-compression {}; 1 for Okta's real pace).",
            window_ms as f64 / 1000.0,
            a.time_compression
        );
    }
    let sim = RunningSim::start(sim_config)
        .await
        .context("while starting okta-sim")?;
    println!("okta-sim listening on {}", sim.base_url);

    let store = Store::connect(&steward_store::default_sqlite_url(&dir))
        .await
        .context("while opening the database")?;
    let master = MasterKey::load_or_create(&dir.join(steward_store::MASTER_KEY_FILE))
        .context("while creating the master key")?;
    let config = WebConfig {
        listen: a.listen,
        sync_log_days: a.log_days.clamp(1, 90),
        okta_rate_limit_window_ms: window_ms.unsigned_abs(),
        ..WebConfig::dev()
    };
    let state = serve::state_on(config, store, master).await?;
    let login = serve::print_bootstrap(&state)
        .await?
        .context("the fresh database already has accounts")?;

    println!("Connecting (the doctor checks every setup step)…");
    let creds = &sim.credentials;
    let request = ConnectionRequest {
        name: CONNECTION.to_owned(),
        domain: creds.domain.clone(),
        client_id: creds.client_id.clone(),
        private_key: Zeroizing::new(creds.private_key_jwk.to_string()),
        key_id: None,
        dpop: DpopMode::Auto,
        ca_cert_pem: None,
        allow_insecure_loopback: true,
        force: false,
    };
    let outcome = state
        .app
        .create_connection(&Actor::system("demo"), request, |_| {})
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))
        .context("while saving the connection")?;
    if outcome.connection.is_none() {
        for c in outcome
            .report
            .checks
            .iter()
            .filter(|c| c.status.as_str() != "pass")
        {
            eprintln!("  {}: {}", c.id, c.detail);
        }
        bail!("the doctor found a problem with okta-sim's connection");
    }
    println!("Connected: every check passed.");

    // The first sync runs as a job, like "Sync now": a runner of its own until it is done.
    let workers = state.app.spawn_workers();
    first_sync(&state).await?;
    workers.shutdown(Duration::from_secs(5)).await;

    serve::serve_until_ctrl_c(state, a.listen, |addr| {
        println!();
        println!("Steward is running at http://{addr}/");
        println!("Sign in with");
        println!("  username: {}", login.0);
        println!("  password: {}", login.1);
        println!("(shown only now; Ctrl-C stops the demo)");
    })
    .await?;
    drop(sim);
    Ok(ExitCode::SUCCESS)
}

/// Runs the first full sync through "Sync now"'s path (a queued job), printing progress
/// every second.
async fn first_sync(state: &steward_web::AppState) -> anyhow::Result<()> {
    println!("First full sync…");
    let app = &state.app;
    let started = app
        .start_sync(&Actor::system("demo"), CONNECTION, SyncKind::Full)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))
        .context("while starting the first sync")?;
    if started != Started::Started {
        bail!("a sync of {CONNECTION} is already running");
    }
    let id = app
        .connection(CONNECTION)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))?
        .id;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(live) = app.syncs().status(id) else {
            continue;
        };
        let items: Vec<String> = live.items.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "  {}: {} · {} requests, {} rate-limited",
            live.state,
            items.join(", "),
            live.requests,
            live.rate_limited
        );
        match live.state.as_str() {
            "queued" | "running" => {}
            "succeeded" => return Ok(()),
            _ => bail!(
                "the first sync failed: {}",
                live.error.unwrap_or_else(|| "unknown error".into())
            ),
        }
    }
}
