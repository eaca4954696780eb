//! `steward connect [connection flags] --name NAME [--force] [--json]`: runs the doctor on the
//! connection (the checklist of `steward doctor`), then saves it in the local database's
//! workspace `default` ([`crate::local`]): domain, Client ID, kid, DPoP mode, the extra CA
//! certificate (its PEM text, not its path) and `--allow-insecure-loopback`, and the private
//! key sealed under the master key. `steward sync` builds its client from what is saved.
//!
//! A connection the doctor fails (or warns about) is not saved unless `--force`; it is then
//! saved with status `failing` (`ok` otherwise). The name must be new in the workspace and
//! follow the web's rule (1-64 of `a-z 0-9 - _`, stored lowercase); the key is stored as a
//! private JWK with its kid, whatever was given (JWK, JWKS or PEM).
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
use steward_app::connections::ConnectionRequest;
use steward_app::{Connection, Settings};
use steward_doctor::{Check, Report};

use crate::args::ConnectArgs;
use crate::{connection, doctor, local};

/// Runs `steward connect`: the same path as the web's setup wizard
/// ([`steward_app::App::create_connection`]), so the same names, domains and keys are
/// accepted or refused, with the same audit event.
pub async fn run(args: &ConnectArgs) -> anyhow::Result<ExitCode> {
    let input = connection::input(&args.connection);
    // Everything that can fail locally is checked before the doctor talks to Okta.
    let private_key = match &input.private_key {
        Ok(k) => k.clone(),
        Err(f) => anyhow::bail!("cannot read the private key file {}: {}", f.path, f.reason),
    };
    let ca_cert_pem = match &input.ca_cert_pem {
        None => None,
        Some(Ok(bytes)) => Some(
            String::from_utf8(bytes.clone())
                .context("the CA certificate is not PEM text (--ca-cert)")?,
        ),
        Some(Err(f)) => anyhow::bail!("cannot read the CA certificate {}: {}", f.path, f.reason),
    };
    let app = local::app(Settings {
        allow_insecure_loopback: input.allow_insecure_loopback,
        // The terminal shows each check as it ends; give a slow org the time it needs.
        doctor_timeout: std::time::Duration::from_secs(600),
        ..Settings::default()
    })
    .await?;
    let request = ConnectionRequest {
        name: args.name.clone(),
        domain: input.domain.clone(),
        client_id: input.client_id.clone(),
        private_key,
        key_id: input.key_id.clone(),
        dpop: input.dpop,
        ca_cert_pem,
        allow_insecure_loopback: input.allow_insecure_loopback,
        force: args.force,
    };
    if !args.json {
        println!(
            "Testing the Okta connection: domain {}, client {}, DPoP {}\n",
            input.domain.trim(),
            input.client_id.trim(),
            input.dpop
        );
    }
    let json_out = args.json;
    let show = move |c: &Check| {
        if !json_out {
            print!("{}", doctor::render(c));
            let _ = std::io::stdout().flush();
        }
    };
    let outcome = app
        .create_connection(&local::cli_actor(), request, show)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))
        .context("the connection was not saved")?;
    app.store().close().await;
    if !args.json {
        println!("\n{}", doctor::summary(&outcome.report));
    }
    let Some(saved) = outcome.connection else {
        if args.json {
            print_json(&outcome.report, Value::Null)?;
        }
        eprintln!(
            "Not saved: fix the failure above and run `steward connect` again, or pass --force \
             to save the connection anyway."
        );
        return Ok(ExitCode::from(1));
    };
    if args.json {
        print_json(&outcome.report, connection_json(&saved))?;
    } else {
        println!(
            "\nSaved connection {:?} (workspace {:?}, status {}; key thumbprint {}), its \
             private key encrypted under the master key.\nNext: steward sync --connection {}",
            saved.name,
            local::WORKSPACE,
            saved.status,
            saved.key_thumbprint,
            saved.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn connection_json(c: &Connection) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "workspace": local::WORKSPACE,
        "domain": c.domain,
        "client_id": c.client_id,
        "key_id": c.key_id,
        "dpop_mode": c.dpop.as_str(),
        "status": c.status,
        "key_thumbprint": c.key_thumbprint,
        "ca_cert": c.ca_cert,
        "allow_insecure_loopback": c.allow_insecure_loopback,
    })
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
