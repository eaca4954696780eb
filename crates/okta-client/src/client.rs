//! [`OktaClient`]: one connection to one org, tying inputs, auth and transport together.

use std::fmt;
use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::auth::{
    DpopKey, DpopNonces, GrantContext, Token, TokenCache, TokenType, fetch_token, unix_now,
};
use crate::error::{OktaError, api_error, www_authenticate_param};
use crate::inputs::{ClientId, DpopMode, OktaDomain, PrivateKeyInput};
use crate::stats::{ClientStats, Counters};
use crate::transport::governor::{Governor, bucket_for};
use crate::transport::retry::{backoff, is_idempotent, rate_limit_wait};
use crate::transport::{Response, Transport, TransportOptions};

/// The default scopes for an inventory with membership writes (reference 4).
pub const DEFAULT_SCOPES: [&str; 5] = [
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.logs.read",
    "okta.groups.manage",
];

/// Everything needed to connect. Build the typed fields with the
/// [`crate::inputs`] parsers.
#[derive(Clone, Debug)]
pub struct OktaConfig {
    /// The org.
    pub domain: OktaDomain,
    /// The API Services app.
    pub client_id: ClientId,
    /// Its private key (Debug-redacted).
    pub key: PrivateKeyInput,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// DPoP behaviour.
    pub dpop: DpopMode,
    /// Network settings.
    pub transport: TransportOptions,
}

impl OktaConfig {
    /// A configuration with [`DEFAULT_SCOPES`], DPoP `auto` and default transport.
    pub fn new(domain: OktaDomain, client_id: ClientId, key: PrivateKeyInput) -> Self {
        OktaConfig {
            domain,
            client_id,
            key,
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            dpop: DpopMode::Auto,
            transport: TransportOptions::default(),
        }
    }
}

struct Inner {
    config: OktaConfig,
    base: Url,
    token_url: Url,
    scopes: String,
    tokens: TokenCache,
    shared: Arc<Shared>,
}

/// What every client of one connection shares, including those made by
/// [`OktaClient::with_scopes`]: the HTTP client, rate-limit state, DPoP key
/// and server nonces.
struct Shared {
    transport: Transport,
    governor: Governor,
    dpop: DpopKey,
    nonces: DpopNonces,
    counters: Counters,
}

/// A client for one Okta org. Cheap to clone; clones share the token cache,
/// DPoP key, nonces and rate-limit state.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaClient")
            .field("domain", &self.inner.config.domain)
            .field("client_id", &self.inner.config.client_id)
            .field("dpop", &self.inner.config.dpop)
            .finish_non_exhaustive()
    }
}

impl OktaClient {
    /// Builds the client (no network traffic yet). Generates the per-connection DPoP key.
    pub fn new(config: OktaConfig) -> Result<Self, OktaError> {
        let parse =
            |s: String| Url::parse(&s).map_err(|e| OktaError::Config(format!("bad URL {s}: {e}")));
        let base = parse(format!("{}/", config.domain.base_url()))?;
        let token_url = parse(config.domain.token_url())?;
        let transport = Transport::new(config.transport.clone())?;
        let governor = Governor::with_window(
            config.transport.concurrency,
            config.transport.rate_limit_window,
        );
        let scopes = config.scopes.join(" ");
        let shared = Arc::new(Shared {
            transport,
            governor,
            dpop: DpopKey::generate()?,
            nonces: DpopNonces::default(),
            counters: Counters::default(),
        });
        Ok(OktaClient {
            inner: Arc::new(Inner {
                base,
                token_url,
                scopes,
                tokens: TokenCache::default(),
                shared,
                config,
            }),
        })
    }

    /// A client for the same org and app that asks for `scopes` instead. It
    /// has its own token cache but shares the HTTP client, rate-limit state,
    /// DPoP key and nonces with `self`, so it adds no nonce round trip once
    /// one is known. Used to test scopes one at a time (`steward doctor`).
    pub fn with_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> OktaClient {
        let i = &self.inner;
        let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
        OktaClient {
            inner: Arc::new(Inner {
                config: OktaConfig {
                    scopes: scopes.clone(),
                    ..i.config.clone()
                },
                base: i.base.clone(),
                token_url: i.token_url.clone(),
                scopes: scopes.join(" "),
                tokens: TokenCache::default(),
                shared: Arc::clone(&i.shared),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OktaConfig {
        &self.inner.config
    }

    /// The DPoP key's thumbprint (`cnf.jkt` of this connection's tokens).
    pub fn dpop_thumbprint(&self) -> String {
        self.inner.shared.dpop.thumbprint()
    }

    /// The request counters of this connection so far (shared by all clones and
    /// by clients made with [`OktaClient::with_scopes`]). Take one snapshot
    /// before some work and one after, and use [`ClientStats::since`].
    pub fn stats(&self) -> ClientStats {
        self.inner.shared.counters.snapshot()
    }

    /// The current token, fetching one if needed (single flight).
    pub async fn token(&self) -> Result<Arc<Token>, OktaError> {
        let i = &self.inner;
        let sh = &i.shared;
        i.tokens
            .get_or_fetch(|| async {
                fetch_token(&GrantContext {
                    transport: &sh.transport,
                    governor: &sh.governor,
                    token_url: &i.token_url,
                    client_id: &i.config.client_id,
                    key: i.config.key.key(),
                    scopes: &i.scopes,
                    mode: i.config.dpop,
                    dpop: &sh.dpop,
                    nonces: &sh.nonces,
                })
                .await
            })
            .await
    }

    /// Resolves `path_or_url` (`/api/v1/users?limit=200`, or an absolute URL
    /// on this org such as a `Link` target) and refuses other origins.
    pub fn resolve(&self, path_or_url: &str) -> Result<Url, OktaError> {
        let url = self
            .inner
            .base
            .join(path_or_url)
            .map_err(|e| OktaError::Config(format!("bad path {path_or_url}: {e}")))?;
        if url.origin() != self.inner.base.origin() {
            return Err(OktaError::CrossHostLink {
                url: url.to_string(),
            });
        }
        // Send the path in the same canonical form the DPoP `htu` uses.
        let mut url = url;
        let canonical = crate::auth::canonical_path(url.path());
        url.set_path(&canonical);
        Ok(url)
    }

    /// Sends an authenticated request and returns a 2xx response, retrying as
    /// described in the crate docs. Non-2xx answers become [`OktaError`]s.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Response, OktaError> {
        let url = self.resolve(path_and_query)?;
        self.request_url(method, url, body).await
    }

    /// Like [`OktaClient::request`] (same token, DPoP, retries and rate-limit
    /// handling) but returns the final response whatever its status, for
    /// callers that show Okta's error body (`steward api`). Errors are only
    /// those that leave no response: token, transport, configuration.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Response, OktaError> {
        let url = self.resolve(path_and_query)?;
        self.execute(method, url, body, true).await
    }

    /// `GET` and parse JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, OktaError> {
        self.request(Method::GET, path_and_query, None)
            .await?
            .json()
    }

    pub(crate) async fn request_url(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, OktaError> {
        self.execute(method, url, body, false).await
    }

    /// The request loop. With `raw`, a final non-2xx response is returned
    /// as `Ok` instead of being mapped to an [`OktaError`].
    async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        raw: bool,
    ) -> Result<Response, OktaError> {
        let result = self.execute_inner(method, url, body, raw).await;
        if result.is_err() {
            self.inner.shared.counters.error();
        }
        result
    }

    async fn execute_inner(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        raw: bool,
    ) -> Result<Response, OktaError> {
        let i = &*self.inner;
        let sh = &*i.shared;
        let opts = sh.transport.options();
        let bucket = bucket_for(&method, url.path());
        let idempotent = is_idempotent(&method);
        let (mut attempt, mut nonce_retry_used, mut token_retry_used) = (0u32, false, false);
        loop {
            let token = self.token().await?;
            let mut req = sh
                .transport
                .request(method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let mut auth = HeaderValue::from_str(&format!(
                "{} {}",
                token.token_type.scheme(),
                token.access_token.secret()
            ))
            .map_err(|_| {
                OktaError::invalid(StatusCode::OK, "access token has invalid characters", None)
            })?;
            auth.set_sensitive(true);
            req = req.header(AUTHORIZATION, auth);
            if token.token_type == TokenType::Dpop {
                // A new proof (new jti) for every attempt (reference 2.2, 7).
                let nonce = sh.nonces.resource_nonce();
                let proof = sh.dpop.proof(
                    method.as_str(),
                    &url,
                    nonce.as_deref(),
                    Some(&token.access_token),
                    unix_now(),
                )?;
                req = req.header("DPoP", proof.jwt);
            }
            let permit = sh.governor.acquire(bucket).await?;
            sh.counters.waited(permit.paced());
            sh.counters.request();
            let result = sh.transport.execute(req).await;
            match &result {
                // Every response, 429s included, so the governor learns the window.
                Ok(r) => sh.governor.observe(permit, &r.headers),
                // Unobserved, the request is charged to the window as possibly counted.
                Err(_) => drop(permit),
            }
            let resp = match result {
                Ok(r) => r,
                Err(e @ OktaError::Transport { .. })
                    if idempotent && attempt < opts.max_retries =>
                {
                    tracing::warn!(error = %e, attempt, "request failed; retrying");
                    sh.counters.retry();
                    tokio::time::sleep(backoff(attempt, opts.backoff_base, opts.backoff_max)).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let status = resp.status;
            if status.is_success() {
                return Ok(resp);
            }
            let nonce = resp.header("dpop-nonce").map(str::to_owned);
            if let Some(n) = &nonce {
                sh.nonces.set_resource_nonce(n);
            }
            if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED)
                && nonce.is_some()
                && !nonce_retry_used
                && is_use_dpop_nonce(&resp)
            {
                nonce_retry_used = true;
                sh.counters.retry();
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !token_retry_used {
                // Expired or revoked early: drop this token and fetch a new one, once.
                tracing::debug!("401 from Okta; refreshing the token once");
                i.tokens.invalidate(&token).await;
                token_retry_used = true;
                sh.counters.retry();
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                sh.counters.rate_limited();
                let wait = rate_limit_wait(&resp.headers, opts.max_rate_limit_wait);
                if attempt < opts.max_retries {
                    let wait = wait
                        .unwrap_or_else(|| backoff(attempt, opts.backoff_base, opts.backoff_max));
                    tracing::warn!(
                        bucket,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited by Okta"
                    );
                    sh.counters.waited(wait);
                    sh.counters.retry();
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                if raw {
                    return Ok(resp);
                }
                return Err(OktaError::RateLimited { retry_after: wait });
            }
            if status.is_server_error() && idempotent && attempt < opts.max_retries {
                sh.counters.retry();
                tokio::time::sleep(backoff(attempt, opts.backoff_base, opts.backoff_max)).await;
                attempt += 1;
                continue;
            }
            if raw {
                return Ok(resp);
            }
            if status.is_redirection() {
                return Err(OktaError::Redirect {
                    status: status.as_u16(),
                    location: resp.header("location").unwrap_or_default().to_owned(),
                });
            }
            return Err(api_error(status, &resp.headers, &resp.body));
        }
    }

    /// Adds a user to an `OKTA_GROUP` (`PUT /api/v1/groups/{g}/users/{u}`, scope
    /// `okta.groups.manage`, reference 5.2).
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        let path = member_path(group_id, user_id)?;
        self.request(Method::PUT, &path, None).await.map(|_| ())
    }

    /// Removes a user from an `OKTA_GROUP` (`DELETE …/groups/{g}/users/{u}`).
    pub async fn remove_group_member(
        &self,
        group_id: &str,
        user_id: &str,
    ) -> Result<(), OktaError> {
        let path = member_path(group_id, user_id)?;
        self.request(Method::DELETE, &path, None).await.map(|_| ())
    }
}

/// An unauthenticated `GET` of a public document of the org, such as
/// `/.well-known/okta-organization`, which confirms that a domain really
/// fronts an Okta org (reference 8). Retries connection errors, 5xx and 429
/// like API calls do, never follows redirects, and returns the final response
/// whatever its status.
pub async fn fetch_public(
    domain: &OktaDomain,
    path: &str,
    options: &TransportOptions,
) -> Result<Response, OktaError> {
    if !path.starts_with('/') {
        return Err(OktaError::Config(format!("path must start with /: {path}")));
    }
    let url = Url::parse(&format!("{}{path}", domain.base_url()))
        .map_err(|e| OktaError::Config(format!("bad path {path}: {e}")))?;
    let transport = Transport::new(options.clone())?;
    let mut attempt = 0u32;
    loop {
        let req = transport
            .request(Method::GET, url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        let step = backoff(attempt, options.backoff_base, options.backoff_max);
        match transport.execute(req).await {
            Err(OktaError::Transport { .. }) if attempt < options.max_retries => {
                tokio::time::sleep(step).await;
            }
            Err(e) => return Err(e),
            Ok(resp) => {
                let limited = resp.status == StatusCode::TOO_MANY_REQUESTS;
                if !(limited || resp.status.is_server_error()) || attempt >= options.max_retries {
                    return Ok(resp);
                }
                let wait = limited
                    .then(|| rate_limit_wait(&resp.headers, options.max_rate_limit_wait))
                    .flatten()
                    .unwrap_or(step);
                tokio::time::sleep(wait).await;
            }
        }
        attempt += 1;
    }
}

/// Okta ids are base62; refusing anything else keeps paths unambiguous.
fn check_id(what: &str, id: &str) -> Result<(), OktaError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(OktaError::Config(format!("invalid {what} id")));
    }
    Ok(())
}

fn member_path(group_id: &str, user_id: &str) -> Result<String, OktaError> {
    check_id("group", group_id)?;
    check_id("user", user_id)?;
    Ok(format!("/api/v1/groups/{group_id}/users/{user_id}"))
}

fn is_use_dpop_nonce(resp: &Response) -> bool {
    www_authenticate_param(&resp.headers, "error").as_deref() == Some("use_dpop_nonce")
        || serde_json::from_slice::<Value>(&resp.body)
            .is_ok_and(|v| v.get("error").and_then(Value::as_str) == Some("use_dpop_nonce"))
}
