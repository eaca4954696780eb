//! Check 1 (`org`): the domain is an Okta org that answers, and the clock skew measured from
//! the same response's `Date` header (used by the `clock` check).

use std::time::{SystemTime, UNIX_EPOCH};

use okta_client::transport::retry::server_date;
use okta_client::{OktaDomain, OktaError, StatusCode, TransportOptions, fetch_public};
use serde_json::Value;

use crate::report::Check;
use crate::steps::SetupStep;

/// Okta's discovery document that every org (and custom domain) serves (reference 8).
const WELL_KNOWN: &str = "/.well-known/okta-organization";

pub(crate) fn new_check() -> Check {
    Check::new(
        "org",
        "Okta domain and org reachable",
        SetupStep::OktaDomain,
    )
}

fn domain_fix() -> String {
    format!(
        "Check the Okta domain ({}): {}",
        SetupStep::OktaDomain,
        SetupStep::OktaDomain.how()
    )
}

/// Seconds since the epoch, with fractions.
fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The result of check 1.
pub(crate) struct OrgResult {
    pub(crate) check: Check,
    /// Okta's clock minus ours, in seconds (positive: this machine is behind), if measured.
    pub(crate) skew_secs: Option<f64>,
}

/// `GET /.well-known/okta-organization` (no authentication).
pub(crate) async fn check(domain: &OktaDomain, transport: &TransportOptions) -> OrgResult {
    let c = new_check();
    let url = format!("{}{WELL_KNOWN}", domain.base_url());
    let before = now_secs();
    let result = fetch_public(domain, WELL_KNOWN, transport).await;
    let after = now_secs();
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let fix = match e {
                OktaError::Transport { .. } => format!(
                    "{} If the domain is right, check DNS, proxy and firewall; for a server with \
                     a private CA, pass --ca-cert.",
                    domain_fix()
                ),
                OktaError::Config(_) => e.fix(),
                _ => domain_fix(),
            };
            return OrgResult {
                check: c.fail(format!("GET {url} failed: {e}"), fix),
                skew_secs: None,
            };
        }
    };
    // `Date` has one-second resolution (truncated): take the middle of that second. Our own
    // time: the middle of the request, unless retries made it long, in which case the answer
    // came near its end.
    let ours = if after - before < 2.0 {
        (before + after) / 2.0
    } else {
        after
    };
    let skew_secs = server_date(&resp.headers).map(|d| d as f64 + 0.5 - ours);
    let status = resp.status;
    let check = if status.is_redirection() {
        c.fail(
            format!(
                "GET {url} answered {} redirecting to {}: this is not the org's own domain",
                status.as_u16(),
                resp.header("location").unwrap_or("?")
            ),
            format!(
                "Use the org domain itself (e.g. company.okta.com), not a URL that redirects \
                 ({}).",
                SetupStep::OktaDomain
            ),
        )
    } else if status == StatusCode::OK {
        match resp.json::<Value>() {
            Ok(v) if v.get("id").and_then(Value::as_str).is_some() => {
                let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
                let mut detail = format!("Okta org {id} answers at {}", domain.base_url());
                if domain.needs_verification() {
                    detail.push_str(" (custom domain, confirmed as an Okta org)");
                }
                if !domain.is_https() {
                    detail.push_str(" (plain http: loopback simulator only)");
                }
                c.pass(detail)
            }
            _ => c.fail(
                format!("{url} answered, but not with an Okta organization document"),
                domain_fix(),
            ),
        }
    } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        c.fail(
            format!(
                "GET {url} still answered {} after {} retries",
                status.as_u16(),
                transport.max_retries
            ),
            "Okta is unavailable or rate limiting: retry later (see status.okta.com).",
        )
    } else {
        c.fail(
            format!(
                "GET {url} answered {}: no Okta org at this address",
                status.as_u16()
            ),
            domain_fix(),
        )
    };
    OrgResult { check, skew_secs }
}
