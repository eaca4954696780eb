//! `steward sync [--full] [--connection NAME]`: syncs saved connections (every one of the
//! workspace when no `--connection`), one after the other, into the local database.
//!
//! Each connection's client is built from what `steward connect` saved (domain, Client ID,
//! kid, DPoP mode, CA certificate, loopback flag) and its private key, decrypted with the
//! master key; its tokens ask only for the four read scopes a sync needs. The sync is
//! incremental (the engine runs a full one when there is no baseline yet, and resumes a
//! killed run) or full with `--full`.
//!
//! Progress: on a terminal, one bar per resource (requests done of the estimate, items, ETA)
//! under a line with the connection's requests, 429s and rate-limit waits; otherwise plain
//! lines, at most one per resource every two seconds. Then a summary per connection: kind,
//! duration, requests, 429s, errors and items.
//!
//! Each sync runs through [`steward_app::App::run_sync`] and holds the connection's sync lock
//! (the one `steward serve` takes), so a connection is never synced by two processes at
//! once; a busy connection is an error.
//!
//! Exit status: 0 when every sync succeeded, 1 otherwise.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use steward_app::{App, Connection, Error, Settings};
use steward_inventory::SyncKind;
use steward_sync::{Progress, ProgressFn, SyncReport};

use crate::args::SyncArgs;
use crate::local;

/// Runs `steward sync`.
pub async fn run(args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let app = local::app(Settings::default()).await?;
    let connections = match &args.connection {
        Some(name) => match app.find_connection(name).await.map_err(chain)? {
            Some(c) => vec![c],
            None => anyhow::bail!(
                "no connection named {name:?} in workspace {:?} (`steward status` lists them)",
                local::WORKSPACE
            ),
        },
        None => app.list_connections().await.map_err(chain)?,
    };
    anyhow::ensure!(
        !connections.is_empty(),
        "no saved connection: run `steward connect --name NAME …` first"
    );
    let mut failed = 0;
    for conn in &connections {
        if let Err(e) = sync_one(&app, conn, args.full).await {
            failed += 1;
            eprintln!("error: sync of {:?} failed: {e:#}", conn.name);
        }
    }
    app.store().close().await;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn chain(e: Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.chain())
}

async fn sync_one(app: &App, conn: &Connection, full: bool) -> anyhow::Result<()> {
    let ui = Ui::new(&conn.name);
    let progress: ProgressFn = {
        let ui = Arc::clone(&ui);
        Arc::new(move |p: &Progress| ui.update(p))
    };
    println!(
        "Syncing {:?} ({}, {})",
        conn.name,
        conn.domain,
        if full { "full" } else { "incremental" }
    );
    let kind = if full {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    let started = Instant::now();
    let result = app
        .run_sync(&local::cli_actor(), conn, kind, Some(progress))
        .await;
    ui.finish();
    let report = result.map_err(|e| match e {
        // The lock's refusal says all there is to say.
        Error::Conflict(msg) => anyhow::anyhow!(msg),
        other => chain(other),
    })?;
    println!("{}", summary(conn, &report, started.elapsed()));
    Ok(())
}

/// `Synced "prod": full in 3.2 s, 45 requests, 0 × 429 (…)` and the items.
fn summary(conn: &Connection, report: &SyncReport, took: Duration) -> String {
    let s = &report.stats;
    let mut text = format!(
        "Synced {:?}: {}{} in {:.1} s, {} requests, {} rate-limited (429), {:.1} s waiting for \
         rate limits, {} errors",
        conn.name,
        report.kind.as_str(),
        if report.resumed { " (resumed)" } else { "" },
        took.as_secs_f64(),
        s.requests,
        s.rate_limited,
        Duration::from_millis(u64::try_from(s.rate_limit_wait_ms).unwrap_or(0)).as_secs_f64(),
        s.errors
    );
    let items: Vec<String> = s.items.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if !items.is_empty() {
        text.push_str(&format!("\n  items: {}", items.join(", ")));
    }
    text
}

/// Progress display: bars on a terminal, throttled lines otherwise.
struct Ui {
    name: String,
    bars: Option<Bars>,
    /// Lines mode: when each resource was last printed.
    printed: Mutex<HashMap<&'static str, Instant>>,
}

struct Bars {
    multi: MultiProgress,
    header: ProgressBar,
    resources: Mutex<HashMap<&'static str, ProgressBar>>,
}

/// Lines mode prints a resource at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(2);

impl Ui {
    fn new(name: &str) -> Arc<Ui> {
        let bars = std::io::stdout().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let header = multi.add(ProgressBar::new_spinner());
            header.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            header.set_prefix(name.to_owned());
            header.enable_steady_tick(Duration::from_millis(200));
            Bars {
                multi,
                header,
                resources: Mutex::new(HashMap::new()),
            }
        });
        Arc::new(Ui {
            name: name.to_owned(),
            bars,
            printed: Mutex::new(HashMap::new()),
        })
    }

    fn update(&self, p: &Progress) {
        match &self.bars {
            Some(b) => b.update(p),
            None => self.line(p),
        }
    }

    fn line(&self, p: &Progress) {
        let now = Instant::now();
        let mut printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        if printed
            .get(p.resource)
            .is_some_and(|t| now.duration_since(*t) < LINE_INTERVAL)
        {
            return;
        }
        printed.insert(p.resource, now);
        let to_go = p
            .estimated_remaining
            .map(|r| format!(" (~{r} to go)"))
            .unwrap_or_default();
        println!(
            "  {} {}: {} items, {} requests{to_go}; connection: {} requests, {} × 429, {:.1} s \
             rate-limit wait",
            self.name,
            p.resource,
            p.items,
            p.requests,
            p.client.requests,
            p.client.rate_limited,
            Duration::from_millis(p.client.wait_ms).as_secs_f64()
        );
    }

    fn finish(&self) {
        if let Some(b) = &self.bars {
            for bar in b
                .resources
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
            {
                bar.finish();
            }
            b.header.finish();
            let _ = b.multi.clear();
        }
    }
}

impl Bars {
    fn update(&self, p: &Progress) {
        self.header.set_message(format!(
            "{} requests, {} × 429, {:.1} s rate-limit wait",
            p.client.requests,
            p.client.rate_limited,
            Duration::from_millis(p.client.wait_ms).as_secs_f64()
        ));
        let mut resources = self.resources.lock().unwrap_or_else(|e| e.into_inner());
        let bar = resources.entry(p.resource).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_prefix(p.resource);
            bar.set_style(spinner_style());
            bar
        });
        if let Some(remaining) = p.estimated_remaining {
            if bar.length().is_none() {
                bar.set_style(bar_style());
            }
            bar.set_length(p.requests + remaining);
        }
        bar.set_position(p.requests);
        bar.set_message(format!("{} items", p.items));
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:>11} [{bar:30}] {pos}/{len} requests, {msg}, ETA {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:>11} {spinner} {pos} requests, {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}
