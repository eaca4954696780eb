//! The client-credentials grant against the org authorization server
//! (reference 1.1, 2.3), with the DPoP nonce challenge and retries.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use steward_jose::PrivateKey;
use tokio::time::Instant;
use url::Url;
use zeroize::Zeroizing;

use super::{AccessToken, ClientAssertion, DpopKey, DpopNonces, Token, TokenType, unix_now};
use crate::auth::CLIENT_ASSERTION_TYPE;
use crate::error::{OAuthErrorBody, OktaError, token_error};
use crate::inputs::{ClientId, DpopMode};
use crate::transport::governor::Governor;
use crate::transport::retry::{backoff, rate_limit_wait};
use crate::transport::{Response, Transport};

/// Everything a token request needs (borrowed from the client).
pub(crate) struct GrantContext<'a> {
    pub(crate) transport: &'a Transport,
    pub(crate) governor: &'a Governor,
    pub(crate) token_url: &'a Url,
    pub(crate) client_id: &'a ClientId,
    pub(crate) key: &'a PrivateKey,
    pub(crate) scopes: &'a str,
    pub(crate) mode: DpopMode,
    pub(crate) dpop: &'a DpopKey,
    pub(crate) nonces: &'a DpopNonces,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: AccessToken,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// Requests a token. Every attempt carries a **fresh** client assertion and,
/// unless DPoP is off, a fresh proof (reference 1.2, 2.2).
///
/// In [`DpopMode::Auto`] the first request already carries a proof, so an app
/// that requires DPoP answers with the nonce challenge rather than a failed
/// grant, and an app that does not require it answers `Bearer`.
pub(crate) async fn fetch_token(cx: &GrantContext<'_>) -> Result<Token, OktaError> {
    let opts = cx.transport.options();
    let mut nonce_retry_used = false;
    let mut attempt = 0u32;
    loop {
        let assertion =
            Zeroizing::new(ClientAssertion::new(cx.client_id, cx.token_url.as_str()).sign(cx.key)?);
        let form: [(&str, &str); 4] = [
            ("grant_type", "client_credentials"),
            ("scope", cx.scopes),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        let mut req = cx
            .transport
            .request(Method::POST, cx.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let sent_proof = cx.mode != DpopMode::Off;
        if sent_proof {
            let nonce = cx.nonces.token_nonce();
            let proof = cx
                .dpop
                .proof("POST", cx.token_url, nonce.as_deref(), None, unix_now())?;
            req = req.header("DPoP", proof.jwt);
        }
        let permit = cx.governor.acquire("token").await?;
        let started = Instant::now();
        let result = cx.transport.execute(req).await;
        match &result {
            Ok(r) => cx.governor.observe(permit, &r.headers),
            Err(_) => drop(permit),
        }
        let resp = match result {
            Ok(r) => r,
            Err(e @ OktaError::Transport { .. }) if attempt < opts.max_retries => {
                tracing::warn!(error = %e, attempt, "token request failed; retrying");
                tokio::time::sleep(backoff(attempt, opts.backoff_base, opts.backoff_max)).await;
                attempt += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(n) = resp.header("dpop-nonce") {
            cx.nonces.set_token_nonce(n);
        }
        if resp.status.is_success() {
            return parse_success(cx.mode, &resp, started);
        }
        if resp.status == StatusCode::BAD_REQUEST
            && sent_proof
            && !nonce_retry_used
            && is_nonce_challenge(&resp)
        {
            // RFC 9449 section 8: retry once with the nonce (now stored).
            tracing::debug!("token endpoint sent a DPoP nonce; retrying");
            nonce_retry_used = true;
            continue;
        }
        if resp.status == StatusCode::TOO_MANY_REQUESTS {
            let wait = rate_limit_wait(&resp.headers, opts.max_rate_limit_wait);
            if attempt < opts.max_retries {
                let wait =
                    wait.unwrap_or_else(|| backoff(attempt, opts.backoff_base, opts.backoff_max));
                tracing::warn!(
                    wait_ms = wait.as_millis() as u64,
                    "token endpoint rate limited"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(OktaError::RateLimited { retry_after: wait });
        }
        if resp.status.is_server_error() && attempt < opts.max_retries {
            tokio::time::sleep(backoff(attempt, opts.backoff_base, opts.backoff_max)).await;
            attempt += 1;
            continue;
        }
        if resp.status.is_redirection() {
            return Err(OktaError::Redirect {
                status: resp.status.as_u16(),
                location: resp.header("location").unwrap_or_default().to_owned(),
            });
        }
        let err = token_error(resp.status, &resp.body);
        tracing::warn!(status = resp.status.as_u16(), error = %err, "token request refused");
        return Err(err);
    }
}

fn is_nonce_challenge(resp: &Response) -> bool {
    serde_json::from_slice::<OAuthErrorBody>(&resp.body).is_ok_and(|b| b.error == "use_dpop_nonce")
}

fn parse_success(mode: DpopMode, resp: &Response, started: Instant) -> Result<Token, OktaError> {
    // The body holds the token: never keep it in an error.
    let body: TokenBody = serde_json::from_slice(&resp.body).map_err(|e| {
        OktaError::invalid(
            resp.status,
            format!("token response is not valid: {e}"),
            None,
        )
    })?;
    let token_type = if body.token_type.eq_ignore_ascii_case("dpop") {
        TokenType::Dpop
    } else if body.token_type.eq_ignore_ascii_case("bearer") {
        TokenType::Bearer
    } else {
        return Err(OktaError::invalid(
            resp.status,
            format!(
                "unknown token_type \"{}\"",
                body.token_type.chars().take(20).collect::<String>()
            ),
            None,
        ));
    };
    match (mode, token_type) {
        (DpopMode::On, TokenType::Bearer) => {
            return Err(OktaError::DpopNotEnabled {
                token_type: body.token_type,
            });
        }
        (DpopMode::Off, TokenType::Dpop) => {
            return Err(OktaError::invalid(
                resp.status,
                "DPoP token issued although no proof was sent",
                None,
            ));
        }
        _ => {}
    }
    if mode == DpopMode::Auto && token_type == TokenType::Bearer {
        tracing::debug!("app does not require DPoP; using a Bearer token");
    }
    // Okta's lifetime is fixed at one hour (reference 1.3).
    let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600));
    Ok(Token {
        access_token: body.access_token,
        token_type,
        expires_at: started + lifetime,
        scope: body.scope,
    })
}
