//! `steward connect [connection flags] --name NAME [--force] [--json]`: runs the doctor on the
//! connection (the checklist of `steward doctor`), then saves it in the local database's
//! workspace `default` ([`crate::local`]): domain, Client ID, kid, DPoP mode, the extra CA
//! certificate (its PEM text, not its path) and `--allow-insecure-loopback`, and the private
//! key sealed under the master key. `steward sync` builds its client from what is saved.
//!
//! A connection the doctor fails (or warns about) is not saved unless `--force`; it is then
//! saved with status `failing` (`ok` otherwise). The name must be new in the workspace.
//!
//! Exit status: 0 when the connection was saved (with `--force`, even if a check failed), 1
//! when it was not, 2 for a usage error.
//!
//! `--json` prints one object:
//!
//! ```json
//! {
//!   "saved": true,
//!   "connection": {"id": 1, "name": "prod", "workspace": "default", "domain": "acme.okta.com",
//!                  "client_id": "0oa…", "key_id": "…" | null, "dpop_mode": "auto",
//!                  "status": "ok" | "failing", "key_thumbprint": "…",
//!                  "ca_cert": true | false, "allow_insecure_loopback": false},
//!   "doctor": {"ok", "dpop", "granted_scopes", "checks": [...]}   // as `steward doctor --json`
//! }
//! ```
//!
//! `connection` is `null` when nothing was saved.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use steward_doctor::Report;
use steward_store::{ConnectionTransport, NewConnection};

use crate::args::ConnectArgs;
use crate::{connection, doctor, local};

/// Runs `steward connect`.
pub async fn run(args: &ConnectArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.trim();
    anyhow::ensure!(!name.is_empty(), "--name must not be empty");
    // Everything that can fail locally is checked before the doctor talks to Okta.
    let store = local::store().await?;
    let master = local::master_key()?;
    let workspace = local::ensure_workspace(&store).await?;
    if store
        .find_connection_by_name(workspace.id, name)
        .await
        .context("while reading the saved connections")?
        .is_some()
    {
        anyhow::bail!(
            "a connection named {name:?} already exists in workspace {:?}: choose another --name",
            workspace.name
        );
    }

    let input = connection::input(&args.connection);
    let report = run_doctor(&input, args.json).await;
    if !report.ok && !args.force {
        if args.json {
            print_json(&report, Value::Null)?;
        }
        eprintln!(
            "Not saved: fix the failure above and run `steward connect` again, or pass --force \
             to save the connection anyway."
        );
        return Ok(ExitCode::from(1));
    }

    let private_key = match &input.private_key {
        Ok(k) => k.clone(),
        Err(f) => anyhow::bail!(
            "cannot save the connection: cannot read the private key file {}: {}",
            f.path,
            f.reason
        ),
    };
    let ca_cert_pem = match &input.ca_cert_pem {
        None => None,
        Some(Ok(bytes)) => Some(
            String::from_utf8(bytes.clone())
                .context("cannot save the connection: the CA certificate is not PEM text")?,
        ),
        Some(Err(f)) => anyhow::bail!(
            "cannot save the connection: cannot read the CA certificate {}: {}",
            f.path,
            f.reason
        ),
    };
    let new = NewConnection {
        name: name.to_owned(),
        domain: input.domain.trim().to_owned(),
        client_id: input.client_id.trim().to_owned(),
        key_id: input.key_id.clone(),
        dpop_mode: input.dpop.as_str().to_owned(),
        private_key_pem: private_key,
    };
    let saved = store
        .create_connection(workspace.id, &new, &master)
        .await
        .context("while saving the connection")?;
    let transport = ConnectionTransport {
        ca_cert_pem,
        allow_insecure_loopback: input.allow_insecure_loopback,
    };
    store
        .set_connection_transport(saved.id, &transport)
        .await
        .context("while saving the connection's transport settings")?;
    let status = if report.ok { "ok" } else { "failing" };
    store
        .update_connection_status(saved.id, status)
        .await
        .context("while saving the connection's status")?;
    store.close().await;

    if args.json {
        print_json(
            &report,
            json!({
                "id": saved.id,
                "name": saved.name,
                "workspace": workspace.name,
                "domain": saved.domain,
                "client_id": saved.client_id,
                "key_id": saved.key_id,
                "dpop_mode": saved.dpop_mode,
                "status": status,
                "key_thumbprint": saved.key_thumbprint,
                "ca_cert": transport.ca_cert_pem.is_some(),
                "allow_insecure_loopback": transport.allow_insecure_loopback,
            }),
        )?;
    } else {
        println!(
            "\nSaved connection {:?} (workspace {:?}, status {status}; key thumbprint {}), its \
             private key encrypted under the master key.\nNext: steward sync --connection {}",
            saved.name,
            workspace.name,
            saved.key_thumbprint.as_deref().unwrap_or("-"),
            saved.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The doctor, its checklist streamed as `steward doctor` prints it (silent with `--json`).
async fn run_doctor(input: &steward_doctor::ConnectionInput, json: bool) -> Report {
    if json {
        return steward_doctor::run(input).await;
    }
    println!(
        "Testing the Okta connection: domain {}, client {}, DPoP {}\n",
        input.domain.trim(),
        input.client_id.trim(),
        input.dpop
    );
    let report = steward_doctor::run_with_progress(input, |c| {
        print!("{}", doctor::render(c));
        let _ = std::io::stdout().flush();
    })
    .await;
    println!("\n{}", doctor::summary(&report));
    report
}

fn print_json(report: &Report, connection: Value) -> anyhow::Result<()> {
    let v = json!({
        "saved": !connection.is_null(),
        "connection": connection,
        "doctor": serde_json::to_value(report)?,
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}
