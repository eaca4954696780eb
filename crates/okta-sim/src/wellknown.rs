//! Discovery documents: `/.well-known/oauth-authorization-server`,
//! `/.well-known/openid-configuration` and `/.well-known/okta-organization`.

use crate::state::SimState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

/// The JWS algorithms accepted for client assertions and DPoP proofs (reference 1.2, 2.2).
pub const SIGNING_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];

/// Discovery routes.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/.well-known/okta-organization", get(organization))
}

fn metadata_json(base: &str) -> Value {
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth2/v1/authorize"),
        "token_endpoint": format!("{base}/oauth2/v1/token"),
        "registration_endpoint": format!("{base}/oauth2/v1/clients"),
        "jwks_uri": format!("{base}/oauth2/v1/keys"),
        "response_types_supported": ["code", "token", "id_token", "code id_token", "code token", "id_token token", "code id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone", "offline_access", "groups",
                             "okta.users.read", "okta.users.manage", "okta.groups.read", "okta.groups.manage",
                             "okta.apps.read", "okta.apps.manage", "okta.logs.read"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
        "introspection_endpoint": format!("{base}/oauth2/v1/introspect"),
        "revocation_endpoint": format!("{base}/oauth2/v1/revoke"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "dpop_signing_alg_values_supported": SIGNING_ALGS,
    })
}

async fn metadata(State(state): State<Arc<SimState>>) -> Json<Value> {
    Json(metadata_json(state.base_url()))
}

async fn organization(State(state): State<Arc<SimState>>) -> Json<Value> {
    let base = state.base_url();
    Json(json!({
        "id": "00o1simorg0000000000",
        "pipeline": "idx",
        "_links": {
            "alternate": {"href": base},
            "organization": {"href": base}
        },
        "settings": {"analyticsCollectionEnabled": false, "bugReportingEnabled": true, "omEnabled": false}
    }))
}
