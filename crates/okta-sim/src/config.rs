//! Simulator configuration: the org to generate and the behaviour switches.

use serde::{Deserialize, Serialize};

/// The five OAuth scopes Steward asks for (the mission's setup step "grant the scopes").
pub const DEFAULT_SCOPES: [&str; 5] = [
    "okta.users.read",
    "okta.apps.read",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.logs.read",
];

/// The two admin roles Steward needs (reference section 4).
pub const DEFAULT_ROLES: [&str; 2] = ["READ_ONLY_ADMIN", "GROUP_MEMBERSHIP_ADMIN"];

/// Whether an API Services app requires DPoP-bound tokens
/// (`settings.oauthClient.dpop_bound_access_tokens`, reference 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DpopMode {
    /// Token requests without a `DPoP` proof are refused. The default for new apps in Okta.
    #[default]
    Required,
    /// Proofs are ignored by the token endpoint, which issues Bearer tokens.
    Optional,
}

impl DpopMode {
    /// Parses `required` or `optional`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "required" | "on" | "true" => Some(Self::Required),
            "optional" | "off" | "false" => Some(Self::Optional),
            _ => None,
        }
    }
    /// Whether DPoP is required.
    pub fn is_required(self) -> bool {
        self == Self::Required
    }
}

/// What a list endpoint does when the caller's admin role does not cover it.
///
/// Okta answers 403 `E0000006` on most endpoints, but `/api/v1/users` and `/api/v1/apps` have been
/// reported to answer `200 []` instead (reference 3.3, [reported]). `OktaLike` reproduces that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MissingRoleBehaviour {
    /// `200 []` on `/api/v1/users` and `/api/v1/apps`, 403 `E0000006` elsewhere.
    #[default]
    OktaLike,
    /// 403 `E0000006` everywhere.
    AlwaysForbidden,
}

/// Everything needed to build a simulated org.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// Number of users to generate.
    pub users: usize,
    /// Number of OKTA_GROUP and APP_GROUP groups to generate (Everyone comes on top).
    pub groups: usize,
    /// Number of apps to generate (the API Services app of the credentials comes on top).
    pub apps: usize,
    /// Days of System Log history to generate.
    pub log_days: u32,
    /// Generated System Log events per day; `None` picks a default from the user count.
    pub log_events_per_day: Option<usize>,
    /// The DPoP setting of the default API Services app.
    pub dpop: DpopMode,
    /// Scopes granted to the default API Services app.
    pub scopes: Vec<String>,
    /// Admin roles assigned to the default API Services app.
    pub roles: Vec<String>,
    /// Rate limits in force.
    pub rate_limits: crate::ratelimit::RateLimitConfig,
    /// Behaviour of list endpoints without the right admin role.
    pub missing_role: MissingRoleBehaviour,
    /// The host name the org pretends to have, used in `domain` of the credentials.
    /// The base URL is always the address actually served.
    pub domain: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            users: 200,
            groups: 20,
            apps: 10,
            log_days: 7,
            log_events_per_day: None,
            dpop: DpopMode::Required,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            roles: DEFAULT_ROLES.iter().map(|s| s.to_string()).collect(),
            rate_limits: crate::ratelimit::RateLimitConfig::off(),
            missing_role: MissingRoleBehaviour::OktaLike,
            domain: "acme.okta-sim.test".to_string(),
        }
    }
}

impl SimConfig {
    /// A small org for unit tests: 50 users, 8 groups, 5 apps, 2 days of logs, rate limits off.
    pub fn small() -> Self {
        Self {
            users: 50,
            groups: 8,
            apps: 5,
            log_days: 2,
            ..Self::default()
        }
    }
}
