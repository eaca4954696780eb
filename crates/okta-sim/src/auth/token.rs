//! `POST /oauth2/v1/token` of the org authorization server: `client_credentials` with
//! `private_key_jwt` (reference 1.1-1.3, 3.1) and DPoP (reference 2.3, 2.5).
//!
//! Order of checks (Okta's own order is [unconfirmed]; this one reports request-shape errors
//! first): duplicated parameters, `grant_type` present, client credentials (count, type,
//! assertion), grant type allowed, scopes, DPoP, then the token.

use super::dpop::{self, Expected, NoncePolicy, ProofError};
use super::{assertion, scopes, tokens::IssuedToken};
use crate::error::OAuthError;
use crate::model::OAuthClient;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

const DUPLICATE: &str = "The request contained multiple parameters with the same name.";
const MULTIPLE_CREDENTIALS: &str = "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.";
/// The `Valid values` list of the missing-`grant_type` error; the list Okta prints for the
/// org AS is [unconfirmed].
const VALID_GRANTS: &str = "authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:saml2-bearer, urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:device_code, interaction_code";
/// Grant types Okta knows: asking for one the app lacks is `unauthorized_client`; anything
/// else is `unsupported_grant_type`.
const KNOWN_GRANTS: [&str; 10] = [
    "authorization_code",
    "implicit",
    "password",
    "refresh_token",
    "client_credentials",
    "interaction_code",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];

/// The success body (field order as Okta sends it, reference 1.3).
#[derive(Serialize)]
struct TokenResponse {
    token_type: &'static str,
    expires_in: i64,
    access_token: String,
    scope: String,
}

/// The token endpoint handler.
pub async fn handle(
    State(state): State<Arc<SimState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&state, &uri, &headers, &body) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

/// Form parameters, each present once.
type Params = HashMap<String, String>;

/// Parses the form body, refusing repeated parameter names (axum's `Form` would hide them).
/// A body that is not `application/x-www-form-urlencoded` yields no parameters, so it fails
/// as a request without `grant_type` (what Okta answers there is [unconfirmed]).
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let mut params = Params::new();
    if !is_form {
        return Ok(params);
    }
    for (k, v) in url::form_urlencoded::parse(body) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(DUPLICATE));
        }
    }
    Ok(params)
}

fn issue(
    state: &SimState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let query_has_credentials = uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| {
            matches!(
                k.as_ref(),
                "client_id" | "client_secret" | "client_assertion" | "client_assertion_type"
            )
        })
    });
    if query_has_credentials {
        return Err(OAuthError::invalid_request(
            "Client credentials cannot be supplied via query parameters.",
        ));
    }
    let params = parse_form(headers, body)?;
    let param = |name: &str| params.get(name).map(String::as_str);
    let grant_type = param("grant_type")
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "The token request must specify a 'grant_type'. Valid values: [{VALID_GRANTS}]"
            ))
        })?;

    let origin = dpop::request_origin(state, headers);
    let token_url = format!("{origin}{}", uri.path());
    let client = authenticate_client(state, headers, &params, &token_url)?;
    let result = issue_for_client(state, uri, headers, &params, grant_type, &client);
    log_grant(state, &client.client_id, &result);
    result
}

/// The System Log event of a token request by a known client (`app.oauth2.token.grant.access_token`):
/// SUCCESS, CHALLENGE for the `use_dpop_nonce` round trip (Okta logs it so since 2025.04,
/// reference 2.3; FAILURE before), FAILURE with the error description otherwise. Failures that
/// happen before the client is identified are not attributed to any app.
fn log_grant(state: &SimState, client_id: &str, result: &Result<Response, OAuthError>) {
    let (outcome, reason) = match result {
        Ok(_) => ("SUCCESS", None),
        Err(e) if e.error == "use_dpop_nonce" => ("CHALLENGE", Some(e.description.clone())),
        Err(e) => ("FAILURE", Some(e.description.clone())),
    };
    let now = state.clock.now();
    let mut org = state.org.write();
    let targets = org
        .find_app(client_id)
        .map(|a| vec![crate::model::LogRef::App(a)])
        .unwrap_or_default();
    org.log_outcome(
        now,
        "app.oauth2.token.grant.access_token",
        crate::model::LogRef::Client(client_id.to_string()),
        targets,
        outcome,
        reason.map(Into::into),
    );
}

fn issue_for_client(
    state: &SimState,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
    grant_type: &str,
    client: &crate::model::OAuthClient,
) -> Result<Response, OAuthError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    if !client.grant_types.iter().any(|g| g == grant_type) {
        let configured = client.grant_types.join(", ");
        return Err(if KNOWN_GRANTS.contains(&grant_type) {
            OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                format!(
                    "The client is not authorized to use the provided grant type. Configured grant types: [{configured}]."
                ),
            )
        } else {
            OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "The authorization grant type is not supported by the authorization server. Configured grant types: [{configured}]."
                ),
            )
        });
    }
    if grant_type != "client_credentials" {
        // The simulator implements client credentials only.
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
        ));
    }
    let granted = scopes::check(param("scope"), &client.scopes)?;

    let htu = dpop::request_htu(state, headers, uri.path());
    let jkt = check_dpop(state, headers, client, &htu)?;
    let now = state.clock.now();
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    let bound = jkt.is_some();
    let issued = IssuedToken {
        client_id: client.client_id.clone(),
        scopes: granted.iter().cloned().collect(),
        expires_at: now + chrono::TimeDelta::seconds(super::tokens::TOKEN_LIFETIME_SECS),
        jkt,
        revoked: false,
    };
    let access_token = state.auth.mint(state.base_url(), issued, now);
    let mut resp = axum::Json(TokenResponse {
        token_type,
        expires_in: super::tokens::TOKEN_LIFETIME_SECS,
        access_token,
        scope: granted.join(" "),
    })
    .into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // Whether Okta sends `DPoP-Nonce` on a 200 is [unconfirmed]; SDKs store it if present.
    if bound && let Ok(v) = HeaderValue::from_str(&super::nonce::current(state)) {
        h.insert("dpop-nonce", v);
    }
    Ok(resp)
}

/// Identifies and authenticates the client from exactly one credential.
fn authenticate_client(
    state: &SimState,
    headers: &HeaderMap,
    params: &Params,
    token_url: &str,
) -> Result<OAuthClient, OAuthError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim());
    let secret = param("client_secret");
    let assertion = param("client_assertion");
    // A `client_id` parameter next to an assertion also counts as a second credential: the
    // okta-sdk-python source notes that it causes "Cannot supply multiple client
    // credentials." [code]. RFC 7521 would allow it; the stricter reading is chosen.
    let body_creds = secret.is_some() || (assertion.is_some() && param("client_id").is_some());
    let kinds = [basic.is_some(), body_creds, assertion.is_some()];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            MULTIPLE_CREDENTIALS,
        ));
    }
    if let Some(assertion) = assertion {
        if param("client_assertion_type") != Some(assertion::JWT_BEARER) {
            return Err(OAuthError::invalid_request(
                "The client_assertion_type is invalid.",
            ));
        }
        return assertion::authenticate(state, assertion, token_url);
    }
    let client_id = match (basic, param("client_id")) {
        (Some(creds), _) => base64::engine::general_purpose::STANDARD
            .decode(creds)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(id, _)| id.to_string()))
            .ok_or_else(|| {
                OAuthError::invalid_client(
                    "Found Authentication header but was not valid client credentials.",
                )
            })?,
        (None, Some(id)) => id.to_string(),
        (None, None) => return Err(OAuthError::invalid_client("No client credentials found.")),
    };
    // A secret (or no credential) for a known client: the org AS only takes
    // private_key_jwt for client credentials, whatever the secret.
    let client = state
        .org
        .read()
        .clients
        .get(&client_id)
        .cloned()
        .ok_or_else(|| {
            OAuthError::invalid_client(if basic.is_some() || secret.is_some() {
                assertion::CLIENT_AUTH_FAILED
            } else {
                "Invalid value for 'client_id' parameter."
            })
        })?;
    assertion::check_client(state, &client)?;
    Err(OAuthError::invalid_client(
        assertion::MUST_USE_PRIVATE_KEY_JWT,
    ))
}

/// DPoP at the token endpoint. Returns the key thumbprint to bind the token to, or `None`
/// for a Bearer token.
///
/// Apps that require DPoP: the proof must be present, valid and carry a current nonce.
/// Apps that do not: Okta reportedly ignores a proof and issues a Bearer token (reference
/// 2.5, [unconfirmed]); the simulator still validates a proof that is sent (without the nonce
/// requirement) and refuses a broken one — the stricter choice — then issues a Bearer token.
fn check_dpop(
    state: &SimState,
    headers: &HeaderMap,
    client: &OAuthClient,
    htu: &str,
) -> Result<Option<String>, OAuthError> {
    let required = client.dpop.is_required();
    let proof = dpop::single_header(headers).map_err(OAuthError::invalid_dpop_proof)?;
    let Some(proof) = proof else {
        return if required {
            Err(OAuthError::invalid_dpop_proof(dpop::MISSING))
        } else {
            Ok(None)
        };
    };
    let expected = Expected {
        htm: "POST",
        htu,
        access_token: None,
        nonce: if required {
            NoncePolicy::Required
        } else {
            NoncePolicy::Ignored
        },
    };
    match dpop::validate(state, proof, &expected) {
        Ok(valid) => Ok(required.then_some(valid.jkt)),
        Err(ProofError::Invalid(msg)) => Err(OAuthError::invalid_dpop_proof(msg)),
        Err(ProofError::UseNonce) => {
            let mut e = OAuthError::new(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            );
            e.dpop_nonce = Some(super::nonce::current(state));
            Err(e)
        }
    }
}
