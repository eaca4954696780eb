//! [`ConnectionInput`]: what the admin gave (domain, Client ID, key file, …), and its parsing
//! into an [`OktaClient`], with every problem phrased as a [`Problem`] (field, setup step, fix).

use std::fmt;

use okta_client::{
    ClientId, DpopMode, Field, InputError, OktaClient, OktaConfig, OktaDomain, OktaError,
    PrivateKeyInput, TransportOptions,
};
use zeroize::Zeroizing;

use crate::steps::SetupStep;

/// A file that could not be read (the caller reads files; the doctor reports the failure as
/// a failing check instead of aborting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The path as given.
    pub path: String,
    /// Why it could not be read (the OS error).
    pub reason: String,
}

/// The connection settings as given. `Debug` never shows the private key.
#[derive(Clone)]
pub struct ConnectionInput {
    /// The Okta domain as typed.
    pub domain: String,
    /// The Client ID as typed.
    pub client_id: String,
    /// The private key text (JWK, JWKS or PEM), or why its file could not be read.
    pub private_key: Result<Zeroizing<String>, FileError>,
    /// `--key-id`.
    pub key_id: Option<String>,
    /// DPoP mode.
    pub dpop: DpopMode,
    /// Accept `127.0.0.1:PORT` / `localhost:PORT` (simulator and tests only).
    pub allow_insecure_loopback: bool,
    /// An extra CA certificate (PEM), or why its file could not be read.
    pub ca_cert_pem: Option<Result<Vec<u8>, FileError>>,
    /// Network settings (timeouts, retries); `ca_cert_pem` above takes precedence.
    pub transport: TransportOptions,
}

impl fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("private_key", &"<redacted>")
            .field("key_id", &self.key_id)
            .field("dpop", &self.dpop)
            .field("allow_insecure_loopback", &self.allow_insecure_loopback)
            .finish_non_exhaustive()
    }
}

impl ConnectionInput {
    /// Settings with DPoP `auto`, no CA certificate and default transport.
    pub fn new(domain: &str, client_id: &str, private_key: Zeroizing<String>) -> Self {
        ConnectionInput {
            domain: domain.to_owned(),
            client_id: client_id.to_owned(),
            private_key: Ok(private_key),
            key_id: None,
            dpop: DpopMode::Auto,
            allow_insecure_loopback: false,
            ca_cert_pem: None,
            transport: TransportOptions::default(),
        }
    }
}

/// A problem with the input, attributed to a check and a setup step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The check id it belongs to (`org`, `client_id`, `private_key`, `dpop`).
    pub check: &'static str,
    /// The setup step concerned.
    pub step: SetupStep,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.check, self.step, self.message)
    }
}

impl Problem {
    fn from_input(e: &InputError) -> Self {
        let (check, step) = match e.field() {
            Field::Domain => ("org", SetupStep::OktaDomain),
            Field::ClientId => ("client_id", SetupStep::ClientId),
            Field::KeyId => ("private_key", SetupStep::AddKey),
            Field::Dpop => ("dpop", SetupStep::Dpop),
            _ => ("private_key", SetupStep::CopyPrivateKey),
        };
        Problem {
            check,
            step,
            message: e.to_string(),
            fix: e.fix(),
        }
    }
}

/// The parsed pieces; each may have failed independently, so that all input problems are
/// reported at once.
pub(crate) struct Parsed {
    pub(crate) domain: Result<OktaDomain, Problem>,
    pub(crate) client_id: Result<ClientId, Problem>,
    pub(crate) key: Result<PrivateKeyInput, Problem>,
    pub(crate) transport: Result<TransportOptions, Problem>,
    pub(crate) dpop: DpopMode,
}

pub(crate) fn parse(input: &ConnectionInput) -> Parsed {
    let domain = OktaDomain::parse(&input.domain, input.allow_insecure_loopback)
        .map_err(|e| Problem::from_input(&e));
    let client_id = ClientId::parse(&input.client_id).map_err(|e| Problem::from_input(&e));
    let key = match &input.private_key {
        Ok(text) => PrivateKeyInput::parse(text, input.key_id.as_deref())
            .map_err(|e| Problem::from_input(&e)),
        Err(f) => Err(Problem {
            check: "private_key",
            step: SetupStep::CopyPrivateKey,
            message: format!("cannot read the private key file {}: {}", f.path, f.reason),
            fix: format!(
                "Pass the file holding the private key copied in Okta ({}): \
                 --private-key FILE, or - to read it from standard input.",
                SetupStep::CopyPrivateKey
            ),
        }),
    };
    let mut transport = input.transport.clone();
    let transport = match &input.ca_cert_pem {
        None => Ok(transport),
        Some(Ok(pem)) => {
            transport.ca_cert_pem = Some(pem.clone());
            Ok(transport)
        }
        Some(Err(f)) => Err(Problem {
            check: "org",
            step: SetupStep::OktaDomain,
            message: format!("cannot read the CA certificate {}: {}", f.path, f.reason),
            fix: "Pass a readable PEM file with --ca-cert, or leave it out to use the system's \
                  trusted certificates."
                .into(),
        }),
    };
    Parsed {
        domain,
        client_id,
        key,
        transport,
        dpop: input.dpop,
    }
}

/// Builds a client from `input` (no network traffic), or lists every input problem.
/// `scopes` are the scopes its tokens ask for.
pub fn connect(input: &ConnectionInput, scopes: &[&str]) -> Result<OktaClient, Vec<Problem>> {
    let p = parse(input);
    let (domain, client_id, key, transport) = match (p.domain, p.client_id, p.key, p.transport) {
        (Ok(d), Ok(c), Ok(k), Ok(t)) => (d, c, k, t),
        (d, c, k, t) => {
            return Err([d.err(), c.err(), k.err(), t.err()]
                .into_iter()
                .flatten()
                .collect());
        }
    };
    let mut config = OktaConfig::new(domain, client_id, key);
    config.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    config.dpop = p.dpop;
    config.transport = transport;
    OktaClient::new(config).map_err(|e| vec![client_problem(&e)])
}

/// A client that could not be built (bad CA certificate, …).
pub(crate) fn client_problem(e: &OktaError) -> Problem {
    match e {
        OktaError::Input(i) => Problem::from_input(i),
        other => Problem {
            check: "org",
            step: SetupStep::OktaDomain,
            message: other.to_string(),
            fix: other.fix(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let i = ConnectionInput::new(
            "acme.okta.com",
            "0oa1b2c3d4e5f6g7h8i9",
            Zeroizing::new("-----BEGIN PRIVATE KEY-----\nsecret-material\n".into()),
        );
        let d = format!("{i:?}");
        assert!(
            !d.contains("secret-material") && d.contains("<redacted>"),
            "{d}"
        );
    }

    #[test]
    fn connect_lists_every_input_problem() {
        let mut i = ConnectionInput::new("acme-admin.okta.com", "not-an-id", Zeroizing::default());
        i.ca_cert_pem = Some(Err(FileError {
            path: "/nope.pem".into(),
            reason: "not found".into(),
        }));
        let problems = connect(&i, &["okta.users.read"]).expect_err("problems");
        let checks: Vec<&str> = problems.iter().map(|p| p.check).collect();
        assert_eq!(checks, ["org", "client_id", "private_key", "org"]);
        assert!(problems.iter().all(|p| !p.fix.is_empty()));
    }
}
