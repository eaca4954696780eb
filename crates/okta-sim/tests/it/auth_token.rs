//! `POST /oauth2/v1/token`: client credentials with `private_key_jwt` (reference 1, 3.1).
//! Most tests use an org whose default app does not require DPoP, so that Bearer tokens come
//! back without the nonce dance; DPoP is covered in `auth_dpop`.

use crate::common::{self, authkit::*};
use base64::Engine as _;
use okta_sim::config::DpopMode;
use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

const SCOPE: &str = "okta.users.read okta.groups.read";

async fn start_optional() -> RunningSim {
    common::start(Some(SimConfig {
        dpop: DpopMode::Optional,
        ..SimConfig::small()
    }))
    .await
}

fn assert_oauth(r: &Resp, status: u16, error: &str, description: &str) {
    assert_eq!(
        (r.status, r.error(), r.description()),
        (status, error, description),
        "{:?}",
        r.body
    );
}

fn assert_client_error(r: &Resp, description: &str) {
    assert_oauth(r, 401, "invalid_client", description);
}

#[tokio::test]
async fn happy_path_bearer_token() {
    let sim = start_optional().await;
    let r = token_request(&sim, &assertion(&sim), SCOPE, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], SCOPE);
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    let token = r.body["access_token"].as_str().expect("token");
    // Shaped like Okta's access token (reference 1.3).
    let decoded = steward_jose::jws::decode(token).expect("JWT-shaped");
    assert_eq!(decoded.typ(), Some("application/okta-internal-at+jwt"));
    assert_eq!(decoded.alg(), Some("RS256"));
    assert!(decoded.kid().is_some());
    let c = decoded.claims;
    assert_eq!(c["cid"], sim.credentials.client_id.as_str());
    assert_eq!(c["sub"], sim.credentials.client_id.as_str());
    assert_eq!(c["iss"], sim.base_url.as_str());
    assert_eq!(c["aud"], sim.base_url.as_str());
    assert_eq!(c["ver"], 1);
    assert!(c["jti"].as_str().is_some_and(|j| j.starts_with("AT.")));
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    let mut scp: Vec<&str> = c["scp"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    scp.sort_unstable();
    assert_eq!(scp, ["okta.groups.read", "okta.users.read"]);
    assert!(c.get("cnf").is_none());
    let stored = sim.state.auth.lookup(token).expect("stored");
    assert_eq!(stored.jkt, None);
    assert_eq!(stored.scopes.len(), 2);
}

#[tokio::test]
async fn audience_must_be_the_exact_url_called() {
    let sim = start_optional().await;
    let url = token_url(&sim);
    let host = sim.base_url.trim_start_matches("http://");
    let wrong = [
        json!(format!("http://{host}//oauth2/v1/token")),
        json!(format!("{url}/")),
        json!(format!("https://{host}/oauth2/v1/token")),
        json!(format!("http://localhost:1/oauth2/v1/token")),
        json!(sim.base_url.clone()),
        json!([url.clone()]),
    ];
    for aud in wrong {
        let r = token_request(
            &sim,
            &assertion_with(&sim, json!({ "aud": aud })),
            SCOPE,
            None,
        )
        .await;
        assert_client_error(
            &r,
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        );
    }
    // The Host header decides the URL "as called".
    let r = token_request(
        &sim,
        &assertion_with(&sim, json!({ "aud": url })),
        SCOPE,
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn expiry_rules() {
    let sim = start_optional().await;
    let t = now(&sim);
    let cases = [
        (
            json!({"exp": t + 7200}),
            "The client_assertion token has an expiration too far into the future.",
        ),
        (
            json!({"iat": t - 1000, "exp": t + 3000}),
            "The client_assertion token has an expiration too far into the future.",
        ),
        (
            json!({"exp": t - 1}),
            "The client_assertion token is expired.",
        ),
        (
            json!({"exp": null}),
            "The client_assertion must contain the 'exp' claim as seconds since epoch.",
        ),
        (
            json!({"exp": "soon"}),
            "The client_assertion must contain the 'exp' claim as seconds since epoch.",
        ),
        (
            json!({"iat": t + 120}),
            "The client_assertion token must be issued before the current time.",
        ),
    ];
    for (claims, msg) in cases {
        let r = token_request(&sim, &assertion_with(&sim, claims.clone()), SCOPE, None).await;
        assert_client_error(&r, msg);
    }
    // Exactly one hour is fine; so is an assertion without iat or jti.
    let ok = assertion_with(&sim, json!({"iat": t, "exp": t + 3600}));
    assert_eq!(token_request(&sim, &ok, SCOPE, None).await.status, 200);
    let ok = assertion_with(&sim, json!({"iat": null, "jti": null}));
    assert_eq!(token_request(&sim, &ok, SCOPE, None).await.status, 200);
}

#[tokio::test]
async fn assertion_jti_is_single_use() {
    let sim = start_optional().await;
    let a = assertion(&sim);
    assert_eq!(token_request(&sim, &a, SCOPE, None).await.status, 200);
    let r = token_request(&sim, &a, SCOPE, None).await;
    assert_client_error(&r, "The client_assertion token has already been used.");
    // A new assertion with the same jti is a replay too.
    let reused = claims_of(&a)["jti"].clone();
    let r = token_request(
        &sim,
        &assertion_with(&sim, json!({ "jti": reused })),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(&r, "The client_assertion token has already been used.");
}

#[tokio::test]
async fn unknown_client_and_mismatched_subject() {
    let sim = start_optional().await;
    let r = token_request(
        &sim,
        &assertion_with(
            &sim,
            json!({"iss": "0oaUNKNOWN000000000", "sub": "0oaUNKNOWN000000000"}),
        ),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "The issuer claim for client_assertion is not a valid client_id.",
    );
    let r = token_request(
        &sim,
        &assertion_with(&sim, json!({"iss": null})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "The issuer claim for client_assertion is not a valid client_id.",
    );
    let r = token_request(
        &sim,
        &assertion_with(&sim, json!({"sub": "0oaSOMEONEELSE00000"})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "The subject claim for client_assertion is not a valid client_id.",
    );
}

#[tokio::test]
async fn client_secret_and_non_service_apps_are_refused() {
    let sim = start_optional().await;
    let key = rsa_key("k1");
    let (secret_app, _) = create_app(&sim, secret_spec());
    let r = token_request(
        &sim,
        &assertion_for(&sim, &secret_app, &key, json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
    );
    // The same app with HTTP Basic credentials.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{secret_app}:s3cret"));
    let body = form(&[("grant_type", "client_credentials"), ("scope", SCOPE)]);
    let r = post_token(&sim, body, &[("Authorization", &format!("Basic {basic}"))]).await;
    assert_client_error(
        &r,
        "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
    );

    let mut web = spec();
    web.application_type = "web".into();
    let (web_app, web_key) = create_app(&sim, web);
    let r = token_request(
        &sim,
        &assertion_for(&sim, &web_app, &web_key.unwrap(), json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "Only clients with 'application_type' of 'service' may use the client_credentials 'grant_type' with the Org Authorization Server.",
    );
}

/// A client-secret (`client_secret_basic`) app.
fn secret_spec() -> okta_sim::credentials::ServiceAppSpec {
    let mut s = spec();
    s.client_secret = true;
    s
}

#[tokio::test]
async fn app_without_jwks() {
    let sim = start_optional().await;
    let (id, key) = create_app(&sim, spec());
    sim.state
        .org
        .write()
        .clients
        .get_mut(&id)
        .unwrap()
        .jwks
        .clear();
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &key.unwrap(), json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(
        &r,
        "The client does not have a JWKSet configured, but the client_assertion requires one.",
    );
}

#[tokio::test]
async fn signature_must_verify_with_the_registered_key() {
    let sim = start_optional().await;
    let mut other = rsa_key("other");
    other.set_kid(Some(sim.credentials.kid.clone()));
    let a = assertion_for(
        &sim,
        &sim.credentials.client_id,
        &other,
        json!({}),
        json!({}),
    );
    let r = token_request(&sim, &a, SCOPE, None).await;
    assert_client_error(&r, "The client_assertion signature is invalid.");
    // Tampered claims.
    let good = assertion(&sim);
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = claims_of(&good);
    claims.insert("exp".into(), json!(now(&sim) + 600));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        steward_jose::b64url_encode(Value::Object(claims).to_string().as_bytes()),
        parts[2]
    );
    assert_client_error(
        &token_request(&sim, &tampered, SCOPE, None).await,
        "The client_assertion signature is invalid.",
    );
    // The single registered key needs no kid.
    let a = assertion_for(
        &sim,
        &sim.credentials.client_id,
        &default_key(&sim),
        json!({"kid": null}),
        json!({}),
    );
    assert_eq!(token_request(&sim, &a, SCOPE, None).await.status, 200);
}

#[tokio::test]
async fn kid_rules_with_several_keys() {
    let sim = start_optional().await;
    let (k1, k2) = (rsa_key("key-one"), rsa_key("key-two"));
    let mut s = spec();
    s.public_keys = vec![k1.public_jwk().to_json(), k2.public_jwk().to_json()];
    let (id, _) = create_app(&sim, s);
    let kid_invalid = "The client_assertion JWT kid is invalid.";
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k2, json!({"kid": null}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(&r, kid_invalid);
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k2, json!({"kid": "nope"}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(&r, kid_invalid);
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k2, json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Signed by key two but naming key one.
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k2, json!({"kid": "key-one"}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(&r, "The client_assertion signature is invalid.");
    // An INACTIVE key no longer counts; the remaining ACTIVE key then needs no kid.
    sim.state.org.write().clients.get_mut(&id).unwrap().jwks[1].1 = false;
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k2, json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_client_error(&r, kid_invalid);
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k1, json!({"kid": null}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn key_use_must_be_sig() {
    let sim = start_optional().await;
    let k = rsa_key("enc-key");
    let mut jwk = k.public_jwk().to_json();
    jwk["use"] = json!("enc");
    let mut s = spec();
    s.public_keys = vec![jwk];
    let (id, _) = create_app(&sim, s);
    let r = token_request(
        &sim,
        &assertion_for(&sim, &id, &k, json!({}), json!({})),
        SCOPE,
        None,
    )
    .await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    assert!(
        r.description().starts_with(
            "The public key being used for client assertion has an invalid 'use' parameter."
        ),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn only_asymmetric_algorithms_and_real_jwts() {
    let sim = start_optional().await;
    let id = sim.credentials.client_id.clone();
    let t = now(&sim);
    let claims = json!({"iss": id, "sub": id, "aud": token_url(&sim), "iat": t, "exp": t + 300, "jti": jti()});
    for alg in ["HS256", "none", "PS256", "EdDSA"] {
        let header = json!({"alg": alg, "kid": sim.credentials.kid});
        let r = token_request(&sim, &forge(&header, &claims, b"sig"), SCOPE, None).await;
        assert_client_error(
            &r,
            "The client_assertion JWT signature algorithm is invalid.",
        );
    }
    for garbage in ["not-a-jwt", "a.b.c", "e30.e30"] {
        let r = token_request(&sim, garbage, SCOPE, None).await;
        assert_client_error(&r, "The parsing of the client_assertion failed.");
    }
    // Other supported algorithms work: RS512 with the RSA key, ES256 with an EC key.
    let a = assertion_for(
        &sim,
        &id,
        &default_key(&sim),
        json!({"alg": "RS512"}),
        json!({}),
    );
    assert_eq!(token_request(&sim, &a, SCOPE, None).await.status, 200);
    let mut ec = steward_jose::PrivateKey::generate_ec(steward_jose::Alg::ES256).unwrap();
    ec.set_kid(Some("ec".into()));
    let mut s = spec();
    s.public_keys = vec![ec.public_jwk().to_json()];
    let (ec_app, _) = create_app(&sim, s);
    let a = assertion_for(&sim, &ec_app, &ec, json!({}), json!({}));
    assert_eq!(token_request(&sim, &a, SCOPE, None).await.status, 200);
}

#[tokio::test]
async fn request_shape_errors() {
    let sim = start_optional().await;
    let a = assertion(&sim);
    // Duplicated parameters.
    for dup in ["grant_type", "client_assertion", "scope"] {
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", a.as_str()),
        ];
        let value = pairs.iter().find(|(k, _)| *k == dup).unwrap().1;
        pairs.push((dup, value));
        let r = post_token(&sim, form(&pairs), &[]).await;
        assert_oauth(
            &r,
            400,
            "invalid_request",
            "The request contained multiple parameters with the same name.",
        );
    }
    // Missing grant_type (also what a JSON body amounts to).
    let r = post_token(
        &sim,
        form(&[
            ("scope", SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ]),
        &[],
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    assert!(
        r.description()
            .starts_with("The token request must specify a 'grant_type'. Valid values: ["),
        "{:?}",
        r.body
    );
    let r = common::http()
        .post(token_url(&sim))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Grant types.
    let body = |g: &str| {
        form(&[
            ("grant_type", g),
            ("scope", SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion(&sim)),
        ])
    };
    let r = post_token(&sim, body("password"), &[]).await;
    assert_oauth(
        &r,
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. Configured grant types: [client_credentials].",
    );
    let r = post_token(&sim, body("magic"), &[]).await;
    assert_oauth(
        &r,
        400,
        "unsupported_grant_type",
        "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
    );
    // client_assertion_type.
    for t in [
        Some("urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        Some(""),
        None,
    ] {
        let mut pairs = vec![
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
            ("client_assertion", a.as_str()),
        ];
        if let Some(t) = t {
            pairs.push(("client_assertion_type", t));
        }
        let r = post_token(&sim, form(&pairs), &[]).await;
        assert_oauth(
            &r,
            400,
            "invalid_request",
            "The client_assertion_type is invalid.",
        );
    }
    // No credentials at all.
    let r = post_token(
        &sim,
        form(&[("grant_type", "client_credentials"), ("scope", SCOPE)]),
        &[],
    )
    .await;
    assert_client_error(&r, "No client credentials found.");
    // Credentials in the query string.
    let url = format!("{}?client_assertion={}", token_url(&sim), assertion(&sim));
    let r = post_form_to(&url, cc_form(&assertion(&sim), SCOPE), &[]).await;
    assert_oauth(
        &r,
        400,
        "invalid_request",
        "Client credentials cannot be supplied via query parameters.",
    );
}

#[tokio::test]
async fn multiple_client_credentials() {
    let sim = start_optional().await;
    let id = sim.credentials.client_id.clone();
    let msg = "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:secret"));
    let r = post_token(
        &sim,
        cc_form(&assertion(&sim), SCOPE),
        &[("Authorization", &format!("Basic {basic}"))],
    )
    .await;
    assert_oauth(&r, 401, "invalid_request", msg);
    for extra in [("client_secret", "secret"), ("client_id", id.as_str())] {
        let a = assertion(&sim);
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
            extra,
        ]);
        let r = post_token(&sim, body, &[]).await;
        assert_oauth(&r, 401, "invalid_request", msg);
    }
}

#[tokio::test]
async fn scope_rules() {
    let sim = start_optional().await;
    let mut s = spec();
    s.scopes = vec!["okta.users.read".into(), "okta.logs.read".into()];
    let (id, key) = create_app(&sim, s);
    let key = key.unwrap();
    let req = |scope: Option<&'static str>| {
        let a = assertion_for(&sim, &id, &key, json!({}), json!({}));
        let mut pairs = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", a),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope.to_string()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form(&pairs)
    };
    let r = post_token(&sim, req(Some("okta.groups.read okta.apps.read")), &[]).await;
    assert_oauth(
        &r,
        400,
        "consent_required",
        "You are not allowed any of the requested scopes.",
    );
    let r = post_token(
        &sim,
        req(Some("okta.users.read okta.groups.read okta.apps.read")),
        &[],
    )
    .await;
    assert_oauth(
        &r,
        400,
        "invalid_scope",
        "The following scopes are not allowed for this request: [okta.groups.read, okta.apps.read].",
    );
    for oidc in ["openid", "okta.users.read openid", "profile"] {
        let body = req(None) + "&scope=" + &oidc.replace(' ', "+");
        let r = post_token(&sim, body, &[]).await;
        assert_oauth(
            &r,
            400,
            "invalid_scope",
            "Cannot request 'openid' scopes using client credentials.",
        );
    }
    let r = post_token(&sim, req(None), &[]).await;
    assert_oauth(&r, 400, "invalid_scope", "No scopes were requested.");
    let r = post_token(&sim, req(Some("")), &[]).await;
    assert_oauth(&r, 400, "invalid_scope", "No scopes were requested.");
    let r = post_token(&sim, req(Some("okta.users.read custom.scope")), &[]).await;
    assert_oauth(
        &r,
        400,
        "invalid_scope",
        "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.",
    );
    let r = post_token(&sim, req(Some("okta.logs.read okta.users.read")), &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["scope"], "okta.logs.read okta.users.read");
}
