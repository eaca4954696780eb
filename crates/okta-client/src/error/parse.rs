//! Parsing of Okta's error responses into [`OktaError`].

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::OktaError;

/// An OAuth error body (RFC 6749 section 5.2).
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: String,
}

/// Maps a token endpoint error (reference 3.1 and 2.5) to an [`OktaError`].
pub(crate) fn token_error(status: StatusCode, body: &[u8]) -> OktaError {
    let Ok(err) = serde_json::from_slice::<OAuthErrorBody>(body) else {
        let api = serde_json::from_slice::<ApiErrorBody>(body);
        if status == StatusCode::TOO_MANY_REQUESTS || api.is_ok_and(|a| a.error_code == "E0000047")
        {
            return OktaError::RateLimited { retry_after: None };
        }
        return OktaError::invalid(
            status,
            "token endpoint error without an OAuth error body",
            Some(body),
        );
    };
    let d = err.error_description.clone();
    let dl = d.to_ascii_lowercase();
    match err.error.as_str() {
        "invalid_client" if dl.contains("private_key_jwt") => {
            OktaError::WrongAuthMethod { description: d }
        }
        "invalid_client" if dl.contains("application_type") => {
            OktaError::NotServiceApp { description: d }
        }
        "invalid_client"
            if dl.contains("signature is invalid")
                || dl.contains("kid is invalid")
                || dl.contains("jwkset")
                || dl.contains("signature algorithm")
                || dl.contains("'use' parameter") =>
        {
            OktaError::KeyMismatch { description: d }
        }
        "invalid_client"
            if dl.contains("expired")
                || dl.contains("future")
                || dl.contains("issued before")
                || dl.contains("audience")
                || dl.contains("already been used")
                || dl.contains("'exp'") =>
        {
            OktaError::AssertionRejected { description: d }
        }
        "invalid_client" => OktaError::UnknownClient { description: d },
        "invalid_dpop_proof" if dl.contains("missing") => {
            OktaError::DpopRequired { description: d }
        }
        "invalid_dpop_proof" => OktaError::DpopRejected { description: d },
        "consent_required" | "invalid_scope" => OktaError::ScopesNotGranted { description: d },
        _ if status == StatusCode::TOO_MANY_REQUESTS => {
            OktaError::RateLimited { retry_after: None }
        }
        other => OktaError::TokenEndpoint {
            status: status.as_u16(),
            error: other.to_owned(),
            description: d,
        },
    }
}

/// A management API error body (reference 3.2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiErrorBody {
    pub(crate) error_code: String,
    #[serde(default)]
    pub(crate) error_summary: String,
}

/// Extracts `key="value"` from a `WWW-Authenticate` header (reference 2.5, 3.3).
pub(crate) fn www_authenticate_param(headers: &HeaderMap, key: &str) -> Option<String> {
    for value in headers.get_all(reqwest::header::WWW_AUTHENTICATE) {
        let Ok(v) = value.to_str() else { continue };
        let needle = format!("{key}=\"");
        let mut rest = v;
        while let Some(i) = rest.find(&needle) {
            // Make sure we matched a whole parameter name.
            let before = rest[..i].chars().last();
            let after = &rest[i + needle.len()..];
            if before.is_none_or(|c| c == ' ' || c == ',') {
                return after.split('"').next().map(str::to_owned);
            }
            rest = after;
        }
    }
    None
}

/// Maps a non-success management API response to an [`OktaError`].
pub(crate) fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> OktaError {
    let request_id = headers
        .get("x-okta-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return OktaError::RateLimited { retry_after: None };
    }
    if let Some(error) = www_authenticate_param(headers, "error") {
        let description = www_authenticate_param(headers, "error_description").unwrap_or_default();
        return match error.as_str() {
            "insufficient_scope" => OktaError::InsufficientScope {
                scope: www_authenticate_param(headers, "scope"),
            },
            "invalid_token" => OktaError::InvalidToken { description },
            "invalid_dpop_proof" => OktaError::DpopRejected { description },
            _ => OktaError::Api {
                status: status.as_u16(),
                error_code: error,
                summary: description,
                request_id,
            },
        };
    }
    match serde_json::from_slice::<ApiErrorBody>(body) {
        Ok(b) if b.error_code == "E0000006" => OktaError::MissingAdminRole {
            summary: b.error_summary,
            request_id,
        },
        Ok(b) if b.error_code == "E0000007" => OktaError::NotFound {
            summary: b.error_summary,
        },
        Ok(b) => OktaError::Api {
            status: status.as_u16(),
            error_code: b.error_code,
            summary: b.error_summary,
            request_id,
        },
        Err(_) => match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(o) if o.error == "invalid_token" => OktaError::InvalidToken {
                description: o.error_description,
            },
            Ok(o) => OktaError::Api {
                status: status.as_u16(),
                error_code: o.error,
                summary: o.error_description,
                request_id,
            },
            Err(_) if status.is_server_error() => OktaError::Api {
                status: status.as_u16(),
                error_code: String::new(),
                summary: "server error".into(),
                request_id,
            },
            Err(_) => OktaError::invalid(status, "unexpected error response", Some(body)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(status: u16, error: &str, desc: &str) -> OktaError {
        let body = serde_json::json!({"error": error, "error_description": desc}).to_string();
        token_error(
            StatusCode::from_u16(status).expect("status"),
            body.as_bytes(),
        )
    }

    #[test]
    fn token_errors_map_to_setup_steps() {
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "Client authentication failed. Either the client or the client credentials are invalid."
            ),
            OktaError::UnknownClient { .. }
        ));
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method."
            ),
            OktaError::WrongAuthMethod { .. }
        ));
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "The client_assertion signature is invalid."
            ),
            OktaError::KeyMismatch { .. }
        ));
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "The client_assertion JWT kid is invalid."
            ),
            OktaError::KeyMismatch { .. }
        ));
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "The client_assertion token is expired."
            ),
            OktaError::AssertionRejected { .. }
        ));
        // Catalog text for an `iat` in the future: no "future" in it.
        assert!(matches!(
            tok(
                401,
                "invalid_client",
                "The client_assertion token must be issued before the current time."
            ),
            OktaError::AssertionRejected { .. }
        ));
        assert!(matches!(
            tok(
                400,
                "invalid_dpop_proof",
                "The DPoP proof JWT header is missing."
            ),
            OktaError::DpopRequired { .. }
        ));
        assert!(matches!(
            tok(
                400,
                "consent_required",
                "You are not allowed any of the requested scopes."
            ),
            OktaError::ScopesNotGranted { .. }
        ));
        assert!(matches!(
            tok(400, "invalid_scope", "x"),
            OktaError::ScopesNotGranted { .. }
        ));
        let raw = token_error(StatusCode::BAD_GATEWAY, b"<html>oops</html>");
        assert!(
            matches!(raw, OktaError::InvalidResponse { body: Some(ref b), .. } if b.contains("oops"))
        );
    }

    #[test]
    fn api_errors() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::WWW_AUTHENTICATE,
            reqwest::header::HeaderValue::from_static(
                "Bearer authorization_uri=\"http://x/oauth2/v1/authorize\", realm=\"http://x\", scope=\"okta.groups.read\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\"",
            ),
        );
        let e = api_error(StatusCode::FORBIDDEN, &h, b"");
        assert!(
            matches!(e, OktaError::InsufficientScope { scope: Some(ref s) } if s == "okta.groups.read")
        );
        let body = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorLink":"E0000006","errorId":"x","errorCauses":[]}"#;
        let e = api_error(StatusCode::FORBIDDEN, &HeaderMap::new(), body);
        assert!(matches!(e, OktaError::MissingAdminRole { .. }));
    }
}
