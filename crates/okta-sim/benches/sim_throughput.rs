//! okta-sim benchmarks (run with `cargo bench -p okta-sim --bench sim_throughput`):
//!
//! 1. generation time and peak memory (VmHWM) of a 100k-user org;
//! 2. requests per second on loopback with rate limits off, per endpoint, with a keep-alive
//!    load generator of 64 concurrent connections in the same process (so the figure is a lower
//!    bound: the load generator shares the 2 cores).
//!
//! Sizes can be changed with `SIM_BENCH_USERS` and `SIM_BENCH_SECS`.

use chrono::TimeDelta;
use okta_sim::auth::IssuedToken;
use okta_sim::{RunningSim, SimConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn load(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    secs: u64,
    conns: usize,
) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
        let (done, errors) = (done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match client
                    .get(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        done.load(Ordering::Relaxed) as f64 / elapsed,
        errors.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let users = env_usize("SIM_BENCH_USERS", 100_000);
    let secs = env_usize("SIM_BENCH_SECS", 5) as u64;
    let config = SimConfig {
        users,
        groups: (users / 20).max(10),
        apps: (users / 200).clamp(5, 500),
        log_days: 30,
        ..SimConfig::default()
    };
    let before = peak_rss_mib();
    let started = Instant::now();
    let org = okta_sim::generate::generate(&config, chrono::Utc::now());
    let gen_time = started.elapsed();
    let memberships: usize = org.groups.iter().map(|g| g.members.len()).sum();
    let assignments: usize = org
        .apps
        .iter()
        .map(|a| a.users.len() + a.groups.len())
        .sum();
    println!(
        "generation: {users} users, {} groups, {memberships} memberships, {} apps, {assignments} assignments, {} log events in {:.2?}; peak RSS {:.0} MiB (before {:.0} MiB)",
        org.groups.len(),
        org.apps.len(),
        org.log.len(),
        gen_time,
        peak_rss_mib(),
        before
    );
    let sample_user = org.users[users / 2].id.clone();
    let sample_group = org.groups[1].id.clone();
    drop(org);

    let sim = RunningSim::start(config).await?;
    let token = sim.state.auth.issue(
        IssuedToken {
            client_id: sim.credentials.client_id.clone(),
            scopes: okta_sim::config::DEFAULT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            expires_at: sim.state.clock.now() + TimeDelta::hours(2),
            jkt: None,
            revoked: false,
        },
        "bench-token".to_string(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let base = &sim.base_url;
    for (name, path) in [
        (
            "GET /.well-known/okta-organization",
            "/.well-known/okta-organization".to_string(),
        ),
        (
            "GET /api/v1/users/{id}",
            format!("/api/v1/users/{sample_user}"),
        ),
        (
            "GET /api/v1/groups/{id}",
            format!("/api/v1/groups/{sample_group}"),
        ),
        (
            "GET /api/v1/users?limit=20",
            "/api/v1/users?limit=20".to_string(),
        ),
        (
            "GET /api/v1/users?limit=200",
            "/api/v1/users?limit=200".to_string(),
        ),
    ] {
        let (rps, errors) = load(&client, &format!("{base}{path}"), &token, secs, 64).await;
        println!("throughput: {name}: {rps:.0} req/s ({errors} errors)");
    }
    sim.stop().await;
    Ok(())
}
