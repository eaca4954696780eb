//! `steward admin create`: adds an account to the local database and prints its generated
//! password once.

use std::process::ExitCode;

use anyhow::Context as _;
use steward_app::Role;
use steward_app::secret::random_token;

use crate::args::{AdminArgs, AdminCommand};
use crate::local;

/// `steward admin …`.
pub async fn run(a: &AdminArgs) -> anyhow::Result<ExitCode> {
    match &a.command {
        AdminCommand::Create(c) => {
            let role: Role = c.role.parse().map_err(anyhow::Error::msg)?;
            let app = local::app(steward_app::Settings::default()).await?;
            let password = random_token().context("while generating a password")?;
            let account = app
                .create_account(&local::cli_actor(), &c.username, &password, role)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.chain()))
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
