//! Builders for client assertions and DPoP proofs with any header member or claim overridden,
//! raw token requests, and extra API Services apps. Used by the `auth_*` tests through
//! `common::authkit`.

use okta_sim::RunningSim;
use okta_sim::config::DpopMode;
use okta_sim::credentials::{ServiceAppSpec, create_service_app};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use steward_jose::{Alg, PrivateKey, b64url_encode, jws};

/// RFC 7523 `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The token URL of `sim`.
pub fn token_url(sim: &RunningSim) -> String {
    format!("{}/oauth2/v1/token", sim.base_url)
}

/// The org's clock in epoch seconds (assertions and proofs are timed against it).
pub fn now(sim: &RunningSim) -> i64 {
    sim.state.clock.now_secs()
}

/// A fresh `jti`.
pub fn jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `base` with the members of `overrides` set; a `null` override removes the member.
pub fn merge(base: Value, overrides: Value) -> Value {
    let mut base = base.as_object().cloned().unwrap_or_default();
    if let Value::Object(o) = overrides {
        for (k, v) in o {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    Value::Object(base)
}

/// Signs `claims` under `header` with `key`; the algorithm is the header's `alg` when it is a
/// supported one, else the key's default.
pub fn sign(header: &Value, claims: &Value, key: &PrivateKey) -> String {
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse)
        .unwrap_or(key.default_alg());
    jws::sign(header, claims, key, alg).expect("sign")
}

/// A JWS-shaped token with an arbitrary header (e.g. `alg` `none` or `HS256`) and signature.
pub fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes()),
        b64url_encode(signature)
    )
}

/// The default app's private key (as the credentials file holds it, with its `kid`).
pub fn default_key(sim: &RunningSim) -> PrivateKey {
    PrivateKey::from_jwk(&sim.credentials.private_key_jwk).expect("private jwk")
}

/// A client assertion for `client_id` signed by `key`, valid unless overridden: header
/// `{"typ":"JWT","kid":key's kid}` and claims `iss`, `sub`, `aud`, `iat`, `exp` (+5 min),
/// `jti`, each replaced or removed (`null`) by `header` and `claims`.
pub fn assertion_for(
    sim: &RunningSim,
    client_id: &str,
    key: &PrivateKey,
    header: Value,
    claims: Value,
) -> String {
    let base_header = match key.kid() {
        Some(kid) => json!({"typ": "JWT", "kid": kid}),
        None => json!({"typ": "JWT"}),
    };
    let t = now(sim);
    let base_claims = json!({
        "iss": client_id, "sub": client_id, "aud": token_url(sim),
        "iat": t, "exp": t + 300, "jti": jti(),
    });
    sign(
        &merge(base_header, header),
        &merge(base_claims, claims),
        key,
    )
}

/// A valid assertion for the default app with `claims` overridden.
pub fn assertion_with(sim: &RunningSim, claims: Value) -> String {
    assertion_for(
        sim,
        &sim.credentials.client_id,
        &default_key(sim),
        json!({}),
        claims,
    )
}

/// A valid assertion for the default app.
pub fn assertion(sim: &RunningSim) -> String {
    assertion_with(sim, json!({}))
}

/// A fresh P-256 DPoP key.
pub fn dpop_key() -> PrivateKey {
    PrivateKey::generate_ec(Alg::ES256).expect("ec key")
}

/// A DPoP proof by `key` for `htm` `htu`, valid unless overridden: header
/// `{"typ":"dpop+jwt","jwk":public key}` and claims `htm`, `htu`, `iat` (org clock), `jti`.
pub fn proof(
    sim: &RunningSim,
    key: &PrivateKey,
    htm: &str,
    htu: &str,
    header: Value,
    claims: Value,
) -> String {
    let base_header = json!({"typ": "dpop+jwt", "jwk": key.public_jwk().to_json()});
    let base_claims = json!({"htm": htm, "htu": htu, "iat": now(sim), "jti": jti()});
    sign(
        &merge(base_header, header),
        &merge(base_claims, claims),
        key,
    )
}

/// A token-endpoint proof carrying `nonce` (if any).
pub fn token_proof(sim: &RunningSim, key: &PrivateKey, nonce: Option<&str>) -> String {
    let claims = nonce.map_or(json!({}), |n| json!({ "nonce": n }));
    proof(sim, key, "POST", &token_url(sim), json!({}), claims)
}

/// A resource proof for `method` `url` with `ath` of `token`.
pub fn resource_proof(
    sim: &RunningSim,
    key: &PrivateKey,
    method: &str,
    url: &str,
    token: &str,
) -> String {
    let ath = steward_jose::sha256_b64url(token.as_bytes());
    proof(sim, key, method, url, json!({}), json!({ "ath": ath }))
}

/// An `application/x-www-form-urlencoded` body; repeated names are kept.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The usual client-credentials form.
pub fn cc_form(assertion: &str, scope: &str) -> String {
    form(&[
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ])
}

/// A response: status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON.
    pub body: Value,
    /// Raw body length.
    pub len: usize,
}

impl Resp {
    /// `error` of an OAuth error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
    /// `error_description` of an OAuth error body.
    pub fn description(&self) -> &str {
        self.body["error_description"].as_str().unwrap_or_default()
    }
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

async fn into_resp(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        len: bytes.len(),
    }
}

/// POSTs `body` as a form to `url` with extra `headers` (repeated names are kept).
pub async fn post_form_to(url: &str, body: String, headers: &[(&str, &str)]) -> Resp {
    let mut req = super::http()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    into_resp(req.body(body).send().await.expect("request")).await
}

/// POSTs `body` to the token endpoint with extra `headers`.
pub async fn post_token(sim: &RunningSim, body: String, headers: &[(&str, &str)]) -> Resp {
    post_form_to(&token_url(sim), body, headers).await
}

/// A client-credentials request with `assertion`, `scope` and an optional DPoP proof.
pub async fn token_request(
    sim: &RunningSim,
    assertion: &str,
    scope: &str,
    dpop: Option<&str>,
) -> Resp {
    let headers: Vec<(&str, &str)> = dpop.map(|p| ("DPoP", p)).into_iter().collect();
    post_token(sim, cc_form(assertion, scope), &headers).await
}

/// The token endpoint's current nonce, obtained like a client does (a proof without nonce).
pub async fn fetch_nonce(sim: &RunningSim, key: &PrivateKey) -> String {
    let r = token_request(
        sim,
        &assertion(sim),
        "okta.users.read",
        Some(&token_proof(sim, key, None)),
    )
    .await;
    assert_eq!(r.error(), "use_dpop_nonce", "{:?}", r.body);
    r.header("dpop-nonce").expect("dpop-nonce header")
}

/// A DPoP-bound token for the default app (which must require DPoP), through the real flow.
pub async fn dpop_token(sim: &RunningSim, scope: &str) -> (String, PrivateKey) {
    let key = dpop_key();
    let nonce = fetch_nonce(sim, &key).await;
    let r = token_request(
        sim,
        &assertion(sim),
        scope,
        Some(&token_proof(sim, &key, Some(&nonce))),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
    (
        r.body["access_token"].as_str().expect("token").to_string(),
        key,
    )
}

/// A spec for an extra API Services app: private_key_jwt, DPoP optional, all default scopes.
pub fn spec() -> ServiceAppSpec {
    ServiceAppSpec {
        label: "Test app".into(),
        public_keys: Vec::new(),
        client_secret: false,
        dpop: DpopMode::Optional,
        scopes: super::ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        roles: vec!["READ_ONLY_ADMIN".into()],
        application_type: "service".into(),
    }
}

/// Creates an app; returns its client id and the generated private key (if any).
pub fn create_app(sim: &RunningSim, spec: ServiceAppSpec) -> (String, Option<PrivateKey>) {
    let created = create_service_app(&sim.state, spec).expect("create app");
    (created.client_id, created.generated_key)
}

/// An RSA key with `kid`.
pub fn rsa_key(kid: &str) -> PrivateKey {
    let mut k = PrivateKey::generate_rsa(2048).expect("rsa");
    k.set_kid(Some(kid.to_string()));
    k
}

/// GETs `path` with the `Authorization` value `auth` and optional `DPoP` proofs.
pub async fn api_get(sim: &RunningSim, path: &str, auth: &str, proofs: &[&str]) -> Resp {
    let mut req = super::http()
        .get(format!("{}{}", sim.base_url, path))
        .header("Authorization", auth)
        .header("Accept", "application/json");
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    into_resp(req.send().await.expect("request")).await
}

/// `WWW-Authenticate` of a response, or an empty string.
pub fn www_authenticate(r: &Resp) -> String {
    r.header("www-authenticate").unwrap_or_default()
}

/// Claims of a JWT-shaped token (no verification).
pub fn claims_of(token: &str) -> Map<String, Value> {
    jws::decode(token).expect("JWT-shaped").claims
}
