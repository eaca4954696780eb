//! The `okta-sim` binary: argument parsing only; everything else lives in the library.

use anyhow::Context;
use clap::Parser;
use okta_sim::config::{DpopMode, MissingRoleBehaviour, SimConfig};
use okta_sim::ratelimit::RateLimitConfig;
use okta_sim::{RunningSim, ServeOptions};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A faithful Okta org simulator (auth server, management API, System Log, rate limits, faults).
#[derive(Debug, Parser)]
#[command(name = "okta-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed of the org generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of users.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Number of groups (besides Everyone).
    #[arg(long, default_value_t = 100)]
    groups: usize,
    /// Number of apps.
    #[arg(long, default_value_t = 30)]
    apps: usize,
    /// Days of System Log history.
    #[arg(long, default_value_t = 30)]
    log_days: u32,
    /// Generated System Log events per day (default: a quarter of the users, 50 to 5000).
    #[arg(long)]
    log_events_per_day: Option<usize>,
    /// DPoP setting of the generated API Services app.
    #[arg(long, default_value = "required", value_parser = parse_dpop)]
    dpop: DpopMode,
    /// Scopes granted to the generated app (space or comma separated).
    #[arg(long)]
    scopes: Option<String>,
    /// Admin roles of the generated app (comma or space separated).
    #[arg(long)]
    roles: Option<String>,
    /// `okta` (Okta's published Workforce limits), `off`, or a JSON file with other figures.
    #[arg(long, default_value = "okta")]
    rate_limits: String,
    /// Run rate-limit windows this many times faster (same counts, shorter windows).
    #[arg(long, default_value_t = 1.0)]
    time_compression: f64,
    /// What list endpoints answer without the admin role: `okta` (200 [] on /users and /apps,
    /// 403 E0000006 elsewhere, as reported of real Okta) or `forbidden` (403 everywhere).
    #[arg(long, default_value = "okta", value_parser = parse_missing_role)]
    missing_role: MissingRoleBehaviour,
    /// Serve HTTPS with a generated self-signed certificate.
    #[arg(long)]
    tls: bool,
    /// Write the generated app's credentials (JSON, mode 0600) to this file.
    #[arg(long)]
    credentials_out: Option<PathBuf>,
}

fn parse_dpop(s: &str) -> Result<DpopMode, String> {
    DpopMode::parse(s).ok_or_else(|| format!("`{s}`: use `required` or `optional`"))
}

fn parse_missing_role(s: &str) -> Result<MissingRoleBehaviour, String> {
    match s {
        "okta" => Ok(MissingRoleBehaviour::OktaLike),
        "forbidden" => Ok(MissingRoleBehaviour::AlwaysForbidden),
        _ => Err(format!("`{s}`: use `okta` or `forbidden`")),
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "okta_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut rate_limits = match args.rate_limits.as_str() {
        "okta" => RateLimitConfig::okta_workforce(),
        "off" => RateLimitConfig::off(),
        path => RateLimitConfig::from_file(std::path::Path::new(path))
            .with_context(|| format!("--rate-limits {path}"))?,
    };
    rate_limits.time_compression = args.time_compression;
    let mut config = SimConfig {
        seed: args.seed,
        users: args.users,
        groups: args.groups,
        apps: args.apps,
        log_days: args.log_days,
        log_events_per_day: args.log_events_per_day,
        dpop: args.dpop,
        rate_limits,
        missing_role: args.missing_role,
        ..SimConfig::default()
    };
    if let Some(s) = &args.scopes {
        config.scopes = split_list(s);
    }
    if let Some(r) = &args.roles {
        config.roles = split_list(r);
    }
    let sim = RunningSim::start_with(
        config,
        ServeOptions {
            listen: args.listen,
            tls: args.tls,
        },
    )
    .await?;
    if let Some(path) = &args.credentials_out {
        if let Some(ca) = sim.write_credentials(path)? {
            eprintln!("okta-sim CA certificate written to {}", ca.display());
        }
        eprintln!("okta-sim credentials written to {}", path.display());
    }
    eprintln!(
        "okta-sim generated {} users, {} groups, {} apps in {:.2?}",
        args.users, args.groups, args.apps, sim.generation_time
    );
    println!("okta-sim listening on {}", sim.base_url);
    tokio::signal::ctrl_c().await.ok();
    sim.stop().await;
    Ok(())
}
