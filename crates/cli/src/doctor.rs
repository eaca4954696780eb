//! `steward doctor`: runs the connection test and prints it (text, streamed as checks
//! complete, or `--json` at the end). Exit status 0 only when every check passes.

use std::io::Write as _;
use std::process::ExitCode;

use steward_doctor::{Check, Report, Status};

use crate::args::DoctorArgs;
use crate::connection;

/// Width of the id column: the longest id is `role:group_membership_admin`.
const ID_WIDTH: usize = 27;

/// Runs `steward doctor`.
pub async fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let input = connection::input(&args.connection);
    let report = if args.json {
        let report = steward_doctor::run(&input).await;
        // Serialised from the struct, so keys keep the documented order.
        println!("{}", serde_json::to_string_pretty(&report)?);
        report
    } else {
        println!(
            "Testing the Okta connection: domain {}, client {}, DPoP {}\n",
            input.domain.trim(),
            input.client_id.trim(),
            input.dpop
        );
        let report = steward_doctor::run_with_progress(&input, |c| {
            print!("{}", render(c));
            let _ = std::io::stdout().flush();
        })
        .await;
        println!("\n{}", summary(&report));
        report
    };
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One check as text: symbol, status, id, step, detail; the fix on the next line unless the
/// check passed or was skipped (a skip's fix is always "fix the problem above first").
pub fn render(c: &Check) -> String {
    let (sym, word) = match c.status {
        Status::Pass => ("✓", "PASS"),
        Status::Warn => ("!", "WARN"),
        Status::Fail => ("✗", "FAIL"),
        Status::Skip => ("-", "SKIP"),
    };
    let step = c.step.label();
    let mut s = format!(
        "{sym} {word}  {:<ID_WIDTH$}  {step:<10}  {}\n",
        c.id, c.detail
    );
    if let (Some(fix), Status::Warn | Status::Fail) = (&c.fix, c.status) {
        s.push_str(&format!(
            "{:width$}fix: {fix}\n",
            "",
            width = 2 + 4 + 2 + ID_WIDTH + 2
        ));
    }
    s
}

pub(crate) fn summary(r: &Report) -> String {
    if r.ok {
        return format!(
            "All {} checks passed (DPoP {}).",
            r.checks.len(),
            if r.dpop {
                "required by the app"
            } else {
                "not required"
            }
        );
    }
    let count = |s: Status| r.checks.iter().filter(|c| c.status == s).count();
    format!(
        "{} failed, {} warning(s), {} skipped: fix the first failure above, then run the doctor \
         again.",
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Skip)
    )
}
