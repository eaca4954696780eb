//! Scope checks of a client-credentials request to the org authorization server
//! (reference 1.1, 1.5, 3.1).

use crate::error::OAuthError;
use axum::http::StatusCode;
use std::collections::BTreeSet;

/// OIDC scopes, refused for client credentials.
const OIDC_SCOPES: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "groups",
];

/// Resources of Okta's `okta.{resource}.{read|manage}` scopes that the org authorization
/// server knows. Anything else (custom scopes included: the org AS has none) is unknown.
const OKTA_RESOURCES: [&str; 40] = [
    "apiTokens",
    "appGrants",
    "apps",
    "authenticators",
    "authorizationServers",
    "behaviors",
    "brands",
    "captchas",
    "certificateAuthorities",
    "clients",
    "deviceAssurance",
    "devices",
    "domains",
    "emailDomains",
    "eventHooks",
    "events",
    "factors",
    "features",
    "groups",
    "identitySources",
    "idps",
    "inlineHooks",
    "linkedObjects",
    "logStreams",
    "logs",
    "networkZones",
    "oauthIntegrations",
    "orgs",
    "policies",
    "principalRateLimits",
    "profileMappings",
    "rateLimits",
    "realms",
    "reports",
    "roles",
    "schemas",
    "sessions",
    "templates",
    "trustedOrigins",
    "users",
];

/// Whether `scope` is an `okta.*` scope the org authorization server knows.
fn is_known(scope: &str) -> bool {
    let mut parts = scope.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("okta"), Some(resource), Some(action), None) => {
            OKTA_RESOURCES.contains(&resource)
                && match resource {
                    // Read-only resources.
                    "logs" | "events" | "reports" => action == "read",
                    _ => matches!(action, "read" | "manage"),
                }
        }
        _ => false,
    }
}

/// Checks the `scope` parameter against the app's grants and returns the scopes to issue.
///
/// - absent or empty → `invalid_scope` "No scopes were requested." (catalog; that the org AS
///   has no default scopes is [unconfirmed], refusing is the stricter choice);
/// - an OIDC scope → `invalid_scope` "Cannot request 'openid' scopes using client credentials."
///   (used for every OIDC scope, not only `openid`);
/// - an unknown scope → `invalid_scope` with the generic text;
/// - none granted → `400 consent_required` "You are not allowed any of the requested scopes.";
/// - some granted, some not: Okta's answer is [unconfirmed] (reference 3.1). The stricter
///   reading is chosen: the whole request is refused with `invalid_scope` "The following
///   scopes are not allowed for this request: [a, b]." (a catalog text) naming the ungranted
///   scopes, rather than issuing a token with fewer scopes.
pub fn check(
    requested: Option<&str>,
    granted: &BTreeSet<String>,
) -> Result<Vec<String>, OAuthError> {
    let scopes: Vec<&str> = requested
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("No scopes were requested."));
    }
    if scopes.iter().any(|s| OIDC_SCOPES.contains(s)) {
        return Err(OAuthError::invalid_scope(
            "Cannot request 'openid' scopes using client credentials.",
        ));
    }
    if scopes.iter().any(|s| !is_known(s)) {
        return Err(OAuthError::invalid_scope(
            "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.",
        ));
    }
    let (ok, denied): (Vec<&str>, Vec<&str>) = scopes.iter().partition(|s| granted.contains(**s));
    if ok.is_empty() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "consent_required",
            "You are not allowed any of the requested scopes.",
        ));
    }
    if !denied.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "The following scopes are not allowed for this request: [{}].",
            denied.join(", ")
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for s in ok {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scopes() {
        assert!(is_known("okta.users.read") && is_known("okta.groups.manage"));
        assert!(is_known("okta.logs.read") && !is_known("okta.logs.manage"));
        assert!(!is_known("okta.users") && !is_known("okta.nope.read") && !is_known("custom"));
    }
}
