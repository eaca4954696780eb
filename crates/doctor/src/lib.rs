//! `steward doctor`: the connection test for an Okta API Services app.
//!
//! It checks, in order, every setup step an admin goes through and reports for each one
//! what it did and saw, and the fix. No web framework and no database, so the CLI and the
//! web UI's setup page share it.
//!
//! | # | id | what | how |
//! |---|----|------|-----|
//! | 1 | `org` | domain format, org reachable | `GET /.well-known/okta-organization` |
//! | 2 | `client_id` | Okta knows the Client ID | token requests (below) |
//! | 3 | `client_auth` | Public key / Private key auth | token requests |
//! | 4 | `private_key` | key accepted, kid matching | token requests |
//! | 5 | `dpop` | DPoP requirement, detected | `token_type` of the tokens |
//! | 6 | `clock` | clock skew | `Date` of check 1 ([`clock`] explains the thresholds) |
//! | 7 | `scope:<scope>` ×5 | each scope granted | one token request per scope |
//! | 8 | `role:read_only_admin` | reads of users, groups, apps, logs | GETs, empty-list cross-check |
//! | 9 | `role:group_membership_admin` | membership changes allowed | a probe that changes nothing |
//!
//! Checks that can't run because an earlier one failed are reported with status `skip`,
//! naming the check to fix first. [`Report::ok`] is true only when every check passes.
//! Input problems (bad domain, public key pasted, unreadable file…) are failing checks with
//! the input parser's fix, never errors. Details never contain key material or tokens.
//!
//! # Layout
//! [`steps`] (the wizard's numbered steps), [`report`] (result types, JSON shape),
//! [`input`] (what the admin gave; also [`connect`] for `steward api`), then one module per
//! group of checks: `org`, `probe` (token requests), [`clock`], `roles`.

#![warn(missing_docs)]

pub mod clock;
pub mod input;
mod org;
mod probe;
pub mod report;
mod roles;
pub mod steps;

pub use input::{ConnectionInput, FileError, Problem, connect};
pub use okta_client::DpopMode;
pub use probe::SCOPES;
pub use report::{Check, Report, Status};
pub use steps::SetupStep;

use okta_client::{OktaClient, OktaConfig};

/// Runs every check and returns the report.
pub async fn run(input: &ConnectionInput) -> Report {
    run_with_progress(input, |_| {}).await
}

/// Like [`run`], calling `on_check` with each check, in order, as soon as it is final (for
/// output that appears while the test runs; tests also use it to act between checks).
pub async fn run_with_progress(input: &ConnectionInput, on_check: impl FnMut(&Check)) -> Report {
    let mut out = Progress {
        checks: Vec::new(),
        emitted: 0,
        on_check,
    };
    let mut dpop = false;
    let mut granted = Vec::new();
    run_checks(input, &mut out, &mut dpop, &mut granted).await;
    Report::new(out.checks, dpop, granted)
}

struct Progress<F> {
    checks: Vec<Check>,
    emitted: usize,
    on_check: F,
}

impl<F: FnMut(&Check)> Progress<F> {
    fn push(&mut self, c: Check) {
        self.checks.push(c);
    }

    fn flush(&mut self) {
        for c in &self.checks[self.emitted..] {
            (self.on_check)(c);
        }
        self.emitted = self.checks.len();
    }

    /// Adds every check from `from` on (in order) as skipped for `why`.
    fn skip_rest(&mut self, from: usize, why: &str) {
        for c in all_checks().into_iter().skip(from) {
            self.push(c.skip(why));
        }
        self.flush();
    }
}

/// Every check, unrun, in report order.
fn all_checks() -> Vec<Check> {
    let mut v = vec![
        org::new_check(),
        probe::client_id_check(),
        probe::client_auth_check(),
        probe::private_key_check(),
        probe::dpop_check(),
        clock::new_check(),
    ];
    v.extend(SCOPES.iter().map(|s| probe::scope_check(s)));
    v.push(roles::read_only_check());
    v.push(roles::membership_check());
    v
}

async fn run_checks<F: FnMut(&Check)>(
    input: &ConnectionInput,
    out: &mut Progress<F>,
    dpop: &mut bool,
    granted: &mut Vec<String>,
) {
    let parsed = input::parse(input);
    let input_fail =
        |c: Check, p: &Problem| c.fail(p.message.clone(), p.fix.clone()).with_step(p.step);

    // 1. org
    let (org_check, skew) = match (&parsed.domain, &parsed.transport) {
        (Err(p), _) | (_, Err(p)) => (input_fail(org::new_check(), p), None),
        (Ok(d), Ok(t)) => {
            let r = org::check(d, t).await;
            (r.check, r.skew_secs)
        }
    };
    let org_ok = org_check.status == Status::Pass;
    let inputs_ok = parsed.client_id.is_ok() && parsed.key.is_ok();
    if !org_ok || !inputs_ok {
        // Report every input problem, then skip what needs a token.
        let why = if org_ok {
            "needs a valid Client ID and private key (see above)"
        } else {
            "needs the org to answer (see org)"
        };
        out.push(org_check);
        out.push(match &parsed.client_id {
            Err(p) => input_fail(probe::client_id_check(), p),
            Ok(_) => probe::client_id_check().skip(why),
        });
        out.push(probe::client_auth_check().skip(why));
        out.push(match &parsed.key {
            Err(p) => input_fail(probe::private_key_check(), p),
            Ok(_) => probe::private_key_check().skip(why),
        });
        out.push(probe::dpop_check().skip(why));
        if org_ok {
            out.push(clock::evaluate(skew, None));
        } else {
            out.push(clock::new_check().skip(why));
        }
        out.flush();
        return out.skip_rest(6, why);
    }
    let (Ok(domain), Ok(client_id), Ok(key), Ok(transport)) = (
        parsed.domain,
        parsed.client_id,
        parsed.key,
        parsed.transport,
    ) else {
        return;
    };

    // 2-7. token requests
    let mut config = OktaConfig::new(domain.clone(), client_id, key.clone());
    config.dpop = parsed.dpop;
    config.transport = transport;
    let base = match OktaClient::new(config) {
        Ok(c) => c,
        Err(e) => {
            let p = input::client_problem(&e);
            out.push(input_fail(org::new_check(), &p));
            return out.skip_rest(1, "needs a working HTTP client (see org)");
        }
    };
    let auth = probe::run(&base, &key, parsed.dpop).await;
    let org_check = match &auth.audience_refusal {
        Some(d) => org::new_check().fail(
            format!(
                "the org answers, but Okta refused the client assertion addressed to {}: \
                 \"{d}\" (this is not the domain Okta's token endpoint expects)",
                domain.token_url()
            ),
            format!(
                "Use the org's Okta-hosted domain (e.g. company.okta.com) rather than a custom \
                 domain or a proxy ({}).",
                SetupStep::OktaDomain
            ),
        ),
        None => org_check,
    };
    out.push(org_check);
    out.push(auth.client_id);
    out.push(auth.client_auth);
    out.push(auth.private_key);
    out.push(auth.dpop);
    out.push(clock::evaluate(skew, auth.timing_refusal.as_deref()));
    for c in auth.scopes {
        out.push(c);
    }
    out.flush();
    *dpop = auth.dpop_bound;
    *granted = auth.granted;
    if !auth.usable {
        return out.skip_rest(
            all_checks().len() - 2,
            "needs a token with the granted scopes (see above)",
        );
    }

    // 8-9. admin roles, with one token carrying every granted scope.
    let main = base.with_scopes(granted);
    let (ro, seen) = roles::read_only(&main, granted).await;
    out.push(ro);
    out.flush();
    out.push(roles::group_membership(&main, granted, &seen).await);
    out.flush();
}
