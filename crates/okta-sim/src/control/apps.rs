//! API Services apps (OAuth service clients) through the control API: what an admin does in
//! Okta's Admin Console when setting an integration up (see the routes in [`super`]).

use super::{CtlError, CtlResult, created, ok, parse};
use crate::config::DpopMode;
use crate::credentials::{ServiceAppSpec, create_service_app};
use crate::ids::random_token;
use crate::model::{ClientAuthMethod, LogRef, OAuthClient};
use crate::state::SimState;
use axum::extract::{Path, State};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use steward_jose::{PrivateKey, PublicJwk};

/// Okta accepts up to 50 keys per client (reference 1.4).
pub const MAX_KEYS: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientPatch {
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    dpop: Option<DpopMode>,
    #[serde(default)]
    add_keys: Vec<Value>,
    #[serde(default)]
    remove_kids: Vec<String>,
    #[serde(default)]
    deactivate_kids: Vec<String>,
    #[serde(default)]
    activate_kids: Vec<String>,
    #[serde(default)]
    generate_key: bool,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// A freshly generated RSA-2048 key with a random `kid`, as Okta's "Generate new key" makes.
fn generate_key() -> Result<PrivateKey, CtlError> {
    let mut key = PrivateKey::generate_rsa(2048)
        .map_err(|e| CtlError::bad(format!("cannot generate a key: {e}")))?;
    key.set_kid(Some(random_token(43)));
    Ok(key)
}

fn private_fields(out: &mut Map<String, Value>, key: &PrivateKey) {
    out.insert("kid".into(), json!(key.kid()));
    out.insert("private_key_jwk".into(), key.to_private_jwk());
    out.insert("private_key_pem".into(), json!(key.to_pkcs8_pem()));
}

fn client_view(c: &OAuthClient) -> Map<String, Value> {
    let keys: Vec<Value> = c
        .jwks
        .iter()
        .map(|(k, active)| json!({"kid": k.kid(), "status": if *active { "ACTIVE" } else { "INACTIVE" }}))
        .collect();
    let mut m = Map::new();
    m.insert("client_id".into(), json!(c.client_id));
    m.insert("scopes".into(), json!(c.scopes));
    m.insert("roles".into(), json!(c.roles));
    m.insert("dpop".into(), json!(c.dpop));
    m.insert(
        "token_endpoint_auth_method".into(),
        json!(auth_method_name(c.auth_method)),
    );
    m.insert("keys".into(), Value::Array(keys));
    m
}

fn auth_method_name(m: ClientAuthMethod) -> &'static str {
    match m {
        ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
    }
}

/// `POST /__sim/apps`: creates an API Services app.
pub async fn create(State(state): State<Arc<SimState>>, body: Bytes) -> CtlResult {
    let spec: ServiceAppSpec = parse(&body)?;
    let made = create_service_app(&state, spec).map_err(|e| CtlError::bad(format!("{e:#}")))?;
    let mut out = Map::new();
    out.insert("client_id".into(), json!(made.client_id));
    if let Some(key) = &made.generated_key {
        private_fields(&mut out, key);
    }
    created(Value::Object(out))
}

/// `PATCH /__sim/apps/{client_id}`: changes grants, roles, DPoP, keys and auth method.
/// Key changes apply in the order: remove, deactivate, activate, add, generate.
pub async fn update(
    State(state): State<Arc<SimState>>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> CtlResult {
    let req: ClientPatch = parse(&body)?;
    let auth_method = match req.token_endpoint_auth_method.as_deref() {
        None => None,
        Some("private_key_jwt") => Some(ClientAuthMethod::PrivateKeyJwt),
        Some("client_secret_basic") => Some(ClientAuthMethod::ClientSecretBasic),
        Some(other) => return Err(CtlError::bad(format!("unknown auth method `{other}`"))),
    };
    let mut new_keys = Vec::with_capacity(req.add_keys.len());
    for (i, k) in req.add_keys.iter().enumerate() {
        if steward_jose::has_private_members(k) {
            // Okta refuses private material in a registered public key.
            return Err(CtlError::bad(format!(
                "add_keys[{i}] contains private key members"
            )));
        }
        let jwk = PublicJwk::from_json(k)
            .map_err(|e| CtlError::bad(format!("add_keys[{i}] is not a valid JWK: {e}")))?;
        new_keys.push(jwk);
    }
    let generated = if req.generate_key {
        Some(generate_key()?)
    } else {
        None
    };
    let now = state.clock.now();
    let mut org = state.org.write();
    let client = org
        .clients
        .get_mut(&client_id)
        .ok_or_else(|| CtlError::not_found("client", &client_id))?;
    for kid in req
        .remove_kids
        .iter()
        .chain(&req.deactivate_kids)
        .chain(&req.activate_kids)
    {
        if !client
            .jwks
            .iter()
            .any(|(k, _)| k.kid() == Some(kid.as_str()))
        {
            return Err(CtlError::not_found("key", kid));
        }
    }
    let mut jwks = client.jwks.clone();
    jwks.retain(|(k, _)| {
        !k.kid()
            .is_some_and(|kid| req.remove_kids.iter().any(|r| r == kid))
    });
    for (k, active) in jwks.iter_mut() {
        let kid = k.kid().unwrap_or_default();
        if req.deactivate_kids.iter().any(|d| d == kid) {
            *active = false;
        }
        if req.activate_kids.iter().any(|d| d == kid) {
            *active = true;
        }
    }
    for jwk in new_keys {
        if jwk.kid().is_some() && jwks.iter().any(|(k, _)| k.kid() == jwk.kid()) {
            return Err(CtlError::bad(format!(
                "a key with kid `{}` is already registered",
                jwk.kid().unwrap_or_default()
            )));
        }
        jwks.push((jwk, true));
    }
    if let Some(key) = &generated {
        jwks.push((key.public_jwk(), true));
    }
    if jwks.len() > MAX_KEYS {
        return Err(CtlError::bad(format!("at most {MAX_KEYS} keys per client")));
    }
    client.jwks = jwks;
    if let Some(s) = req.scopes {
        client.scopes = s.into_iter().collect();
    }
    if let Some(r) = req.roles {
        client.roles = r.into_iter().collect();
    }
    if let Some(d) = req.dpop {
        client.dpop = d;
    }
    if let Some(m) = auth_method {
        client.auth_method = m;
    }
    let mut out = client_view(client);
    let app = client.app;
    if let Some(a) = org.apps.get_mut(app as usize) {
        a.last_updated = now;
    }
    org.log_event(
        now,
        "application.lifecycle.update",
        LogRef::System,
        vec![LogRef::App(app)],
    );
    if let Some(key) = &generated {
        private_fields(&mut out, key);
    }
    ok(Value::Object(out))
}
