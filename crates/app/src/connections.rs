//! Okta connections: create (the doctor first), test, rotate the key, disconnect, and the
//! Okta client of a stored connection. The setup wizard, the JSON API, `steward connect` and
//! `steward demo` all create connections through [`App::create_connection`], so they accept
//! and refuse the same input and record the same event.
//!
//! What is stored: the name (validated, lowercase), the domain as parsed
//! (`acme.okta.com`, `127.0.0.1:PORT`), the Client ID, the key as a private JWK with its
//! `kid` (whatever was pasted: JWK, JWKS or PEM), the DPoP mode, the transport settings (an
//! extra CA certificate as PEM text, plain http on loopback) and a status (`ok`, or
//! `failing` for a connection saved with `force` despite a failing check). The key is sealed
//! under the master key by the store.

use std::sync::Mutex;

use okta_client::{DpopMode, OktaClient, OktaDomain, PrivateKeyInput};
use serde_json::json;
use steward_doctor::{Check, ConnectionInput, Report, SetupStep, Status};
use steward_store::{ConnectionTransport, NewConnection};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::Connection;
use crate::{Actor, App, Target};

/// The scopes a sync reads with; `okta.groups.manage` is not needed (and a connection saved
/// with `force` may lack it).
pub const SYNC_SCOPES: [&str; 4] = [
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.logs.read",
];

/// Checks a connection name: 1–64 of `a-z 0-9 - _`, returned lowercase.
pub fn validate_name(name: &str) -> Result<String> {
    let n = name.trim().to_ascii_lowercase();
    if !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(n)
    } else {
        Err(Error::BadRequest(
            "connection names are 1-64 letters, digits, - or _ (e.g. okta, okta-prod)".into(),
        ))
    }
}

/// What a new connection is made of, as pasted or read from files.
pub struct ConnectionRequest {
    /// Name, unique in the workspace.
    pub name: String,
    /// The Okta domain as typed.
    pub domain: String,
    /// The Client ID as typed.
    pub client_id: String,
    /// The private key text: Okta's JWK (or JWKS), or a PEM.
    pub private_key: Zeroizing<String>,
    /// A `kid` for a key that carries none (PEM).
    pub key_id: Option<String>,
    /// DPoP mode (`auto` detects it).
    pub dpop: DpopMode,
    /// An extra CA certificate (PEM), for a TLS-intercepting proxy or the simulator.
    pub ca_cert_pem: Option<String>,
    /// Plain http on loopback (the simulator); honoured only when the app's settings allow it.
    pub allow_insecure_loopback: bool,
    /// Save even if a check fails (status `failing`).
    pub force: bool,
}

impl std::fmt::Debug for ConnectionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRequest")
            .field("name", &self.name)
            .field("domain", &self.domain)
            .field("client_id", &self.client_id)
            .field("private_key", &"<redacted>")
            .field("key_id", &self.key_id)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

/// The result of saving or rotating: the doctor's report, and the connection when it was
/// saved (every check passed, or `force`).
#[derive(Debug)]
pub struct Outcome {
    /// The checklist.
    pub report: Report,
    /// The saved connection.
    pub connection: Option<Connection>,
}

/// What the doctor is run with.
struct DoctorRun<'a> {
    domain: &'a str,
    client_id: &'a str,
    key: Zeroizing<String>,
    key_id: Option<String>,
    dpop: DpopMode,
    ca_cert_pem: Option<&'a str>,
    allow_insecure_loopback: bool,
}

impl App {
    fn doctor_input(&self, run: DoctorRun<'_>) -> ConnectionInput {
        let mut ci = ConnectionInput::new(run.domain, run.client_id, run.key);
        ci.key_id = run.key_id;
        ci.dpop = run.dpop;
        ci.allow_insecure_loopback = run.allow_insecure_loopback;
        ci.ca_cert_pem = run.ca_cert_pem.map(|p| Ok(p.as_bytes().to_vec()));
        ci.transport.rate_limit_window = self.settings().okta_rate_limit_window;
        ci
    }

    /// Runs the doctor, bounded by [`crate::Settings::doctor_timeout`]: an org that never
    /// answers (a firewall dropping packets, a domain resolving to a black hole) would
    /// otherwise hold the caller for as long as the client's retries last. On timeout the
    /// report has the checks finished so far and a failing check naming the one that timed
    /// out; it is never `ok`, so nothing is saved. `on_check` sees each check as it ends.
    async fn run_doctor(
        &self,
        input: ConnectionInput,
        mut on_check: impl FnMut(&Check) + Send,
    ) -> Report {
        let domain = input.domain.trim().to_owned();
        let limit = self.settings().doctor_timeout;
        let done = Mutex::new(Vec::new());
        let doctor = steward_doctor::run_with_progress(&input, |c| {
            on_check(c);
            if let Ok(mut v) = done.lock() {
                v.push(c.clone());
            }
        });
        match tokio::time::timeout(limit, doctor).await {
            Ok(report) => report,
            Err(_) => {
                let checks = done.into_inner().unwrap_or_else(|e| e.into_inner());
                tracing::warn!(domain = %domain, secs = limit.as_secs(), done = checks.len(),
                    "connection test timed out");
                timed_out(checks, &domain, limit)
            }
        }
    }

    /// Runs the doctor on input that is not saved (the API's dry run, `steward doctor`).
    pub async fn test_input(
        &self,
        req: &ConnectionRequest,
        on_check: impl FnMut(&Check) + Send,
    ) -> Report {
        let input = self.doctor_input(DoctorRun {
            domain: &req.domain,
            client_id: &req.client_id,
            key: req.private_key.clone(),
            key_id: req.key_id.clone(),
            dpop: req.dpop,
            ca_cert_pem: req.ca_cert_pem.as_deref(),
            allow_insecure_loopback: self.loopback(req.allow_insecure_loopback),
        });
        self.run_doctor(input, on_check).await
    }

    fn loopback(&self, asked: bool) -> bool {
        asked && self.settings().allow_insecure_loopback
    }

    /// Tests the settings and, if every check passes (or `force`), saves the connection
    /// with its key. `BadRequest` for a bad name, `Conflict` for a taken one: both before
    /// anything is sent to Okta.
    pub async fn create_connection(
        &self,
        actor: &Actor,
        req: ConnectionRequest,
        on_check: impl FnMut(&Check) + Send,
    ) -> Result<Outcome> {
        let name = validate_name(&req.name)?;
        if self.find_connection(&name).await?.is_some() {
            return Err(Error::Conflict(format!(
                "a connection named {name} already exists: choose another name, or disconnect \
                 the old one first"
            )));
        }
        let report = self.test_input(&req, on_check).await;
        if !report.ok && !req.force {
            return Ok(Outcome {
                report,
                connection: None,
            });
        }
        let loopback = self.loopback(req.allow_insecure_loopback);
        let key = PrivateKeyInput::parse(&req.private_key, req.key_id.as_deref())
            .map_err(|e| Error::BadRequest(format!("the private key can't be saved: {e}")))?;
        let domain = OktaDomain::parse(&req.domain, loopback)
            .map(|d| d.authority())
            .unwrap_or_else(|_| req.domain.trim().to_owned());
        let status = if report.ok { "ok" } else { "failing" };
        let new = NewConnection {
            name: name.clone(),
            domain,
            client_id: req.client_id.trim().to_owned(),
            key_id: key.kid().map(str::to_owned),
            dpop_mode: req.dpop.as_str().to_owned(),
            private_key_pem: Zeroizing::new(key.key().to_private_jwk().to_string()),
            transport: ConnectionTransport {
                ca_cert_pem: req.ca_cert_pem.clone(),
                allow_insecure_loopback: loopback,
            },
            status: status.to_owned(),
        };
        let event = self.event(
            actor,
            "connection.create",
            Target::new("connection", ""),
            json!({
                "name": new.name,
                "domain": new.domain,
                "client_id": new.client_id,
                "kid": new.key_id,
                "key_thumbprint": key.key().thumbprint(),
                "dpop": new.dpop_mode,
                "status": status,
                "ca_cert": new.transport.ca_cert_pem.is_some(),
                "allow_insecure_loopback": loopback,
            }),
        );
        self.store()
            .create_connection(self.workspace(), &new, self.master(), &event)
            .await
            .map_err(|e| match Error::from(e) {
                Error::Conflict(_) => {
                    Error::Conflict(format!("a connection named {name} already exists"))
                }
                other => other,
            })?;
        let conn = self.find_connection(&name).await?.ok_or(Error::NotFound)?;
        tracing::info!(connection = %name, status, "connection saved");
        Ok(Outcome {
            report,
            connection: Some(conn),
        })
    }

    /// Every connection of the workspace, by name.
    pub async fn list_connections(&self) -> Result<Vec<Connection>> {
        let rows = self.store().list_connections(self.workspace()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            out.push(self.view(c).await?);
        }
        Ok(out)
    }

    /// One connection by name.
    pub async fn find_connection(&self, name: &str) -> Result<Option<Connection>> {
        let Ok(name) = validate_name(name) else {
            return Ok(None);
        };
        match self
            .store()
            .find_connection_by_name(self.workspace(), &name)
            .await?
        {
            Some(c) => Ok(Some(self.view(c).await?)),
            None => Ok(None),
        }
    }

    /// One connection by name, or `NotFound`.
    pub async fn connection(&self, name: &str) -> Result<Connection> {
        self.find_connection(name).await?.ok_or(Error::NotFound)
    }

    async fn view(&self, c: steward_store::Connection) -> Result<Connection> {
        let store = self.store();
        let key_created = store
            .connection_key_created(c.id)
            .await?
            .unwrap_or(c.created_at);
        let transport = store.connection_transport(c.id).await?;
        Ok(Connection {
            id: c.id,
            dpop: c.dpop_mode.parse::<DpopMode>().map_err(|_| {
                Error::internal(steward_store::StoreError::Corrupt(format!(
                    "dpop mode {:?}",
                    c.dpop_mode
                )))
            })?,
            name: c.name,
            domain: c.domain,
            client_id: c.client_id,
            key_id: c.key_id,
            key_thumbprint: c.key_thumbprint.unwrap_or_default(),
            status: c.status,
            ca_cert: transport.ca_cert_pem.is_some(),
            allow_insecure_loopback: transport.allow_insecure_loopback,
            created: c.created_at,
            key_created,
        })
    }

    /// The stored settings of `conn` as doctor input, with its decrypted key.
    async fn stored_input(&self, conn: &Connection) -> Result<ConnectionInput> {
        let store = self.store();
        let key = store.connection_private_key(conn.id, self.master()).await?;
        let transport = store.connection_transport(conn.id).await?;
        Ok(self.doctor_input(DoctorRun {
            domain: &conn.domain,
            client_id: &conn.client_id,
            key,
            key_id: conn.key_id.clone(),
            dpop: conn.dpop,
            ca_cert_pem: transport.ca_cert_pem.as_deref(),
            allow_insecure_loopback: transport.allow_insecure_loopback,
        }))
    }

    /// The Okta client of a stored connection, built as the doctor builds it from the same
    /// settings (domain, Client ID, key and kid, DPoP mode, CA certificate, loopback), its
    /// tokens asking for `scopes`.
    pub async fn okta_client(&self, conn: &Connection, scopes: &[&str]) -> Result<OktaClient> {
        let input = self.stored_input(conn).await?;
        steward_doctor::connect(&input, scopes).map_err(|problems| {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{p} (fix: {})", p.fix))
                .collect();
            Error::BadRequest(format!(
                "the saved connection {} is unusable: {}",
                conn.name,
                text.join("; ")
            ))
        })
    }

    /// Runs the doctor on a saved connection and records the result as its status.
    pub async fn test_connection(&self, actor: &Actor, name: &str) -> Result<Report> {
        let conn = self.connection(name).await?;
        let input = self.stored_input(&conn).await?;
        let report = self.run_doctor(input, |_| {}).await;
        let status = if report.ok { "ok" } else { "failing" };
        let event = self.event(
            actor,
            "connection.test",
            connection_target(&conn),
            json!({"name": conn.name, "ok": report.ok, "status": status, "was": conn.status}),
        );
        self.store()
            .update_connection_status(conn.id, status, &event)
            .await?;
        Ok(report)
    }

    /// Key rotation: tests `new_key` with the connection's settings and, if every check
    /// passes, replaces the stored key (the old one is deleted; the admin then deletes it in
    /// Okta).
    pub async fn rotate_key(
        &self,
        actor: &Actor,
        name: &str,
        new_key: Zeroizing<String>,
        key_id: Option<String>,
    ) -> Result<Outcome> {
        let conn = self.connection(name).await?;
        let parsed = PrivateKeyInput::parse(&new_key, key_id.as_deref())
            .map_err(|e| Error::BadRequest(format!("the new private key is invalid: {e}")))?;
        if parsed.key().thumbprint() == conn.key_thumbprint {
            return Err(Error::BadRequest(
                "this is the key the connection already uses; add a new key in Okta".into(),
            ));
        }
        let transport = self.store().connection_transport(conn.id).await?;
        let input = self.doctor_input(DoctorRun {
            domain: &conn.domain,
            client_id: &conn.client_id,
            key: new_key,
            key_id,
            dpop: conn.dpop,
            ca_cert_pem: transport.ca_cert_pem.as_deref(),
            allow_insecure_loopback: transport.allow_insecure_loopback,
        });
        let report = self.run_doctor(input, |_| {}).await;
        if !report.ok {
            return Ok(Outcome {
                report,
                connection: None,
            });
        }
        let text = Zeroizing::new(parsed.key().to_private_jwk().to_string());
        let event = self.event(
            actor,
            "connection.rotate_key",
            connection_target(&conn),
            json!({
                "name": conn.name,
                "retired_kid": conn.key_id,
                "retired_thumbprint": conn.key_thumbprint,
                "kid": parsed.kid(),
                "key_thumbprint": parsed.key().thumbprint(),
            }),
        );
        self.store()
            .replace_connection_key(conn.id, &text, parsed.kid(), self.master(), &event)
            .await?;
        let updated = self.connection(name).await?;
        Ok(Outcome {
            report,
            connection: Some(updated),
        })
    }

    /// Deletes the connection and its key.
    pub async fn disconnect(&self, actor: &Actor, name: &str) -> Result<()> {
        let conn = self.connection(name).await?;
        let event = self.event(
            actor,
            "connection.delete",
            connection_target(&conn),
            json!({"name": conn.name, "domain": conn.domain, "key_thumbprint": conn.key_thumbprint}),
        );
        self.store().delete_connection(conn.id, &event).await?;
        tracing::info!(connection = %conn.name, "connection deleted");
        Ok(())
    }
}

fn connection_target(conn: &Connection) -> Target {
    Target::new("connection", conn.id.to_string())
}

/// The report of a doctor run cut short after `limit`: the checks finished so far, then a
/// failing check for the one in progress (the doctor emits its checks in three batches: the
/// org with the token requests, the read-only role, the membership role).
fn timed_out(mut checks: Vec<Check>, domain: &str, limit: std::time::Duration) -> Report {
    let secs = limit.as_secs();
    let done = |id: &str| checks.iter().any(|c| c.id == id);
    let (id, title, step, what) = if !done("org") {
        (
            "timeout",
            "Connection test time limit",
            SetupStep::OktaDomain,
            "reaching the org (org) or requesting tokens (client_id, client_auth, private_key, \
             dpop, scope:*)",
        )
    } else if !done("role:read_only_admin") {
        (
            "role:read_only_admin",
            "Read-only Administrator role",
            SetupStep::AdminRoles,
            "reading users, groups, apps and the System Log (role:read_only_admin)",
        )
    } else {
        (
            "role:group_membership_admin",
            "Group Membership Administrator role",
            SetupStep::AdminRoles,
            "probing a group membership change (role:group_membership_admin)",
        )
    };
    checks.push(Check {
        id: id.to_owned(),
        title: title.to_owned(),
        step,
        status: Status::Fail,
        detail: format!(
            "timed out after {secs} s waiting for Okta at {domain} while {what}; \
             the checks after it were not run"
        ),
        fix: Some(format!(
            "Check that this server can reach https://{domain} (DNS, firewall, outbound \
             proxy; e.g. curl https://{domain}/.well-known/okta-organization from this host) \
             and that the domain is your org's Okta domain (acme.okta.com, not the \
             -admin one). Then test again; the limit is web.doctor_timeout_secs ({secs} s)."
        )),
    });
    Report {
        ok: false,
        dpop: false,
        granted_scopes: Vec::new(),
        checks,
    }
}
