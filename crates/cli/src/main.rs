//! `steward`: the command-line entry point. Argument types live in [`args`]; each command is
//! a small module that calls the libraries (`steward-doctor`, `okta-client`) and prints.
//!
//! Exit status: 0 success; 1 failure (a failing/warning doctor check, a non-2xx API answer,
//! an error); 2 command-line usage error (from clap).

mod admin;
mod api;
mod args;
mod audit;
mod connect;
mod connection;
mod demo;
mod doctor;
mod jobs;
mod keygen;
mod local;
mod serve;
mod status;
mod sync;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs (retries, rate limiting) go to stderr, only when asked for with RUST_LOG.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = match &cli.command {
        Command::Keygen(a) => keygen::run(a),
        Command::Doctor(a) => block_on(doctor::run(a)),
        Command::Api(a) => block_on(api::run(a)),
        Command::Connect(a) => block_on(connect::run(a)),
        Command::Sync(a) => block_on(sync::run(a)),
        Command::Status(a) => block_on(status::run(a)),
        Command::Serve(a) => block_on(serve::run(a)),
        Command::Admin(a) => block_on(admin::run(a)),
        Command::Demo(a) => block_on(demo::run(a)),
        Command::Jobs(a) => block_on(jobs::run(a)),
        Command::Audit(a) => block_on(audit::run(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<ExitCode>>>(
    f: F,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(f)
}
