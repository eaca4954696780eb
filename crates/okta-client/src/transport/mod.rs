//! HTTP: a locked-down reqwest (rustls) client, bounded body reads, retry
//! timing ([`retry`]) and per-bucket rate-limit pacing ([`governor`]).

pub mod governor;
pub mod retry;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::OktaError;

/// Network settings. `Default` gives the production values.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// TCP + TLS connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout (default 30 s).
    pub request_timeout: Duration,
    /// Largest accepted response body (default 32 MiB).
    pub max_body_bytes: usize,
    /// Extra trusted CA certificate(s), PEM, e.g. a TLS simulator's CA
    /// (`--ca-cert`). Added to the platform roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Retries after 5xx / connection errors (idempotent methods) and 429 (default 4).
    pub max_retries: u32,
    /// Longest wait for a rate-limit reset before giving up (default 60 s).
    pub max_rate_limit_wait: Duration,
    /// First backoff step (default 500 ms; doubled per attempt, with jitter).
    pub backoff_base: Duration,
    /// Largest backoff step (default 10 s).
    pub backoff_max: Duration,
    /// Concurrent requests (default 10).
    pub concurrency: usize,
    /// The longest a rate-limit window of the server can last (default 60 s, Okta's
    /// documented window). The governor uses it to bound when a window ends (it ends no
    /// later than this after the first response seen from it), which matters most when
    /// windows are short. Set it to 60 s divided by the simulator's `time_compression`;
    /// a value *shorter* than the server's windows would let requests through too early
    /// (the governor detects that, warns, and stops relying on it).
    pub rate_limit_window: Duration,
    /// `User-Agent`.
    pub user_agent: String,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 32 * 1024 * 1024,
            ca_cert_pem: None,
            max_retries: 4,
            max_rate_limit_wait: Duration::from_secs(60),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            concurrency: 10,
            rate_limit_window: Duration::from_secs(60),
            user_agent: concat!("steward-okta-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A response whose body has been read (bounded by
/// [`TransportOptions::max_body_bytes`]).
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// Parses the body as JSON; on failure the error keeps the raw body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, OktaError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            OktaError::invalid(self.status, format!("invalid JSON: {e}"), Some(&self.body))
        })
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The HTTP client: rustls, no redirects, timeouts, bounded bodies.
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
    opts: TransportOptions,
}

impl Transport {
    /// Builds the client.
    pub fn new(opts: TransportOptions) -> Result<Self, OktaError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            // Never follow a redirect: it could carry the token or proof to another host.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(opts.user_agent.clone());
        if let Some(pem) = &opts.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| OktaError::Config(format!("cannot read the CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(OktaError::Config(
                    "the CA certificate file contains no certificate".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| OktaError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport { http, opts })
    }

    /// The options in use.
    pub fn options(&self) -> &TransportOptions {
        &self.opts
    }

    /// Starts a request.
    pub fn request(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    /// Sends `req` and reads the body in chunks, failing once it passes the limit.
    pub async fn execute(&self, req: reqwest::RequestBuilder) -> Result<Response, OktaError> {
        let mut resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let limit = self.opts.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(OktaError::ResponseTooLarge { limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(OktaError::ResponseTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: body.freeze(),
        })
    }
}
