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
