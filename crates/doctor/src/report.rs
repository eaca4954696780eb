//! The doctor's result: [`Report`], a list of [`Check`]s, serialisable as the `--json` shape
//! `{"ok", "dpop", "granted_scopes", "checks": [{"id", "step", "status", "detail", "fix"}]}`.

use serde::Serialize;

use crate::steps::SetupStep;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Verified and fine.
    Pass,
    /// Works now, or could not be fully verified, but needs attention.
    Warn,
    /// Broken: Steward will not work until fixed.
    Fail,
    /// Not run because an earlier problem prevents it; `detail` says which.
    Skip,
}

impl Status {
    /// `pass`, `warn`, `fail`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check: what was verified, against which setup step, what was seen and the fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id for scripts: `org`, `client_id`, `client_auth`, `private_key`, `dpop`,
    /// `clock`, `scope:<scope>`, `role:read_only_admin`, `role:group_membership_admin`.
    pub id: String,
    /// Human title (not in the JSON).
    #[serde(skip)]
    pub title: String,
    /// The setup step concerned (JSON: number, or `"host-clock"`).
    pub step: SetupStep,
    /// The outcome.
    pub status: Status,
    /// What the doctor did and saw. Never contains key material or tokens.
    pub detail: String,
    /// What to do; `None` when the check passes.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn new(id: impl Into<String>, title: impl Into<String>, step: SetupStep) -> Self {
        Check {
            id: id.into(),
            title: title.into(),
            step,
            status: Status::Skip,
            detail: String::new(),
            fix: None,
        }
    }

    pub(crate) fn pass(mut self, detail: impl Into<String>) -> Self {
        self.status = Status::Pass;
        self.detail = detail.into();
        self.fix = None;
        self
    }

    pub(crate) fn warn(mut self, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        self.status = Status::Warn;
        self.detail = detail.into();
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn fail(mut self, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        self.status = Status::Fail;
        self.detail = detail.into();
        self.fix = Some(fix.into());
        self
    }

    /// A skipped check: `why` names the earlier problem; the fix is to fix that first.
    pub(crate) fn skip(mut self, why: impl Into<String>) -> Self {
        self.status = Status::Skip;
        self.detail = format!("not checked: {}", why.into());
        self.fix = Some("Fix the problem reported above first, then run the doctor again.".into());
        self
    }

    pub(crate) fn with_step(mut self, step: SetupStep) -> Self {
        self.step = step;
        self
    }
}

/// The whole connection test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `true` only when every check passed.
    pub ok: bool,
    /// Whether Okta issued DPoP-bound tokens (the app requires DPoP). `false` when unknown.
    pub dpop: bool,
    /// The scopes Okta granted, each tested with its own token request.
    pub granted_scopes: Vec<String>,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn new(checks: Vec<Check>, dpop: bool, granted_scopes: Vec<String>) -> Self {
        Report {
            ok: checks.iter().all(|c| c.status == Status::Pass),
            dpop,
            granted_scopes,
            checks,
        }
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// The JSON value printed by `steward doctor --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}))
    }
}
