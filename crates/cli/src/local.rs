//! The local database shared by `connect`, `sync` and `status`: the store from
//! `STEWARD_DATABASE_URL` (default: the SQLite file `steward.db` in `STEWARD_DATA_DIR`,
//! `./steward-data`), the master key (`STEWARD_MASTER_KEY`, `STEWARD_MASTER_KEY_FILE`, or
//! `master.key` in the data directory, created with mode 0600 on first use), and the
//! workspace the CLI works in.

use anyhow::Context as _;
use steward_app::{Actor, App, Clock, Settings};
use steward_store::{MasterKey, Store, Workspace};

/// The workspace the CLI's connections live in (the web's too).
pub const WORKSPACE: &str = steward_app::WORKSPACE;

/// The application on the local database and master key.
pub async fn app(settings: Settings) -> anyhow::Result<App> {
    let store = store().await?;
    let master = master_key()?;
    App::open(store, master, settings, Clock::system())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))
        .context("while opening the local database")
}

/// How the audit trail names the person at this terminal: the CLI, as the OS user
/// (`USER`/`LOGNAME`), since the CLI runs with local access to the database and master key.
pub fn cli_actor() -> Actor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Actor::cli(None, &user)
}

/// Opens (and migrates) the database.
pub async fn store() -> anyhow::Result<Store> {
    Store::from_env()
        .await
        .context("while opening the database")
}

/// The master key sealing private keys (created on first use).
pub fn master_key() -> anyhow::Result<MasterKey> {
    let dir = steward_store::data_dir_from_env();
    MasterKey::from_env(&dir).context("while loading the master key")
}

/// The CLI's workspace, if it exists.
pub async fn workspace(store: &Store) -> anyhow::Result<Option<Workspace>> {
    store
        .find_workspace_by_name(WORKSPACE)
        .await
        .with_context(|| format!("while reading the workspace {WORKSPACE:?}"))
}
