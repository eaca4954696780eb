//! `steward jobs run [--until-idle]` and `steward jobs list [--json]`: the durable jobs that
//! `steward serve` runs (syncs, the app-usage refresh, session cleanup), on the local
//! database. `run` claims due jobs like any other runner, so it can share the work with
//! running `steward serve` instances.
//!
//! `list --json` prints `{"jobs": [job, …]}`, each job with `id`, `kind`, `payload`,
//! `run_at`, `state` (`pending`, `running`, `succeeded`, `failed`), `attempts`,
//! `max_attempts`, `last_error`, `lease_holder`, `lease_expires_at`, `created_at`,
//! `updated_at`, `finished_at` and `dedup_key`.

use std::process::ExitCode;

use steward_app::Settings;
use steward_store::jobs::JobState;

use crate::args::{JobsArgs, JobsCommand, JobsListArgs, JobsRunArgs};
use crate::local;

/// `steward jobs …`.
pub async fn run(a: &JobsArgs) -> anyhow::Result<ExitCode> {
    match &a.command {
        JobsCommand::Run(r) => run_jobs(r).await,
        JobsCommand::List(l) => list(l).await,
    }
}

async fn run_jobs(r: &JobsRunArgs) -> anyhow::Result<ExitCode> {
    let app = local::app(Settings::default()).await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let summary = steward_app::jobs::run_jobs(&app, r.until_idle, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
    app.store().close().await;
    if r.until_idle {
        println!(
            "Ran due jobs: {} succeeded, {} to be retried, {} failed.",
            summary.succeeded, summary.retried, summary.failed
        );
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn list(l: &JobsListArgs) -> anyhow::Result<ExitCode> {
    let app = local::app(Settings::default()).await?;
    let states: Vec<JobState> = if l.all {
        Vec::new()
    } else {
        vec![JobState::Pending, JobState::Running, JobState::Failed]
    };
    let jobs = app
        .list_jobs(&states, l.limit)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
    app.store().close().await;
    if l.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "jobs": jobs }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        println!("No pending, running or failed jobs.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<18} {:<9} {:>8}  {:<20} detail",
        "id", "kind", "state", "attempts", "run at / finished"
    );
    for j in &jobs {
        let when = j
            .finished_at
            .unwrap_or(j.run_at)
            .format("%Y-%m-%d %H:%M:%S");
        let detail = match j.state {
            JobState::Running => format!("held by {}", j.lease_holder.as_deref().unwrap_or("?")),
            _ => j.last_error.clone().unwrap_or_default(),
        };
        println!(
            "{:>6}  {:<18} {:<9} {:>3} of {:<3} {:<20} {}",
            j.id.0,
            j.kind,
            j.state.as_str(),
            j.attempts,
            j.max_attempts,
            when,
            detail
        );
    }
    Ok(ExitCode::SUCCESS)
}
