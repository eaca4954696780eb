//! Checks 2-5 and 7: Client ID, client authentication, key, DPoP and the five scopes, all
//! read from token requests: **one per scope**, each asking for that scope alone, so that
//! every missing scope is named (a request for several scopes fails as a whole:
//! `consent_required` when none is granted, `invalid_scope` when some are not).
//!
//! Okta authenticates the client (Client ID, auth method, key, assertion times) before it
//! looks at scopes, so a `consent_required`/`invalid_scope` answer already proves checks 2-4.
//! DPoP is detected, never asked: in `auto` every token request carries a proof, and Okta
//! answers `token_type: DPoP` when the app requires DPoP and `Bearer` when it does not
//! (reference 2.5).

use okta_client::auth::TokenType;
use okta_client::{DpopMode, OktaClient, OktaError, PrivateKeyInput};

use crate::report::Check;
use crate::steps::SetupStep;

/// The scopes Steward needs, in the order they are tested and reported.
pub const SCOPES: [&str; 5] = [
    "okta.users.read",
    "okta.apps.read",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.logs.read",
];

pub(crate) fn client_id_check() -> Check {
    Check::new("client_id", "Client ID known to Okta", SetupStep::ClientId)
}
pub(crate) fn client_auth_check() -> Check {
    Check::new(
        "client_auth",
        "Client authentication is Public key / Private key",
        SetupStep::PublicKeyAuth,
    )
}
pub(crate) fn private_key_check() -> Check {
    Check::new(
        "private_key",
        "Private key accepted",
        SetupStep::CopyPrivateKey,
    )
}
pub(crate) fn dpop_check() -> Check {
    Check::new("dpop", "DPoP setting", SetupStep::Dpop)
}
pub(crate) fn scope_check(scope: &str) -> Check {
    Check::new(
        format!("scope:{scope}"),
        format!("Scope {scope} granted"),
        SetupStep::GrantScopes,
    )
}

/// What the token requests showed.
pub(crate) struct AuthResult {
    pub(crate) client_id: Check,
    pub(crate) client_auth: Check,
    pub(crate) private_key: Check,
    pub(crate) dpop: Check,
    pub(crate) scopes: Vec<Check>,
    pub(crate) granted: Vec<String>,
    pub(crate) dpop_bound: bool,
    /// Okta refused an assertion or proof for a time reason (its text).
    pub(crate) timing_refusal: Option<String>,
    /// Okta refused the assertion's audience (its text): the domain is not the org's own.
    pub(crate) audience_refusal: Option<String>,
    /// A token can be obtained with the granted scopes, so API checks can run.
    pub(crate) usable: bool,
}

enum Outcome {
    Granted,
    NotGranted(String),
}

fn is_timing(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    [
        "expired",
        "future",
        "issued before",
        "five minutes",
        "'iat'",
    ]
    .iter()
    .any(|w| d.contains(w))
}

/// Runs the per-scope token requests.
pub(crate) async fn run(base: &OktaClient, key: &PrivateKeyInput, mode: DpopMode) -> AuthResult {
    let mut outcomes = Vec::new();
    let mut token_type = None;
    let mut blocking = None;
    for scope in SCOPES {
        match base.with_scopes(&[scope]).token().await {
            Ok(t) => {
                token_type.get_or_insert(t.token_type);
                outcomes.push(Outcome::Granted);
            }
            Err(OktaError::ScopesNotGranted { description }) => {
                outcomes.push(Outcome::NotGranted(description));
            }
            Err(e) => {
                blocking = Some(e);
                break;
            }
        }
    }
    assemble(base, key, mode, outcomes, token_type, blocking)
}

fn assemble(
    base: &OktaClient,
    key: &PrivateKeyInput,
    mode: DpopMode,
    outcomes: Vec<Outcome>,
    token_type: Option<TokenType>,
    blocking: Option<OktaError>,
) -> AuthResult {
    let client_id = base.config().client_id.as_str().to_owned();
    let kid = key.kid().map(|k| format!(" (kid {k})")).unwrap_or_default();
    // Okta got past client authentication at least once.
    let authenticated = !outcomes.is_empty()
        || matches!(
            blocking,
            Some(
                OktaError::DpopRequired { .. }
                    | OktaError::DpopNotEnabled { .. }
                    | OktaError::DpopRejected { .. }
            )
        );
    let note = if token_type.is_none() && authenticated {
        " (and authenticated it: the refusal that follows is about scopes or DPoP, which \
         Okta checks after authentication)"
    } else {
        ""
    };
    let mut r = AuthResult {
        client_id: client_id_check(),
        client_auth: client_auth_check(),
        private_key: private_key_check(),
        dpop: dpop_check(),
        scopes: Vec::new(),
        granted: Vec::new(),
        dpop_bound: token_type == Some(TokenType::Dpop),
        timing_refusal: None,
        audience_refusal: None,
        usable: false,
    };
    if authenticated {
        r.client_id = client_id_check().pass(format!("Okta knows client {client_id}{note}"));
        r.client_auth =
            client_auth_check().pass("Okta accepted private_key_jwt client authentication");
        r.private_key = private_key_check().pass(format!(
            "Okta accepted the client assertion signed with this key{kid}"
        ));
    }
    // Where a blocking error that is about neither authentication nor DPoP goes.
    let mut scope_error: Option<OktaError> = None;
    let mut skip_why = String::from("needs a token (see above)");
    if let Some(e) = blocking {
        skip_why = blocked(
            &mut r,
            e,
            &client_id,
            key,
            mode,
            authenticated,
            &mut scope_error,
        );
    }
    if r.dpop.status == crate::Status::Skip && r.dpop.detail.is_empty() {
        r.dpop = match (token_type, mode) {
            (Some(TokenType::Dpop), _) => dpop_check()
                .pass("the app requires DPoP: Okta issued DPoP-bound tokens (token_type DPoP)"),
            (Some(_), DpopMode::Off) => dpop_check()
                .pass("DPoP is off and the app does not require it: Okta issued Bearer tokens"),
            (Some(_), _) => dpop_check().pass(
                "the app does not require DPoP: Okta ignored the proof and issued Bearer \
                 tokens. Steward works either way; checking \"Require DPoP\" (step 5) binds \
                 tokens to this machine",
            ),
            (None, _) if authenticated => dpop_check()
                .skip("no scope is granted, so Okta issued no token that tells the DPoP setting"),
            (None, _) => dpop_check().skip(skip_why.clone()),
        };
    }
    for (i, scope) in SCOPES.iter().enumerate() {
        let c = scope_check(scope);
        let c = match outcomes.get(i) {
            Some(Outcome::Granted) => {
                r.granted.push((*scope).to_owned());
                c.pass(format!(
                    "granted: Okta issued a token for {scope} requested on its own"
                ))
            }
            Some(Outcome::NotGranted(d)) => c.fail(
                format!("not granted: Okta refused a token for {scope} alone: \"{d}\""),
                format!(
                    "In the app's Okta API Scopes tab, click Grant next to {scope} ({}).",
                    SetupStep::GrantScopes
                ),
            ),
            None if i == outcomes.len() && scope_error.is_some() => {
                let e = scope_error.take();
                let e = e.as_ref();
                c.fail(
                    format!(
                        "the token request for {scope} failed: {}",
                        e.map(ToString::to_string).unwrap_or_default()
                    ),
                    e.map(OktaError::fix).unwrap_or_default(),
                )
            }
            None => c.skip(skip_why.clone()),
        };
        r.scopes.push(c);
    }
    r.usable = !r.granted.is_empty() && r.dpop.status == crate::Status::Pass;
    r
}

/// Attributes a blocking token error to its check; returns why later checks are skipped.
fn blocked(
    r: &mut AuthResult,
    e: OktaError,
    client_id: &str,
    key: &PrivateKeyInput,
    mode: DpopMode,
    authenticated: bool,
    scope_error: &mut Option<OktaError>,
) -> String {
    use OktaError::*;
    let skip_auth = |r: &mut AuthResult, why: &str| {
        for c in [&mut r.client_auth, &mut r.private_key] {
            if c.detail.is_empty() {
                *c = c.clone().skip(why);
            }
        }
    };
    match e {
        UnknownClient { description } if !authenticated => {
            r.client_id = client_id_check().fail(
                format!("Okta does not know client {client_id}: \"{description}\""),
                format!(
                    "Copy the Client ID from the API Services app ({}: {}) and check that the \
                     app is active and belongs to this org.",
                    SetupStep::ClientId,
                    SetupStep::ClientId.how()
                ),
            );
            skip_auth(r, "needs a Client ID that Okta knows (see client_id)");
            "needs a Client ID that Okta knows (see client_id)".into()
        }
        NotServiceApp { description } if !authenticated => {
            r.client_id = client_id_check()
                .fail(
                    format!("client {client_id} is not an API Services app: \"{description}\""),
                    format!(
                        "Create an API Services app ({}: {}) and use its Client ID.",
                        SetupStep::CreateApp,
                        SetupStep::CreateApp.how()
                    ),
                )
                .with_step(SetupStep::CreateApp);
            skip_auth(r, "needs an API Services app (see client_id)");
            "needs an API Services app (see client_id)".into()
        }
        WrongAuthMethod { description } if !authenticated => {
            r.client_id = client_id_check().pass(format!("Okta knows client {client_id}"));
            r.client_auth = client_auth_check().fail(
                format!("the app uses a client secret, not a key: \"{description}\""),
                format!(
                    "{} ({}), then add a public key ({}) and copy its private key ({}).",
                    SetupStep::PublicKeyAuth.how(),
                    SetupStep::PublicKeyAuth,
                    SetupStep::AddKey,
                    SetupStep::CopyPrivateKey
                ),
            );
            skip_auth(
                r,
                "needs Public key / Private key authentication (see client_auth)",
            );
            "needs Public key / Private key authentication (see client_auth)".into()
        }
        KeyMismatch { description } if !authenticated => {
            r.client_id = client_id_check().pass(format!("Okta knows client {client_id}"));
            r.client_auth =
                client_auth_check().pass("the app uses Public key / Private key authentication");
            r.private_key = key_mismatch(&description, key);
            "needs a key that Okta accepts (see private_key)".into()
        }
        AssertionRejected { description } if !authenticated && is_timing(&description) => {
            let why = "Okta refused the client assertion for a time reason (see clock)";
            r.client_id = client_id_check().skip(why);
            skip_auth(r, why);
            r.timing_refusal = Some(description);
            why.into()
        }
        AssertionRejected { description }
            if !authenticated && description.to_ascii_lowercase().contains("audience") =>
        {
            let why = "Okta refused the client assertion's audience (see org)";
            r.client_id = client_id_check().skip(why);
            skip_auth(r, why);
            r.audience_refusal = Some(description);
            why.into()
        }
        DpopRequired { description } => {
            r.dpop = dpop_check().fail(
                format!("the app requires DPoP but DPoP is off: \"{description}\""),
                format!(
                    "Use --dpop auto (the default), which detects the app's setting; or \
                     uncheck \"Require DPoP\" in the app's General tab ({}).",
                    SetupStep::Dpop
                ),
            );
            "needs a DPoP setting that matches the app (see dpop)".into()
        }
        DpopNotEnabled { token_type } => {
            r.dpop = dpop_check().fail(
                format!(
                    "DPoP is on but the app does not require it: Okta issued a {token_type} token"
                ),
                format!(
                    "Check \"Require DPoP\" in the app's General tab ({}), or use --dpop auto.",
                    SetupStep::Dpop
                ),
            );
            "needs a DPoP setting that matches the app (see dpop)".into()
        }
        DpopRejected { description } => {
            if is_timing(&description) {
                r.timing_refusal = Some(description.clone());
            }
            let fix = if mode == DpopMode::Off {
                "Use --dpop auto.".to_owned()
            } else {
                "Check this machine's clock (see clock); if it persists, report a bug with \
                 this output."
                    .to_owned()
            };
            r.dpop = dpop_check().fail(
                format!("Okta refused the DPoP proof: \"{description}\""),
                fix,
            );
            "needs a DPoP proof that Okta accepts (see dpop)".into()
        }
        other if authenticated => {
            let why = format!("the previous token request failed ({other})");
            *scope_error = Some(other);
            why
        }
        other => {
            r.client_id =
                client_id_check().fail(format!("the token request failed: {other}"), other.fix());
            skip_auth(r, "needs a working token request (see client_id)");
            "needs a working token request (see client_id)".into()
        }
    }
}

/// The `private_key` check after Okta refused the key (reference 3.1: kid, signature, JWKS).
fn key_mismatch(description: &str, key: &PrivateKeyInput) -> Check {
    let d = description.to_ascii_lowercase();
    let thumb = key.key().thumbprint();
    let c = private_key_check();
    if d.contains("kid") {
        match key.kid() {
            None => c
                .fail(
                    format!(
                        "the app has several public keys and this key has no kid, so Okta \
                         can't tell which one to use: \"{description}\""
                    ),
                    format!(
                        "Pass --key-id with the kid shown next to this key under Public Keys \
                         ({}). This key's RFC 7638 thumbprint, which `steward keygen` uses as \
                         its kid, is {thumb}.",
                        SetupStep::AddKey
                    ),
                )
                .with_step(SetupStep::AddKey),
            Some(kid) => c
                .fail(
                    format!(
                        "the app has no active public key with kid \"{kid}\": \"{description}\""
                    ),
                    format!(
                        "Check the kid under Public Keys ({}) and pass it with --key-id, or add \
                         this key's public key there.",
                        SetupStep::AddKey
                    ),
                )
                .with_step(SetupStep::AddKey),
        }
    } else if d.contains("jwkset") {
        c.fail(
            format!("the app has no public key: \"{description}\""),
            format!(
                "Add a key ({}: {}).",
                SetupStep::AddKey,
                SetupStep::AddKey.how()
            ),
        )
        .with_step(SetupStep::AddKey)
    } else if d.contains("signature is invalid") {
        c.fail(
            format!(
                "this private key does not match the app's public key{}: \"{description}\"",
                key.kid().map(|k| format!(" {k}")).unwrap_or_default()
            ),
            format!(
                "Use the private key that belongs to the app's public key (copied right after \
                 Generate new key, {}), or add this key's public key under Public Keys ({}).",
                SetupStep::CopyPrivateKey,
                SetupStep::AddKey
            ),
        )
    } else {
        c.fail(
            format!("Okta refused the key: \"{description}\""),
            OktaError::KeyMismatch {
                description: description.to_owned(),
            }
            .fix(),
        )
        .with_step(SetupStep::AddKey)
    }
}
