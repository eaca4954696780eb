//! `steward serve`: the web app on the local database (`STEWARD_DATABASE_URL` or the SQLite
//! file in `STEWARD_DATA_DIR`), with the scheduler and a job runner (syncs, app-usage
//! refresh, session cleanup run as durable jobs, shared with other instances on the same
//! PostgreSQL database). On first run it creates the `admin`
//! account and prints its generated password once.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use steward_store::{MasterKey, Store};
use steward_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use crate::args::ServeArgs;
use crate::local;

/// The web state on `store`, keys sealed under `master`.
pub async fn state_on(
    config: WebConfig,
    store: Store,
    master: MasterKey,
) -> anyhow::Result<AppState> {
    config
        .validate()
        .map_err(anyhow::Error::msg)
        .context("while checking the web settings")?;
    AppState::on_store(config, store, master)
        .await
        .context("while preparing the web app's storage")
}

/// Prints the first-run admin's password, if this run created it.
pub async fn print_bootstrap(state: &AppState) -> anyhow::Result<Option<(String, String)>> {
    let created = state
        .app
        .bootstrap_admin()
        .await
        .context("while creating the first admin account")?;
    Ok(created.map(|b| (b.username, b.password.expose().to_owned())))
}

/// Binds `listen`, serves until Ctrl-C, with the scheduler and a job runner running.
pub async fn serve_until_ctrl_c(
    state: AppState,
    listen: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("while listening on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("while reading the bound address")?;
    on_bound(addr);
    let workers = state.app.spawn_workers();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = steward_web::serve(state, listener, shutdown).await;
    // Running jobs get a moment to finish; one cut short is taken over by another runner
    // when its lease expires.
    workers.shutdown(std::time::Duration::from_secs(10)).await;
    result.context("while serving")
}

/// `steward serve`.
pub async fn run(a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let store = local::store().await?;
    let master = local::master_key()?;
    let config = WebConfig {
        listen: a.listen,
        allow_insecure_loopback: a.allow_insecure_loopback,
        ..WebConfig::default()
    };
    let state = state_on(config, store, master).await?;
    if let Some((user, password)) = print_bootstrap(&state).await? {
        println!("First run: created the account {user} with the password");
        println!("  {password}");
        println!("It is shown only now; sign in and keep it safe.");
    }
    serve_until_ctrl_c(state, a.listen, |addr| {
        println!("Steward is running at http://{addr}/");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
