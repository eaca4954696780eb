//! The resource-side check of every `/api/v1/*` request: a valid, unexpired, unrevoked token
//! presented with the right scheme (and, for DPoP-bound tokens, a valid proof), then the
//! endpoint's scope and the admin role (reference 3.3, 4).

use super::resource::{self, Rejection, Scheme};
use crate::error::ApiError;
use crate::state::SimState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The authenticated caller of a management API request.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The OAuth client.
    pub client_id: String,
    /// Scopes of the token.
    pub scopes: BTreeSet<String>,
    /// Admin roles of the client (read at request time, as Okta evaluates roles per call).
    pub roles: BTreeSet<String>,
    /// The token is DPoP-bound (challenges then use the `DPoP` scheme).
    pub dpop_bound: bool,
}

/// Which admin permission an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// View users.
    ReadUsers,
    /// View groups and members.
    ReadGroups,
    /// View apps and assignments.
    ReadApps,
    /// View the System Log.
    ReadLogs,
    /// Add and remove users in groups.
    ManageGroupMembership,
}

impl Permission {
    /// Whether any of `roles` grants this permission (help.okta.com admin comparison,
    /// reference 4). GROUP_MEMBERSHIP_ADMIN can view users and groups and change memberships
    /// but not view apps or the System Log.
    pub fn granted_by(self, roles: &BTreeSet<String>) -> bool {
        roles.iter().any(|r| {
            matches!(
                (r.as_str(), self),
                ("SUPER_ADMIN" | "ORG_ADMIN", _)
                    | (
                        "READ_ONLY_ADMIN",
                        Self::ReadUsers | Self::ReadGroups | Self::ReadApps | Self::ReadLogs
                    )
                    | (
                        "GROUP_MEMBERSHIP_ADMIN",
                        Self::ReadUsers | Self::ReadGroups | Self::ManageGroupMembership
                    )
                    | (
                        "GROUP_ADMIN" | "USER_ADMIN",
                        Self::ReadUsers | Self::ReadGroups | Self::ManageGroupMembership
                    )
                    | (
                        "APP_ADMIN",
                        Self::ReadApps | Self::ReadUsers | Self::ReadGroups
                    )
                    | ("REPORT_ADMIN", Self::ReadLogs)
            )
        })
    }
}

impl Principal {
    /// Checks that the token carries `scope` (a `*.manage` scope implies its `*.read`).
    /// Refusal: 403 with `WWW-Authenticate: Bearer … error="insufficient_scope"` (reference 3.3).
    pub fn require_scope(&self, scope: &str, base: &str, resource: &str) -> Result<(), ApiError> {
        let manage = scope.replace(".read", ".manage");
        if self.scopes.contains(scope) || self.scopes.contains(&manage) {
            return Ok(());
        }
        let realm = base.replacen("https://", "http://", 1);
        // The challenge uses the scheme of the presented token (RFC 9449 section 7.1).
        let scheme = if self.dpop_bound {
            "DPoP algs=\"RS256 RS384 RS512 ES256 ES384 ES512\","
        } else {
            "Bearer"
        };
        Err(ApiError::new("E0000006", "You do not have permission to perform the requested action")
            .with_header(
                header::WWW_AUTHENTICATE,
                format!(
                    "{scheme} authorization_uri=\"{realm}/oauth2/v1/authorize\", realm=\"{realm}\", scope=\"{scope}\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{resource}\""
                ),
            ))
    }

    /// Checks the admin role: 403 `E0000006` when no role grants `perm`.
    pub fn require_role(&self, perm: Permission) -> Result<(), ApiError> {
        if perm.granted_by(&self.roles) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Whether the client's roles grant `perm`.
    pub fn has(&self, perm: Permission) -> bool {
        perm.granted_by(&self.roles)
    }
}

/// A 401 for a missing, unknown, expired or revoked token (`E0000011`, with the
/// `WWW-Authenticate` challenge Okta sends for OAuth tokens; the exact form for OAuth tokens is
/// [unconfirmed], reference 3.2).
pub fn invalid_token(base: &str, scheme: &str, description: &str) -> ApiError {
    let realm = base.replacen("https://", "http://", 1);
    ApiError::new("E0000011", "Invalid token provided").with_header(
        header::WWW_AUTHENTICATE,
        format!(
            "{scheme} authorization_uri=\"{realm}/oauth2/v1/authorize\", realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\""
        ),
    )
}

impl FromRequestParts<Arc<SimState>> for Principal {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        check(parts, state).map_err(IntoResponse::into_response)
    }
}

/// Authenticates the request in `parts` (see [`check`]); the error's body is the JSON one
/// even where the extractor answers with an empty body.
pub fn authenticate(parts: &Parts, state: &SimState) -> Result<Principal, ApiError> {
    check(parts, state).map_err(|r| r.error)
}

/// Authenticates the request in `parts`: a known, unexpired, unrevoked token presented with
/// the scheme its type demands (reference 2.5 resource table):
/// - DPoP-bound token as `Bearer` → 400 `invalid_request` "The resource request must use the
///   DPoP authentication scheme when using a DPoP bound token.";
/// - DPoP-bound token as `DPoP` → the proof checks of [`resource::check_proof`];
/// - Bearer token as `DPoP` → 401 `invalid_token` "The presented access_token is not DPoP
///   bound.".
pub fn check(parts: &Parts, state: &SimState) -> Result<Principal, Rejection> {
    let path = parts.uri.path();
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            resource::invalid_token(state, Scheme::Bearer, "The access token is missing.", path)
        })?;
    let (scheme, token) = auth
        .trim()
        .split_once(' ')
        .map(|(s, t)| (s, t.trim()))
        .ok_or_else(|| {
            resource::invalid_token(state, Scheme::Bearer, "The access token is invalid.", path)
        })?;
    // Authentication schemes are case-insensitive (RFC 9110 section 11.1).
    let scheme = if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else {
        return Err(resource::invalid_token(
            state,
            Scheme::Bearer,
            "The access token is invalid.",
            path,
        ));
    };
    let issued = state.auth.lookup(token).ok_or_else(|| {
        resource::invalid_token(state, scheme, "The access token is invalid.", path)
    })?;
    if issued.revoked {
        return Err(resource::invalid_token(
            state,
            scheme,
            "The access token has been revoked.",
            path,
        ));
    }
    if issued.expires_at <= state.clock.now() {
        return Err(resource::invalid_token(
            state,
            scheme,
            "The token has expired.",
            path,
        ));
    }
    match (&issued.jkt, scheme) {
        (Some(_), Scheme::Bearer) => {
            return Err(resource::bad_request(
                state,
                "invalid_request",
                "The resource request must use the DPoP authentication scheme when using a DPoP bound token.",
                path,
            ));
        }
        (Some(jkt), Scheme::Dpop) => resource::check_proof(parts, state, token, jkt)?,
        (None, Scheme::Dpop) => {
            return Err(resource::invalid_token(
                state,
                Scheme::Dpop,
                "The presented access_token is not DPoP bound.",
                path,
            ));
        }
        (None, Scheme::Bearer) => {}
    }
    let roles = state
        .org
        .read()
        .clients
        .get(&issued.client_id)
        .map(|c| c.roles.clone())
        .unwrap_or_default();
    Ok(Principal {
        dpop_bound: issued.jkt.is_some(),
        client_id: issued.client_id,
        scopes: issued.scopes,
        roles,
    })
}
