//! DPoP proof validation (RFC 9449 section 4.3), shared by the token endpoint and the
//! management API. Error texts are Okta's catalog strings (reference 2.5).

use super::{CLOCK_SKEW_SECS, PROOF_MAX_AGE_SECS};
use crate::state::SimState;
use axum::http::HeaderMap;
use axum::http::header::HOST;
use chrono::TimeDelta;
use serde_json::Value;
use steward_jose::{Alg, PublicJwk, has_private_members, jws};

/// `The DPoP proof JWT header is missing.`
pub const MISSING: &str = "The DPoP proof JWT header is missing.";
/// `Multiple DPoP proof JWT headers are not allowed.`
pub const MULTIPLE: &str = "Multiple DPoP proof JWT headers are not allowed.";
const UNPARSEABLE: &str = "The DPoP proof JWT cannot be parsed.";
const BAD_TYP: &str = "'typ' must be 'dpop+jwt' in the DPoP proof JWT.";
const BAD_ALG: &str = "The DPoP proof JWT signature algorithm is invalid.";
const BAD_SIGNATURE: &str = "The DPoP proof JWT signature is invalid.";
const BAD_HTM: &str = "'htm' claim in the DPoP proof JWT is invalid.";
const BAD_HTU: &str = "'htu' claim in the DPoP proof JWT is invalid.";
const BAD_IAT: &str = "'iat' claim in the DPoP proof JWT is invalid.";
const BAD_JTI: &str = "'jti' claim in the DPoP proof JWT is invalid.";
const IN_FUTURE: &str = "The DPoP proof JWT is issued in the future.";
const TOO_OLD: &str = "The DPoP proof JWT is issued more than five minutes in the past.";
const EXPIRED: &str = "The DPoP proof JWT is expired.";
const ALREADY_USED: &str = "The DPoP proof JWT has already been used.";
const BAD_ATH: &str = "'ath' claim in the DPoP proof does not match the presented access_token.";
/// Okta's generic text, used where the catalog has nothing more specific (a missing or
/// private `jwk` header).
const GENERIC: &str = "The DPoP proof JWT is invalid.";

/// Whether the proof must carry a server nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoncePolicy {
    /// Token endpoint of a DPoP app: the proof's `nonce` must be a current or recent nonce.
    Required,
    /// Okta's resources: the nonce "isn't currently required" (reference 2.2); a nonce sent
    /// anyway (Go and Python SDKs do) is ignored. Also used for proofs sent to the token
    /// endpoint by apps that do not require DPoP.
    Ignored,
}

/// What the proof must match.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request URL: scheme, host and percent-decoded path, no query (see [`request_htu`]).
    pub htu: &'a str,
    /// For resource requests: the access token, whose hash `ath` must carry.
    pub access_token: Option<&'a str>,
    /// Nonce policy.
    pub nonce: NoncePolicy,
}

/// A proof that passed every check.
#[derive(Clone, Debug)]
pub struct ValidProof {
    /// RFC 7638 thumbprint of the proof's key (`cnf.jkt` of a bound token).
    pub jkt: String,
}

/// Why a proof was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// `invalid_dpop_proof` with this description.
    Invalid(&'static str),
    /// The proof is valid but lacks a valid server nonce: `use_dpop_nonce`.
    UseNonce,
}

/// The single `DPoP` header of a request: `Ok(None)` when absent, [`MULTIPLE`] when repeated.
pub fn single_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all("dpop").iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(MULTIPLE),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| UNPARSEABLE),
    }
}

/// `scheme://host` of the request as the client called it: the scheme the simulator serves
/// (http unless its base URL is https) and the `Host` header (falling back to the base URL).
pub fn request_origin(state: &SimState, headers: &HeaderMap) -> String {
    let base = state.base_url();
    let (scheme, base_host) = base.split_once("://").unwrap_or(("http", base));
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(base_host);
    format!("{scheme}://{host}")
}

/// The `htu` a proof must carry for a request to `path`: origin plus the **percent-decoded**
/// path, without query or fragment. Okta compares against the decoded path, so a client that
/// signs `…/users/a%40b.com` fails where one that signs `…/users/a@b.com` passes (reference
/// 2.2, [reported] okta-sdk-python#541, okta-sdk-nodejs#521).
pub fn request_htu(state: &SimState, headers: &HeaderMap, path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    format!("{}{}", request_origin(state, headers), decoded)
}

/// Validates a DPoP proof (RFC 9449 section 4.3) and, when it passes, consumes its `jti`.
///
/// Order: syntax, `typ`, `alg`, `jwk` (public only), signature, `jti` presence, `htm`, `htu`,
/// `iat` window, `exp`, `ath`, replay, nonce. The `jti` is consumed before the nonce check:
/// the nonce challenge burns the proof, and a retry that reuses its `jti` is refused as a
/// replay. Okta does not document this; the stricter reading is chosen [unconfirmed].
pub fn validate(
    state: &SimState,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<ValidProof, ProofError> {
    use ProofError::Invalid;
    let decoded = jws::decode(proof).map_err(|_| Invalid(UNPARSEABLE))?;
    if decoded.typ() != Some("dpop+jwt") {
        return Err(Invalid(BAD_TYP));
    }
    // RS256..ES512 only; `none`, HS* and anything else are not representable in `Alg`.
    if decoded.alg().and_then(Alg::parse).is_none() {
        return Err(Invalid(BAD_ALG));
    }
    let jwk_json = decoded.header.get("jwk").ok_or(Invalid(GENERIC))?;
    // RFC 9449 section 4.3 check 7: the header must not contain a private key.
    if has_private_members(jwk_json) {
        return Err(Invalid(GENERIC));
    }
    let jwk = PublicJwk::from_json(jwk_json).map_err(|_| Invalid(GENERIC))?;
    decoded.verify(&jwk).map_err(|_| Invalid(BAD_SIGNATURE))?;

    let claims = &decoded.claims;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or(Invalid(BAD_JTI))?;
    if claims.get("htm").and_then(Value::as_str) != Some(expected.htm) {
        return Err(Invalid(BAD_HTM));
    }
    // Exact comparison. RFC 9449 lets a server ignore a query or fragment in `htu`; Okta's docs
    // say to send the URL without them (reference 2.2), so one that carries them is refused:
    // the stricter reading [unconfirmed].
    if claims.get("htu").and_then(Value::as_str) != Some(expected.htu) {
        return Err(Invalid(BAD_HTU));
    }
    let now = state.clock.now_secs();
    let iat = numeric(claims.get("iat")).ok_or(Invalid(BAD_IAT))?;
    if iat > now + CLOCK_SKEW_SECS {
        return Err(Invalid(IN_FUTURE));
    }
    if now - iat > PROOF_MAX_AGE_SECS {
        return Err(Invalid(TOO_OLD));
    }
    if let Some(exp) = claims.get("exp") {
        match numeric(Some(exp)) {
            Some(exp) if exp > now => {}
            _ => return Err(Invalid(EXPIRED)),
        }
    }
    if let Some(token) = expected.access_token {
        let ath = steward_jose::sha256_b64url(token.as_bytes());
        if claims.get("ath").and_then(Value::as_str) != Some(ath.as_str()) {
            return Err(Invalid(BAD_ATH));
        }
    }
    // A proof is only acceptable within the iat window, so its jti needs remembering only as
    // long as that (plus the allowed skew).
    let now_t = state.clock.now();
    let keep = TimeDelta::seconds(PROOF_MAX_AGE_SECS + 2 * CLOCK_SKEW_SECS);
    if !state.auth.consume_jti("dpop", jti, now_t, now_t + keep) {
        return Err(Invalid(ALREADY_USED));
    }
    if expected.nonce == NoncePolicy::Required {
        let ok = claims
            .get("nonce")
            .and_then(Value::as_str)
            .is_some_and(|n| state.auth.nonces.is_valid(n, now_t));
        if !ok {
            return Err(ProofError::UseNonce);
        }
    }
    Ok(ValidProof {
        jkt: jwk.thumbprint(),
    })
}

/// A JSON number as whole seconds (integers, or floats truncated).
pub fn numeric(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}
