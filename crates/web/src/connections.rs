//! Okta connections without HTTP: run the doctor, save, test, rotate the key, disconnect.
//! The setup page and the JSON API both call these, so they can't drift apart.

use okta_client::{DpopMode, OktaDomain, PrivateKeyInput};
use steward_doctor::{Check, ConnectionInput, Report, SetupStep, Status};
use zeroize::Zeroizing;

use crate::auth::CurrentUser;
use crate::config::WebConfig;
use crate::error::AppError;
use crate::repo::{AuditEvent, Connection, PrivateKeySecret};
use crate::secret::Secret;
use crate::state::AppState;

/// Checks a connection name: 1–64 of `a-z 0-9 - _`.
pub fn validate_name(name: &str) -> Result<String, String> {
    let n = name.trim().to_ascii_lowercase();
    if !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(n)
    } else {
        Err("Use 1-64 letters, digits, - or _ (e.g. okta, okta-prod).".into())
    }
}

/// The key as the JWK text the doctor and the store take (with its `kid`).
fn key_text(key: &PrivateKeyInput) -> Zeroizing<String> {
    Zeroizing::new(key.key().to_private_jwk().to_string())
}

/// What a connection is tested with.
pub struct DoctorInput<'a> {
    /// The Okta domain as typed or stored.
    pub domain: &'a str,
    /// The Client ID.
    pub client_id: &'a str,
    /// The private key text (JWK or PEM).
    pub key: Zeroizing<String>,
    /// A key id for a PEM key without one.
    pub key_id: Option<String>,
    /// DPoP setting.
    pub dpop: DpopMode,
}

/// Runs the doctor. Loopback domains over plain http only with `allow_insecure_loopback`.
///
/// Bounded by [`WebConfig::doctor_timeout`]: it runs inside a web request, and an org that
/// never answers (a firewall dropping packets, a wrong domain resolving to a black hole) would
/// otherwise hold the request for as long as the client's retries last. On timeout the report
/// has the checks finished so far and a failing check naming the one that timed out, with
/// what to look at; it is never `ok`, so nothing is saved.
pub async fn run_doctor(config: &WebConfig, input: DoctorInput<'_>) -> Report {
    let domain = input.domain.trim().to_owned();
    let mut ci = ConnectionInput::new(input.domain, input.client_id, input.key);
    ci.key_id = input.key_id;
    ci.dpop = input.dpop;
    ci.allow_insecure_loopback = config.allow_insecure_loopback;
    let limit = config.doctor_timeout();
    let done = std::sync::Mutex::new(Vec::new());
    let run = steward_doctor::run_with_progress(&ci, |c| {
        if let Ok(mut v) = done.lock() {
            v.push(c.clone());
        }
    });
    match tokio::time::timeout(limit, run).await {
        Ok(report) => report,
        Err(_) => {
            let checks = done.into_inner().unwrap_or_else(|e| e.into_inner());
            tracing::warn!(domain = %domain, secs = limit.as_secs(), done = checks.len(),
                "connection test timed out");
            timed_out(checks, &domain, limit)
        }
    }
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

/// The result of saving or rotating: the doctor's report, and the connection if every check
/// passed (then it was saved).
#[derive(Debug)]
pub struct Outcome {
    /// The checklist.
    pub report: Report,
    /// The saved connection, when `report.ok`.
    pub connection: Option<Connection>,
}

async fn audit(state: &AppState, user: &CurrentUser, action: &str, target: &str, detail: String) {
    audit_as(state, &user.actor(), action, target, detail).await;
}

async fn audit_as(state: &AppState, actor: &str, action: &str, target: &str, detail: String) {
    let event = AuditEvent {
        at: state.clock.now(),
        actor: actor.to_owned(),
        action: action.into(),
        target: target.into(),
        detail,
    };
    if let Err(e) = state.repos.audit.append_audit(event).await {
        // The change itself happened; losing its audit record must be visible in the logs.
        tracing::error!(error = %e, action, target, "audit append failed");
    }
}

/// Tests the settings and, if every check passes, saves the connection with its key.
pub async fn create(
    state: &AppState,
    user: &CurrentUser,
    name: &str,
    domain: &str,
    client_id: &str,
    key: &PrivateKeyInput,
    dpop: DpopMode,
) -> Result<Outcome, AppError> {
    create_by(state, &user.actor(), name, domain, client_id, key, dpop).await
}

/// [`create`] on behalf of `actor` (as the audit trail names it), for callers without a
/// signed-in user: `steward demo` creates its connection through the wizard's own path.
pub async fn create_by(
    state: &AppState,
    actor: &str,
    name: &str,
    domain: &str,
    client_id: &str,
    key: &PrivateKeyInput,
    dpop: DpopMode,
) -> Result<Outcome, AppError> {
    if state
        .repos
        .connections
        .find_connection(name)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "a connection named {name} already exists"
        )));
    }
    let report = run_doctor(
        &state.config,
        DoctorInput {
            domain,
            client_id,
            key: key_text(key),
            key_id: None,
            dpop,
        },
    )
    .await;
    if !report.ok {
        return Ok(Outcome {
            report,
            connection: None,
        });
    }
    let domain = OktaDomain::parse(domain, state.config.allow_insecure_loopback)
        .map(|d| d.authority())
        .unwrap_or_else(|_| domain.trim().to_owned());
    let now = state.clock.now();
    let conn = Connection {
        name: name.to_owned(),
        domain,
        client_id: client_id.trim().to_owned(),
        key_id: key.kid().map(str::to_owned),
        dpop,
        key_thumbprint: key.key().thumbprint(),
        created: now,
        key_created: now,
    };
    let saved = state
        .repos
        .connections
        .save_connection(conn, PrivateKeySecret::new(Secret::from(key_text(key))))
        .await?;
    let detail = format!(
        "domain {}, client id {}, kid {}",
        saved.domain,
        saved.client_id,
        saved.key_id.as_deref().unwrap_or("-")
    );
    audit_as(state, actor, "connection.create", name, detail).await;
    tracing::info!(connection = %name, "connection saved");
    Ok(Outcome {
        report,
        connection: Some(saved),
    })
}

/// The stored connection, or 404.
pub async fn find(state: &AppState, name: &str) -> Result<Connection, AppError> {
    state
        .repos
        .connections
        .find_connection(name)
        .await?
        .ok_or(AppError::NotFound)
}

/// Runs the doctor on a saved connection.
pub async fn test(state: &AppState, user: &CurrentUser, name: &str) -> Result<Report, AppError> {
    let conn = find(state, name).await?;
    let key = state
        .repos
        .connections
        .private_key(name)
        .await?
        .ok_or(AppError::NotFound)?;
    let report = run_doctor(
        &state.config,
        DoctorInput {
            domain: &conn.domain,
            client_id: &conn.client_id,
            key: Zeroizing::new(key.expose().to_owned()),
            key_id: conn.key_id.clone(),
            dpop: conn.dpop,
        },
    )
    .await;
    audit(
        state,
        user,
        "connection.test",
        name,
        format!("ok: {}", report.ok),
    )
    .await;
    Ok(report)
}

/// Key rotation: tests `new_key` with the connection's settings and, if every check passes,
/// replaces the stored key (the old one is deleted; the admin then deletes it in Okta).
pub async fn rotate(
    state: &AppState,
    user: &CurrentUser,
    name: &str,
    new_key: &PrivateKeyInput,
) -> Result<Outcome, AppError> {
    let conn = find(state, name).await?;
    if new_key.key().thumbprint() == conn.key_thumbprint {
        return Err(AppError::BadRequest(
            "this is the key the connection already uses; add a new key in Okta".into(),
        ));
    }
    let report = run_doctor(
        &state.config,
        DoctorInput {
            domain: &conn.domain,
            client_id: &conn.client_id,
            key: key_text(new_key),
            key_id: None,
            dpop: conn.dpop,
        },
    )
    .await;
    if !report.ok {
        return Ok(Outcome {
            report,
            connection: None,
        });
    }
    let updated = state
        .repos
        .connections
        .replace_key(
            name,
            new_key.kid().map(str::to_owned),
            new_key.key().thumbprint(),
            state.clock.now(),
            PrivateKeySecret::new(Secret::from(key_text(new_key))),
        )
        .await?;
    let detail = format!(
        "retired kid {} ({}), now kid {}",
        conn.key_id.as_deref().unwrap_or("-"),
        conn.key_thumbprint,
        updated.key_id.as_deref().unwrap_or("-")
    );
    audit(state, user, "connection.rotate_key", name, detail).await;
    Ok(Outcome {
        report,
        connection: Some(updated),
    })
}

/// Deletes the connection and its key.
pub async fn disconnect(state: &AppState, user: &CurrentUser, name: &str) -> Result<(), AppError> {
    if !state.repos.connections.delete_connection(name).await? {
        return Err(AppError::NotFound);
    }
    audit(state, user, "connection.delete", name, "key deleted".into()).await;
    tracing::info!(connection = %name, "connection deleted");
    Ok(())
}
