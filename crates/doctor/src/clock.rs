//! Check 6 (`clock`): this machine's clock against Okta's `Date` header.
//!
//! Why it matters: the client assertion Steward signs is valid from `iat` = now for five
//! minutes, and Okta refuses an `iat` in the future and an expired `exp` (reference 1.2, 3.1);
//! DPoP proofs are refused when issued in the future or more than five minutes ago
//! (reference 2.2). So:
//!
//! * `|skew| >= 5 min` fails: every assertion is expired (our clock behind) or issued in the
//!   future (ahead) on arrival, whatever leeway Okta allows.
//! * `30 s < |skew| < 5 min` warns: it may work today, but a clock that runs ahead depends on
//!   Okta's leeway for future `iat`s, which is not documented, and drift only grows.
//! * `|skew| <= 30 s` passes (the `Date` header has one-second resolution, plus latency).
//! * Whatever the measurement, if Okta actually refused an assertion or proof for a time
//!   reason, the check fails and names the skew as the cause.

use crate::report::Check;
use crate::steps::SetupStep;

/// Skew above which the check warns.
pub const WARN_SECS: f64 = 30.0;
/// Skew from which the check fails: the client assertion's lifetime and DPoP's proof age.
pub const FAIL_SECS: f64 = 300.0;

pub(crate) fn new_check() -> Check {
    Check::new("clock", "Clock in step with Okta", SetupStep::HostClock)
}

fn fix() -> String {
    "Synchronise this machine's clock with NTP (e.g. `timedatectl set-ntp true`, or \
     chrony/ntpd), check its time zone setting, then run the doctor again."
        .into()
}

/// "600 s behind Okta's" / "12 s ahead of Okta's".
pub(crate) fn describe(skew_secs: f64) -> String {
    let s = skew_secs.abs().round();
    if skew_secs >= 0.0 {
        format!("this machine's clock is {s} s behind Okta's")
    } else {
        format!("this machine's clock is {s} s ahead of Okta's")
    }
}

/// `skew_secs`: Okta's time minus ours; `refusal`: Okta's text when it refused an assertion or
/// proof for a time reason.
pub(crate) fn evaluate(skew_secs: Option<f64>, refusal: Option<&str>) -> Check {
    let c = new_check();
    match (skew_secs, refusal) {
        (Some(skew), Some(why)) => c.fail(
            format!(
                "{} (from its Date header), and Okta refused the client credentials for a \
                 time reason: \"{why}\"",
                describe(skew)
            ),
            fix(),
        ),
        (None, Some(why)) => c.fail(
            format!(
                "Okta refused the client credentials for a time reason: \"{why}\" (no Date \
                 header to measure the skew)"
            ),
            fix(),
        ),
        (Some(skew), None) if skew.abs() >= FAIL_SECS => c.fail(
            format!(
                "{}: client assertions and DPoP proofs are refused beyond 5 minutes",
                describe(skew)
            ),
            fix(),
        ),
        (Some(skew), None) if skew.abs() > WARN_SECS => c.warn(
            format!(
                "{}: tolerated for now, but Okta refuses credentials dated in the future \
                 and anything over 5 minutes",
                describe(skew)
            ),
            fix(),
        ),
        (Some(skew), None) => c.pass(format!(
            "within {} s of Okta's clock (Date header)",
            skew.abs().round().max(1.0)
        )),
        (None, None) => c.warn(
            "Okta's answer had no Date header, so the skew could not be measured",
            fix(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    #[test]
    fn thresholds() {
        assert_eq!(evaluate(Some(0.4), None).status, Status::Pass);
        assert_eq!(evaluate(Some(-31.0), None).status, Status::Warn);
        assert_eq!(evaluate(Some(301.0), None).status, Status::Fail);
        let c = evaluate(
            Some(-12.0),
            Some("The client_assertion token must be issued before the current time."),
        );
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("12 s ahead"), "{}", c.detail);
    }
}
