//! OAuth for an API Services app: `private_key_jwt` client assertions
//! (RFC 7523), DPoP proofs and nonces (RFC 9449), the client-credentials grant
//! and the token cache.

mod assertion;
mod dpop;
mod grant;
mod token;

pub use assertion::{CLIENT_ASSERTION_TYPE, ClientAssertion};
pub use dpop::{DpopKey, DpopNonces, DpopProof, canonical_path, htu};
pub(crate) use grant::{GrantContext, fetch_token};
pub use token::{AccessToken, Token, TokenCache, TokenType};

/// Seconds since the Unix epoch (for `iat`/`exp`).
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
