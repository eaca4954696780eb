//! API Services apps the simulator creates, and the credentials file it writes for them
//! (`--credentials-out`): what an admin would copy out of Okta's Admin Console.

use crate::config::DpopMode;
use crate::ids::{new_id, prefix, random_token};
use crate::model::{App, AppStatus, ClientAuthMethod, LogRef, OAuthClient};
use crate::state::SimState;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use steward_jose::{PrivateKey, PublicJwk};

/// What `--credentials-out` writes. Contains a private key: written with mode 0600.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The org's domain as a client must configure it (`host:port` for a loopback simulator).
    pub domain: String,
    /// The base URL, with scheme.
    pub base_url: String,
    /// The app's client id (`0oa…`).
    pub client_id: String,
    /// The key id Okta assigned to the generated key.
    pub kid: String,
    /// The private key as Okta's "Generate new key" shows it in JWK form.
    pub private_key_jwk: serde_json::Value,
    /// The same key as PKCS#8 PEM.
    pub private_key_pem: String,
    /// `required` or `optional`.
    pub dpop: DpopMode,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Assigned admin roles.
    pub roles: Vec<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("kid", &self.kid)
            .field("private_key", &"<redacted>")
            .field("dpop", &self.dpop)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .finish()
    }
}

/// How to create an API Services app.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceAppSpec {
    /// App label.
    #[serde(default = "default_label")]
    pub label: String,
    /// Registered public keys; when empty, one RSA-2048 key is generated as Okta's
    /// "Generate new key" does and its private half is returned.
    #[serde(default)]
    pub public_keys: Vec<serde_json::Value>,
    /// `private_key_jwt` (default) or `client_secret_basic`.
    #[serde(default)]
    pub client_secret: bool,
    /// DPoP setting.
    #[serde(default)]
    pub dpop: DpopMode,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Admin roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `application_type`; `service` by default.
    #[serde(default = "default_app_type")]
    pub application_type: String,
}

fn default_label() -> String {
    "Steward".into()
}
fn default_app_type() -> String {
    "service".into()
}

/// A created app and, when the simulator generated the key, its private half.
pub struct CreatedApp {
    /// The client id.
    pub client_id: String,
    /// The generated key (private), if any.
    pub generated_key: Option<PrivateKey>,
}

/// Creates an API Services app in the org: an `OPENID_CONNECT` app with a `service` OAuth client.
pub fn create_service_app(state: &SimState, spec: ServiceAppSpec) -> anyhow::Result<CreatedApp> {
    let mut jwks = Vec::new();
    let mut generated_key = None;
    if spec.public_keys.is_empty() && !spec.client_secret {
        let mut key = PrivateKey::generate_rsa(2048).context("cannot generate an RSA key")?;
        key.set_kid(Some(random_token(43)));
        jwks.push((key.public_jwk(), true));
        generated_key = Some(key);
    }
    for (i, k) in spec.public_keys.iter().enumerate() {
        let jwk = PublicJwk::from_json(k)
            .with_context(|| format!("public key {} is not a valid JWK", i + 1))?;
        jwks.push((jwk, true));
    }
    let now = state.clock.now();
    let mut org = state.org.write();
    let client_id = new_id(prefix::APP, &mut rand::rng());
    let idx = org.apps.len() as u32;
    org.app_by_id.insert(client_id.clone(), idx);
    org.apps.push(App {
        id: client_id.clone(),
        name: "oidc_client".into(),
        label: spec.label,
        status: AppStatus::Active,
        sign_on_mode: "OPENID_CONNECT",
        created: now,
        last_updated: now,
        users: Default::default(),
        groups: Default::default(),
        direct_users: Default::default(),
        is_service: true,
        deleted: false,
    });
    org.clients.insert(
        client_id.clone(),
        OAuthClient {
            client_id: client_id.clone(),
            app: idx,
            auth_method: if spec.client_secret {
                ClientAuthMethod::ClientSecretBasic
            } else {
                ClientAuthMethod::PrivateKeyJwt
            },
            application_type: spec.application_type,
            grant_types: vec!["client_credentials".into()],
            jwks,
            dpop: spec.dpop,
            scopes: spec.scopes.into_iter().collect(),
            roles: spec.roles.into_iter().collect(),
        },
    );
    org.log_event(
        now,
        "application.lifecycle.create",
        LogRef::System,
        vec![LogRef::App(idx)],
    );
    Ok(CreatedApp {
        client_id,
        generated_key,
    })
}

/// Creates the app described by the simulator's configuration and returns its credentials
/// (the base URL and domain are filled in once the listener is bound).
pub fn create_default_app(state: &SimState) -> anyhow::Result<Credentials> {
    let spec = ServiceAppSpec {
        label: default_label(),
        public_keys: Vec::new(),
        client_secret: false,
        dpop: state.config.dpop,
        scopes: state.config.scopes.clone(),
        roles: state.config.roles.clone(),
        application_type: default_app_type(),
    };
    let created = create_service_app(state, spec)?;
    let key = created.generated_key.context("no key was generated")?;
    Ok(Credentials {
        domain: String::new(),
        base_url: String::new(),
        client_id: created.client_id,
        kid: key.kid().unwrap_or_default().to_string(),
        private_key_jwk: key.to_private_jwk(),
        private_key_pem: key.to_pkcs8_pem(),
        dpop: state.config.dpop,
        scopes: state.config.scopes.clone(),
        roles: state.config.roles.clone(),
    })
}

/// Writes `creds` as pretty JSON with mode 0600.
pub fn write_file(path: &std::path::Path, creds: &Credentials) -> anyhow::Result<()> {
    use std::io::Write;
    let json = serde_json::to_string_pretty(creds)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(json.as_bytes())?;
    Ok(())
}
