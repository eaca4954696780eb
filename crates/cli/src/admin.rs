//! `steward admin create`: adds an account to the local database and prints its generated
//! password once.

use std::process::ExitCode;

use anyhow::Context as _;
use steward_web::WebConfig;
use steward_web::accounts::create_account;
use steward_web::secret::random_token;

use crate::args::{AdminArgs, AdminCommand};
use crate::{local, serve};

/// `steward admin …`.
pub async fn run(a: &AdminArgs) -> anyhow::Result<ExitCode> {
    match &a.command {
        AdminCommand::Create(c) => {
            let role: steward_web::repo::Role = c.role.parse().map_err(anyhow::Error::msg)?;
            let store = local::store().await?;
            let master = local::master_key()?;
            let state = serve::state_on(WebConfig::default(), store, master).await?;
            let password = random_token().context("while generating a password")?;
            let account = create_account(&state.repos, &c.username, &password, role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("while creating the account {}", c.username))?;
            println!(
                "Created {} ({}) with the password",
                account.username,
                account.role.as_str()
            );
            println!("  {}", password.expose());
            println!("It is shown only now.");
            Ok(ExitCode::SUCCESS)
        }
    }
}
