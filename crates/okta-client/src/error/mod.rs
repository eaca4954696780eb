//! [`OktaError`]: what went wrong talking to Okta, phrased as what the admin must do.
//!
//! Token endpoint errors (`{"error","error_description"}`, reference 3.1) are
//! mapped to setup steps; management API errors (`errorCode`, reference 3.2,
//! and `WWW-Authenticate`, reference 2.5 and 3.3) to scopes, roles and ids.
//! [`OktaError::fix`] gives the remedy text.

use std::time::Duration;

use reqwest::StatusCode;

use crate::inputs::InputError;

mod parse;
pub(crate) use parse::{OAuthErrorBody, api_error, token_error, www_authenticate_param};

/// At most this much of an unexpected body is kept in [`OktaError::InvalidResponse`].
const RAW_BODY_LIMIT: usize = 4096;

/// An error from the Okta client. Marked `#[non_exhaustive]`: match with a
/// wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OktaError {
    /// A setup value is invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The client configuration is unusable (e.g. unreadable CA certificate).
    #[error("configuration error: {0}")]
    Config(String),

    /// Okta does not know the Client ID (or the assertion's `iss`/`sub`).
    #[error("Okta does not recognise the client: {description}")]
    UnknownClient {
        /// Okta's `error_description`.
        description: String,
    },
    /// The app uses a client secret instead of `private_key_jwt`.
    #[error("the app is not set up for private key authentication: {description}")]
    WrongAuthMethod {
        /// Okta's `error_description`.
        description: String,
    },
    /// The app is not an API Services (service) app.
    #[error("the app is not an API Services app: {description}")]
    NotServiceApp {
        /// Okta's `error_description`.
        description: String,
    },
    /// The private key does not match a registered public key (signature or kid).
    #[error("Okta rejected the key: {description}")]
    KeyMismatch {
        /// Okta's `error_description`.
        description: String,
    },
    /// The client assertion was refused for timing or audience reasons.
    #[error("Okta rejected the client assertion: {description}")]
    AssertionRejected {
        /// Okta's `error_description`.
        description: String,
    },
    /// The app requires DPoP but this client is configured with DPoP off.
    #[error("the app requires DPoP: {description}")]
    DpopRequired {
        /// Okta's `error_description`.
        description: String,
    },
    /// DPoP is `on` but Okta issued a Bearer token.
    #[error("DPoP is required by this configuration but Okta issued a {token_type} token")]
    DpopNotEnabled {
        /// The `token_type` received.
        token_type: String,
    },
    /// Okta rejected a DPoP proof (not a nonce challenge).
    #[error("Okta rejected the DPoP proof: {description}")]
    DpopRejected {
        /// Okta's description.
        description: String,
    },
    /// The requested scopes are not granted to the app.
    #[error("scopes not granted: {description}")]
    ScopesNotGranted {
        /// Okta's `error_description`.
        description: String,
    },
    /// Another OAuth error from the token endpoint.
    #[error("token request failed ({status}): {error}: {description}")]
    TokenEndpoint {
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        error: String,
        /// OAuth `error_description`.
        description: String,
    },

    /// `403 E0000006`: scopes are fine but the app's admin role does not cover this.
    #[error("the app's admin role does not allow this ({summary})")]
    MissingAdminRole {
        /// Okta's `errorSummary`.
        summary: String,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// `403 insufficient_scope`: the token lacks a scope.
    #[error("the access token lacks a scope{}", scope.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    InsufficientScope {
        /// The scope Okta named in `WWW-Authenticate`, if any.
        scope: Option<String>,
    },
    /// The token was refused even after fetching a fresh one.
    #[error("Okta refused the access token: {description}")]
    InvalidToken {
        /// Okta's description.
        description: String,
    },
    /// `404 E0000007`.
    #[error("not found: {summary}")]
    NotFound {
        /// Okta's `errorSummary`.
        summary: String,
    },
    /// Another management API error.
    #[error("Okta API error {status} {error_code}: {summary}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `errorCode` (`E0000…`), or the OAuth `error` from `WWW-Authenticate`.
        error_code: String,
        /// `errorSummary` or description.
        summary: String,
        /// `X-Okta-Request-Id`.
        request_id: Option<String>,
    },
    /// 429 after the configured retries.
    #[error("rate limited by Okta{}", retry_after.map(|d| format!("; retry in {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// When the rate-limit window resets, if known.
        retry_after: Option<Duration>,
    },

    /// Connection, TLS or timeout failure.
    #[error("cannot reach Okta: {message}")]
    Transport {
        /// Description (never contains credentials).
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
    },
    /// Okta answered with a redirect; redirects are never followed.
    #[error("unexpected redirect ({status}) to {location}")]
    Redirect {
        /// HTTP status.
        status: u16,
        /// `Location` header.
        location: String,
    },
    /// The response body exceeded the size limit.
    #[error("response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A `Link: rel="next"` pointing to another origin.
    #[error("pagination link points to another host: {url}")]
    CrossHostLink {
        /// The refused URL.
        url: String,
    },
    /// A response that could not be understood. `body` keeps (the start of)
    /// the raw body, except for token responses, which may contain a token.
    #[error("invalid response from Okta ({status}): {reason}")]
    InvalidResponse {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        reason: String,
        /// The raw body (truncated to 4 KiB), if safe to keep.
        body: Option<String>,
    },
}

impl OktaError {
    /// What the admin should do about it.
    pub fn fix(&self) -> String {
        use OktaError::*;
        match self {
            Input(e) => e.fix(),
            Config(_) => "Check the configuration file.".into(),
            UnknownClient { .. } => "Check the Client ID: copy it from the API Services app's \
                General tab, and make sure the app is active and in this org."
                .into(),
            WrongAuthMethod { .. } => "In the app's General tab > Client Credentials, set \
                Client authentication to \"Public key / Private key\" and add the public key."
                .into(),
            NotServiceApp { .. } => "Create an API Services app (Applications > Create App \
                Integration > API Services) and use its Client ID."
                .into(),
            KeyMismatch { .. } => "The private key does not match a public key registered on \
                the app: paste the private key that belongs to the app's key (check the kid), \
                or add its public key under Public Keys."
                .into(),
            AssertionRejected { .. } => "Check that this machine's clock is correct (NTP) and \
                that the Okta domain is exactly the org domain."
                .into(),
            DpopRequired { .. } => "Set DPoP to auto (recommended) or on, or uncheck \"Require \
                DPoP\" in the app's General tab."
                .into(),
            DpopNotEnabled { .. } => "Check \"Require Demonstrating Proof of Possession (DPoP)\" \
                in the app's General tab, or set DPoP to auto."
                .into(),
            DpopRejected { .. } => {
                "Check this machine's clock; if it persists, report a bug.".into()
            }
            ScopesNotGranted { .. } | InsufficientScope { .. } => "In the app's Okta API Scopes \
                tab, grant okta.users.read, okta.groups.read, okta.apps.read and okta.logs.read \
                (plus okta.groups.manage for membership changes)."
                .into(),
            MissingAdminRole { .. } => "In the app's Admin roles tab, assign Read-only \
                Administrator (and Group Membership Administrator for membership changes)."
                .into(),
            InvalidToken { .. } => "Check the DPoP setting and this machine's clock; then \
                test the connection again."
                .into(),
            NotFound { .. } => "The object no longer exists in Okta; run a sync.".into(),
            RateLimited { .. } => "Wait, or raise this app's share under Applications > \
                the app > Application rate limits."
                .into(),
            Transport { .. } => "Check network access to the Okta domain (proxy, firewall, \
                DNS, CA certificate)."
                .into(),
            Redirect { .. } => "Use the org domain itself (not a custom or vanity URL that \
                redirects)."
                .into(),
            TokenEndpoint { .. }
            | Api { .. }
            | ResponseTooLarge { .. }
            | CrossHostLink { .. }
            | InvalidResponse { .. } => "Retry later; if it persists, report it with the \
                request id."
                .into(),
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            OktaError::Transport { .. } | OktaError::RateLimited { .. }
        ) || matches!(self, OktaError::Api { status, .. } if *status >= 500)
    }

    pub(crate) fn invalid(
        status: StatusCode,
        reason: impl Into<String>,
        body: Option<&[u8]>,
    ) -> Self {
        OktaError::InvalidResponse {
            status: status.as_u16(),
            reason: reason.into(),
            body: body
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(RAW_BODY_LIMIT)]).into_owned()),
        }
    }
}

impl From<reqwest::Error> for OktaError {
    fn from(e: reqwest::Error) -> Self {
        // Strip the URL: it carries no secret, but keep messages short and stable.
        let timeout = e.is_timeout();
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        OktaError::Transport { message, timeout }
    }
}
