//! Command-line types (clap). No logic here: `main` hands each command to its module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Steward: access management on top of an Okta org.
#[derive(Debug, Parser)]
#[command(name = "steward", version, about)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test the connection to Okta, setup step by setup step, with the fix for each problem.
    ///
    /// Exit status: 0 when every check passes, 1 otherwise (a warning or a skipped check
    /// included), 2 for a command-line usage error.
    Doctor(DoctorArgs),
    /// Send one authenticated request to the Okta API and print the response body, like
    /// `gh api`. Exit status 1 on a non-2xx answer (body on stdout, summary on stderr).
    Api(ApiArgs),
    /// Generate a private key for the API Services app and print its public JWK to paste into
    /// Okta (the app > General > Public Keys > Add key).
    Keygen(KeygenArgs),
    /// Test a connection with the doctor and save it (private key encrypted under the master
    /// key) in the local database, for `sync` and `status`. A failing connection is not saved
    /// unless `--force`.
    Connect(ConnectArgs),
    /// Sync saved connections into the inventory: incremental (a full sync when there is no
    /// baseline yet) or `--full`.
    Sync(SyncArgs),
    /// Per saved connection: inventory counts and the last sync.
    Status(StatusArgs),
    /// Serve the web app on the local database, with the sync scheduler. The first run
    /// creates the account `admin` and prints its password once.
    Serve(ServeArgs),
    /// Manage accounts of the web app.
    Admin(AdminArgs),
    /// Everything on one machine: okta-sim with a seeded org, the connection, the first
    /// sync, and the web app. Prints the URL and the admin login.
    Demo(DemoArgs),
    /// Durable jobs (syncs, app-usage refresh, session cleanup): run them, list them.
    Jobs(JobsArgs),
    /// The tamper-evident audit trail: verify its hash chain, export it.
    Audit(AuditArgs),
}

/// `steward jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: JobsCommand,
}

/// `steward jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Run due jobs (as `steward serve` does) until Ctrl-C, or with `--until-idle` until
    /// nothing is due. Exit status 1 if a job failed for good during the run.
    Run(JobsRunArgs),
    /// Pending, running and failed jobs, newest first.
    List(JobsListArgs),
}

/// `steward jobs run`.
#[derive(Debug, Args)]
pub struct JobsRunArgs {
    /// Exit once no job is due (jobs scheduled later are not waited for).
    #[arg(long)]
    pub until_idle: bool,
}

/// `steward jobs list`.
#[derive(Debug, Args)]
pub struct JobsListArgs {
    /// Print one JSON document: `{"jobs": [{"id", "kind", "state", "run_at", "attempts",
    /// "max_attempts", "last_error", "lease_holder", "lease_expires_at", ...}]}`.
    #[arg(long)]
    pub json: bool,
    /// Include succeeded jobs too.
    #[arg(long)]
    pub all: bool,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

/// `steward audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `steward audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every workspace's hash chain and name the first broken or missing link. Exit
    /// status 0 when the chain is intact, 1 otherwise.
    Verify(AuditVerifyArgs),
    /// Write the audit events to standard output, oldest first.
    Export(AuditExportArgs),
}

/// `steward audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// Print `{"ok", "events", "workspaces", "first_broken": {"workspace", "seq", "reason"} | null}`.
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header row.
    Csv,
}

/// `steward audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// `jsonl` or `csv`.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Only events at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z, or a date).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
}

/// How to reach the org; shared by `doctor` and `api`. Each flag can also come from the
/// environment variable shown in `--help`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// The Okta domain, e.g. company.okta.com.
    #[arg(long, env = "STEWARD_OKTA_DOMAIN")]
    pub domain: String,
    /// The API Services app's Client ID (0oa…).
    #[arg(long, env = "STEWARD_OKTA_CLIENT_ID")]
    pub client_id: String,
    /// File holding the private key (Okta's JWK, a JWKS, or PEM); `-` reads standard input.
    #[arg(long, value_name = "FILE|-", env = "STEWARD_OKTA_PRIVATE_KEY_FILE")]
    pub private_key: String,
    /// The key's kid, needed for a PEM key when the app has several public keys.
    #[arg(long, value_name = "KID", env = "STEWARD_OKTA_KEY_ID")]
    pub key_id: Option<String>,
    /// DPoP: `auto` detects whether the app requires it (recommended).
    #[arg(long, value_enum, default_value_t = DpopArg::Auto, env = "STEWARD_OKTA_DPOP")]
    pub dpop: DpopArg,
    /// Extra trusted CA certificate (PEM), e.g. a TLS simulator's.
    #[arg(long, value_name = "FILE", env = "STEWARD_OKTA_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Accept 127.0.0.1:PORT / localhost:PORT over plain http (simulator and tests only).
    #[arg(long)]
    pub allow_insecure_loopback: bool,
}

/// `--dpop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DpopArg {
    /// Send a proof and use whichever token type Okta issues.
    Auto,
    /// Require DPoP-bound tokens.
    On,
    /// Never send proofs.
    Off,
}

/// `steward doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print `{"ok", "dpop", "granted_scopes", "checks": [{"id", "step", "status", "detail",
    /// "fix"}]}` instead of text. `step` is the setup step number, or "host-clock".
    #[arg(long)]
    pub json: bool,
}

/// `steward api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// HTTP method: GET, POST, PUT, DELETE…
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// Path and query on the org, e.g. /api/v1/users?limit=5.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// JSON request body.
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
}

/// `steward keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Signing algorithm: RS256 (RSA 2048) or ES256 (EC P-256).
    #[arg(long, value_enum, default_value_t = KeyAlg::Rs256, ignore_case = true)]
    pub alg: KeyAlg,
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `--alg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyAlg {
    /// RSA 2048, RS256 (what Okta's Generate new key makes).
    #[value(name = "RS256")]
    Rs256,
    /// EC P-256, ES256.
    #[value(name = "ES256")]
    Es256,
}

/// `steward connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Name of the connection (unique in the workspace), used by `sync --connection`.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Save the connection even when the doctor reports a failure.
    #[arg(long)]
    pub force: bool,
    /// Print `{"saved", "connection", "doctor"}` instead of text (see `steward connect`'s
    /// module doc).
    #[arg(long)]
    pub json: bool,
}

/// `steward sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read everything again instead of only what changed.
    #[arg(long)]
    pub full: bool,
    /// Sync only this connection (default: every saved connection).
    #[arg(long, value_name = "NAME")]
    pub connection: Option<String>,
}

/// `steward status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (shape in `steward status`'s module doc) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `steward serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "STEWARD_LISTEN")]
    pub listen: std::net::SocketAddr,
    /// Accept Okta domains on 127.0.0.1:PORT / localhost:PORT over plain http (simulator
    /// and tests only).
    #[arg(long)]
    pub allow_insecure_loopback: bool,
}

/// `steward admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `steward admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account with a generated password, printed once.
    Create(AdminCreateArgs),
}

/// `steward admin create`.
#[derive(Debug, Args)]
pub struct AdminCreateArgs {
    /// User name (letters, digits, `.`, `-`, `_`).
    #[arg(long)]
    pub username: String,
    /// `admin`, `approver` or `viewer`.
    #[arg(long, default_value = "viewer")]
    pub role: String,
}

/// `steward demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the web app (`127.0.0.1:0` picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Users in the simulated org.
    #[arg(long, default_value_t = 3000)]
    pub users: usize,
    /// Groups in the simulated org.
    #[arg(long, default_value_t = 150)]
    pub groups: usize,
    /// Apps in the simulated org.
    #[arg(long, default_value_t = 40)]
    pub apps: usize,
    /// Days of System Log history (app usage).
    #[arg(long, default_value_t = 30)]
    pub log_days: u32,
    /// Speeds up the simulated org's rate-limit windows (Okta's 60 s become 60 s / N), so
    /// the first sync takes seconds instead of minutes. Every limit per window stays Okta's;
    /// `1` syncs at Okta's real pace.
    #[arg(long, default_value_t = 10.0, value_parser = parse_compression)]
    pub time_compression: f64,
}

/// `--time-compression`: a factor between 1 and 60 (windows of 60 s down to 1 s).
fn parse_compression(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number; use e.g. 10"))?;
    if (1.0..=60.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is out of range: use a factor from 1 (Okta's real pace) to 60"
        ))
    }
}
