//! `steward api METHOD PATH [--data JSON]`: one request through the same client as
//! everything else (token, DPoP, retries, rate limits), like `gh api`. The response body goes
//! to stdout (pretty JSON when it is JSON); for a non-2xx answer a one-line summary goes to
//! stderr and the exit status is 1.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use okta_client::{Method, OktaError, Response};
use serde_json::Value;

use crate::args::ApiArgs;
use crate::connection;

/// Runs `steward api`.
pub async fn run(args: &ApiArgs) -> anyhow::Result<ExitCode> {
    let method = Method::from_bytes(args.method.trim().to_ascii_uppercase().as_bytes())
        .with_context(|| format!("\"{}\" is not an HTTP method", args.method))?;
    let body: Option<Value> = args
        .data
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("--data is not valid JSON")?;
    let input = connection::input(&args.connection);
    let client = match steward_doctor::connect(&input, &steward_doctor::SCOPES) {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {p}\n  fix: {}", p.fix);
            }
            return Ok(ExitCode::from(1));
        }
    };
    let resp = match client.send(method.clone(), &args.path, body.as_ref()).await {
        Ok(r) => r,
        Err(OktaError::CrossHostLink { url }) => {
            eprintln!(
                "error: {url} is not on the org: steward api only sends requests (and its \
                 token) to the Okta domain; give a path such as /api/v1/users"
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error: {method} {}: {e}\n  fix: {}", args.path, e.fix());
            eprintln!("  (`steward doctor` with the same flags checks each setup step)");
            return Ok(ExitCode::from(1));
        }
    };
    print_body(&resp)?;
    if resp.status.is_success() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{}", summary(&method, &args.path, &resp));
    Ok(ExitCode::from(1))
}

fn print_body(resp: &Response) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if resp.body.is_empty() {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(v) => writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?,
        Err(_) => {
            out.write_all(&resp.body)?;
            if !resp.body.ends_with(b"\n") {
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// `GET /api/v1/logs: HTTP 403 E0000006 You do not have permission… (request id …)`.
fn summary(method: &Method, path: &str, resp: &Response) -> String {
    let mut s = format!("{method} {path}: HTTP {}", resp.status);
    if let Ok(v) = serde_json::from_slice::<Value>(&resp.body) {
        for key in ["errorCode", "errorSummary", "error", "error_description"] {
            if let Some(x) = v.get(key).and_then(Value::as_str) {
                s.push(' ');
                s.push_str(x);
            }
        }
    }
    if let Some(e) = resp.header("www-authenticate") {
        s.push_str(&format!(" (WWW-Authenticate: {e})"));
    }
    if let Some(id) = resp.header("x-okta-request-id") {
        s.push_str(&format!(" (request id {id})"));
    }
    s
}
