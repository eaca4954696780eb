//! Resource-side token checks of `/api/v1/*` (reference 2.4, 2.5, 10.3): the scheme must
//! match the token type, and a DPoP-bound token needs a valid proof for this very request,
//! signed by the key the token is bound to.
//!
//! Failures carry their details in `WWW-Authenticate` as Okta sends them (reference 2.5):
//! `DPoP algs="…", authorization_uri="http://{org}/oauth2/v1/authorize", realm="http://{org}",
//! error="…", error_description="…", resource="/api/v1/…"` (`http://` even on https orgs, as
//! observed). Body: 401s carry the `E0000011` JSON; the 400 DPoP errors have an **empty**
//! body, as reported (okta-sdk-dotnet#825), so that clients cannot come to depend on a body
//! Okta does not reliably send.

use super::dpop::{self, Expected, NoncePolicy, ProofError};
use crate::error::ApiError;
use crate::state::SimState;
use crate::wellknown::SIGNING_ALGS;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a management API request was not authenticated.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// Status, code and headers (`WWW-Authenticate`).
    pub error: ApiError,
    /// Answer without a body (the 400 DPoP errors).
    pub empty_body: bool,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if !self.empty_body {
            return self.error.into_response();
        }
        let mut resp = self.error.status.into_response();
        for (name, value) in &self.error.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().append(name.clone(), v);
            }
        }
        resp
    }
}

/// The authentication scheme of a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 section 7.1), with the `algs` parameter.
    Dpop,
}

/// Okta's `WWW-Authenticate` value for an error on `resource`.
pub fn challenge(
    base: &str,
    scheme: Scheme,
    error: &str,
    description: &str,
    resource: &str,
) -> String {
    let realm = base.replacen("https://", "http://", 1);
    let prefix = match scheme {
        Scheme::Bearer => "Bearer".to_string(),
        Scheme::Dpop => format!("DPoP algs=\"{}\",", SIGNING_ALGS.join(" ")),
    };
    format!(
        "{prefix} authorization_uri=\"{realm}/oauth2/v1/authorize\", realm=\"{realm}\", error=\"{error}\", error_description=\"{description}\", resource=\"{resource}\""
    )
}

/// `401 invalid_token` with the `E0000011` body.
pub fn invalid_token(
    state: &SimState,
    scheme: Scheme,
    description: &str,
    resource: &str,
) -> Rejection {
    let value = challenge(
        state.base_url(),
        scheme,
        "invalid_token",
        description,
        resource,
    );
    Rejection {
        error: ApiError::new("E0000011", "Invalid token provided")
            .with_header(header::WWW_AUTHENTICATE, value),
        empty_body: false,
    }
}

/// A `400` DPoP error (`invalid_request` or `invalid_dpop_proof`) with an empty body.
pub fn bad_request(state: &SimState, error: &str, description: &str, resource: &str) -> Rejection {
    let value = challenge(state.base_url(), Scheme::Dpop, error, description, resource);
    let mut api = ApiError::new("E0000011", "Invalid token provided")
        .with_header(header::WWW_AUTHENTICATE, value);
    api.status = StatusCode::BAD_REQUEST;
    Rejection {
        error: api,
        empty_body: true,
    }
}

/// Checks the `DPoP` proof of a request presenting the DPoP-bound `token` (bound to `jkt`):
/// present, single, valid for this method and URL (percent-decoded path, no query), `ath`
/// matching the token, unused, and signed by the bound key. No nonce is required on Okta's
/// resources (reference 2.2 [doc]).
pub fn check_proof(
    parts: &Parts,
    state: &SimState,
    token: &str,
    jkt: &str,
) -> Result<(), Rejection> {
    let resource = parts.uri.path();
    let invalid = |msg: &str| bad_request(state, "invalid_dpop_proof", msg, resource);
    let proof = dpop::single_header(&parts.headers)
        .map_err(invalid)?
        .ok_or_else(|| {
            bad_request(
                state,
                "invalid_request",
                "The resource request requires a DPoP proof.",
                resource,
            )
        })?;
    let htu = dpop::request_htu(state, &parts.headers, resource);
    let expected = Expected {
        htm: parts.method.as_str(),
        htu: &htu,
        access_token: Some(token),
        nonce: NoncePolicy::Ignored,
    };
    let valid = dpop::validate(state, proof, &expected).map_err(|e| match e {
        ProofError::Invalid(msg) => invalid(msg),
        ProofError::UseNonce => invalid("The DPoP proof JWT is invalid."),
    })?;
    if valid.jkt != jkt {
        return Err(invalid(
            "The access_token is not bound to the provided DPoP proof.",
        ));
    }
    Ok(())
}
