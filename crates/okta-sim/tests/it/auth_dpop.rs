//! DPoP at the token endpoint (reference 2.2, 2.3, 2.5): the nonce challenge, proof checks,
//! single use, nonce rotation and DPoP-optional apps.

use crate::common::{self, authkit::*};
use chrono::TimeDelta;
use okta_sim::RunningSim;
use serde_json::json;

const SCOPE: &str = "okta.users.read";

/// An org whose default app requires DPoP (the default).
async fn start() -> RunningSim {
    common::start(None).await
}

fn assert_proof_error(r: &Resp, description: &str) {
    assert_eq!(
        (r.status, r.error(), r.description()),
        (400, "invalid_dpop_proof", description),
        "{:?}",
        r.body
    );
}

/// Sends `proof` with a fresh assertion.
async fn send(sim: &RunningSim, proof: &str) -> Resp {
    token_request(sim, &assertion(sim), SCOPE, Some(proof)).await
}

#[tokio::test]
async fn nonce_challenge_then_dpop_token() {
    let sim = start().await;
    // No proof at all.
    let r = token_request(&sim, &assertion(&sim), SCOPE, None).await;
    assert_proof_error(&r, "The DPoP proof JWT header is missing.");
    // A valid proof without nonce: the challenge, with the nonce in a header.
    let key = dpop_key();
    let r = send(&sim, &token_proof(&sim, &key, None)).await;
    assert_eq!(
        (r.status, r.error(), r.description()),
        (
            400,
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof."
        )
    );
    let nonce = r.header("dpop-nonce").expect("dpop-nonce");
    assert!(nonce.len() >= 16);
    assert!(
        r.header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    // The retry with the nonce, a new proof and a new assertion.
    let r = send(&sim, &token_proof(&sim, &key, Some(&nonce))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
    assert_eq!(r.body["expires_in"], 3600);
    assert!(r.header("dpop-nonce").is_some());
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        claims_of(token)["cnf"]["jkt"],
        key.public_jwk().thumbprint().as_str()
    );
    assert_eq!(
        sim.state.auth.lookup(token).unwrap().jkt,
        Some(key.thumbprint())
    );
}

#[tokio::test]
async fn nonce_challenge_consumes_the_assertion() {
    let sim = start().await;
    let key = dpop_key();
    let a = assertion(&sim);
    let r = token_request(&sim, &a, SCOPE, Some(&token_proof(&sim, &key, None))).await;
    assert_eq!(r.error(), "use_dpop_nonce");
    let nonce = r.header("dpop-nonce").unwrap();
    // Retrying with the same assertion fails: its jti was recorded (reference 1.2).
    let r = token_request(
        &sim,
        &a,
        SCOPE,
        Some(&token_proof(&sim, &key, Some(&nonce))),
    )
    .await;
    assert_eq!(
        (r.status, r.error(), r.description()),
        (
            401,
            "invalid_client",
            "The client_assertion token has already been used."
        )
    );
}

#[tokio::test]
async fn unknown_nonce_gets_a_challenge() {
    let sim = start().await;
    let key = dpop_key();
    let r = send(&sim, &token_proof(&sim, &key, Some("made-up-nonce"))).await;
    assert_eq!(r.error(), "use_dpop_nonce");
    assert!(r.header("dpop-nonce").is_some());
}

#[tokio::test]
async fn proof_checks() {
    let sim = start().await;
    let key = dpop_key();
    let nonce = fetch_nonce(&sim, &key).await;
    let url = token_url(&sim);
    let t = now(&sim);
    // Overrides on top of a valid proof with the nonce (`null` removes a claim).
    let with = |header: serde_json::Value, claims: serde_json::Value| {
        let mut claims = claims.as_object().cloned().unwrap_or_default();
        claims.entry("nonce").or_insert(json!(nonce));
        proof(
            &sim,
            &key,
            "POST",
            &url,
            header,
            serde_json::Value::Object(claims),
        )
    };
    let cases = [
        (
            with(json!({"typ": "JWT"}), json!({})),
            "'typ' must be 'dpop+jwt' in the DPoP proof JWT.",
        ),
        (
            with(json!({"typ": null}), json!({})),
            "'typ' must be 'dpop+jwt' in the DPoP proof JWT.",
        ),
        (
            with(json!({}), json!({"htm": "GET"})),
            "'htm' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"htm": "post"})),
            "'htm' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"htu": format!("{url}/")})),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"htu": format!("{url}?x=1")})),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(
                json!({}),
                json!({"htu": url.replace("/oauth2/", "//oauth2/")}),
            ),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(
                json!({}),
                json!({"htu": format!("{}/oauth2/default/v1/token", sim.base_url)}),
            ),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"htu": null})),
            "'htu' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"iat": t - 301})),
            "The DPoP proof JWT is issued more than five minutes in the past.",
        ),
        (
            with(json!({}), json!({"iat": t + 60})),
            "The DPoP proof JWT is issued in the future.",
        ),
        (
            with(json!({}), json!({"iat": null})),
            "'iat' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"jti": null})),
            "'jti' claim in the DPoP proof JWT is invalid.",
        ),
        (
            with(json!({}), json!({"exp": t - 1})),
            "The DPoP proof JWT is expired.",
        ),
        (
            with(json!({"jwk": null}), json!({})),
            "The DPoP proof JWT is invalid.",
        ),
        (
            with(json!({"jwk": key.to_private_jwk()}), json!({})),
            "The DPoP proof JWT is invalid.",
        ),
        (
            "garbage".to_string(),
            "The DPoP proof JWT cannot be parsed.",
        ),
    ];
    for (p, msg) in cases {
        assert_proof_error(&send(&sim, &p).await, msg);
    }
    // Signed by another key than the one in the header.
    let other = dpop_key();
    let header = json!({"typ": "dpop+jwt", "jwk": key.public_jwk().to_json()});
    let claims = json!({"htm": "POST", "htu": url, "iat": t, "jti": jti(), "nonce": nonce});
    assert_proof_error(
        &send(&sim, &sign(&header, &claims, &other)).await,
        "The DPoP proof JWT signature is invalid.",
    );
    // Symmetric and unsigned algorithms.
    for alg in ["HS256", "none"] {
        let h = json!({"typ": "dpop+jwt", "alg": alg, "jwk": key.public_jwk().to_json()});
        assert_proof_error(
            &send(&sim, &forge(&h, &claims, b"x")).await,
            "The DPoP proof JWT signature algorithm is invalid.",
        );
    }
    // Within five minutes, with the same nonce, works.
    let ok = with(json!({}), json!({"iat": t - 240}));
    assert_eq!(send(&sim, &ok).await.status, 200);
}

#[tokio::test]
async fn proofs_are_single_use_and_single() {
    let sim = start().await;
    let key = dpop_key();
    let nonce = fetch_nonce(&sim, &key).await;
    let p = token_proof(&sim, &key, Some(&nonce));
    assert_eq!(send(&sim, &p).await.status, 200);
    // The same proof again (with a fresh assertion): a replay, as after a 429 retry.
    assert_proof_error(
        &send(&sim, &p).await,
        "The DPoP proof JWT has already been used.",
    );
    // Two DPoP headers.
    let (p1, p2) = (
        token_proof(&sim, &key, Some(&nonce)),
        token_proof(&sim, &key, Some(&nonce)),
    );
    let r = post_token(
        &sim,
        cc_form(&assertion(&sim), SCOPE),
        &[("DPoP", &p1), ("DPoP", &p2)],
    )
    .await;
    assert_proof_error(&r, "Multiple DPoP proof JWT headers are not allowed.");
}

#[tokio::test]
async fn nonce_rotation() {
    let sim = start().await;
    let key = dpop_key();
    let old = fetch_nonce(&sim, &key).await;
    // Soft rotation: the previous nonce stays valid in its grace period.
    let new = okta_sim::auth::nonce::rotate(&sim.state);
    assert_ne!(old, new);
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&old)))
            .await
            .status,
        200
    );
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&new)))
            .await
            .status,
        200
    );
    // Hard rotation: stale nonces get a new challenge.
    let newest = okta_sim::auth::nonce::rotate_hard(&sim.state);
    for stale in [&old, &new] {
        let r = send(&sim, &token_proof(&sim, &key, Some(stale))).await;
        assert_eq!(r.error(), "use_dpop_nonce", "{:?}", r.body);
        assert_eq!(r.header("dpop-nonce").as_deref(), Some(newest.as_str()));
    }
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&newest)))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn nonce_renews_daily_and_lasts_three_days() {
    let sim = start().await;
    let key = dpop_key();
    let first = fetch_nonce(&sim, &key).await;
    let hours = |h: i64| TimeDelta::hours(h).num_milliseconds();
    sim.state.clock.set_offset_ms(hours(25));
    let second = fetch_nonce(&sim, &key).await;
    assert_ne!(first, second, "renewed after 24 hours");
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&first)))
            .await
            .status,
        200
    );
    sim.state.clock.set_offset_ms(hours(73));
    let r = send(&sim, &token_proof(&sim, &key, Some(&first))).await;
    assert_eq!(r.error(), "use_dpop_nonce", "older than three days");
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&second)))
            .await
            .status,
        200
    );
    // A shorter grace period set through the control API hook.
    okta_sim::auth::nonce::set_grace(&sim.state, TimeDelta::zero());
    let before = okta_sim::auth::nonce::current(&sim.state);
    okta_sim::auth::nonce::rotate(&sim.state);
    assert_eq!(
        send(&sim, &token_proof(&sim, &key, Some(&before)))
            .await
            .error(),
        "use_dpop_nonce"
    );
}

#[tokio::test]
async fn dpop_optional_app_issues_bearer_tokens() {
    let sim = start().await;
    let (id, k) = create_app(&sim, spec());
    let k = k.unwrap();
    let key = dpop_key();
    // No proof: Bearer.
    let a = assertion_for(&sim, &id, &k, json!({}), json!({}));
    let r = token_request(&sim, &a, SCOPE, None).await;
    assert_eq!(
        (r.status, r.body["token_type"].as_str()),
        (200, Some("Bearer")),
        "{:?}",
        r.body
    );
    // A valid proof (no nonce needed) is ignored: still Bearer, not bound.
    let a = assertion_for(&sim, &id, &k, json!({}), json!({}));
    let r = token_request(&sim, &a, SCOPE, Some(&token_proof(&sim, &key, None))).await;
    assert_eq!(
        (r.status, r.body["token_type"].as_str()),
        (200, Some("Bearer")),
        "{:?}",
        r.body
    );
    let token = r.body["access_token"].as_str().unwrap();
    assert!(claims_of(token).get("cnf").is_none());
    assert_eq!(sim.state.auth.lookup(token).unwrap().jkt, None);
    // A broken proof is still refused (the simulator's stricter choice).
    let a = assertion_for(&sim, &id, &k, json!({}), json!({}));
    let bad = proof(&sim, &key, "GET", &token_url(&sim), json!({}), json!({}));
    assert_proof_error(
        &token_request(&sim, &a, SCOPE, Some(&bad)).await,
        "'htm' claim in the DPoP proof JWT is invalid.",
    );
}

/// Token requests land in the System Log: the nonce round trip as CHALLENGE (not FAILURE,
/// reference 2.3), a refused request as FAILURE with its reason, a grant as SUCCESS.
#[tokio::test]
async fn token_requests_are_logged_with_their_outcome() {
    let sim = start().await;
    let client_id = sim.credentials.client_id.clone();
    let grants = |sim: &RunningSim| -> Vec<(String, Option<String>)> {
        let org = sim.state.org.read();
        org.log
            .iter()
            .filter(|e| e.event_type == "app.oauth2.token.grant.access_token")
            .filter(|e| matches!(&e.actor, okta_sim::model::LogRef::Client(c) if *c == client_id))
            .map(|e| {
                (
                    e.result.to_string(),
                    e.reason.as_deref().map(str::to_string),
                )
            })
            .collect()
    };
    let key = dpop_key();
    let r = send(&sim, &token_proof(&sim, &key, None)).await;
    let nonce = r.header("dpop-nonce").expect("dpop-nonce");
    let r = send(&sim, &token_proof(&sim, &key, Some(&nonce))).await;
    assert_eq!(r.status, 200);
    let outcomes: Vec<String> = grants(&sim).into_iter().map(|(o, _)| o).collect();
    assert_eq!(outcomes, ["CHALLENGE", "SUCCESS"]);
    // A scope the app was not granted: a FAILURE naming why.
    let r = token_request(
        &sim,
        &assertion(&sim),
        "okta.users.manage",
        Some(&token_proof(&sim, &key, Some(&nonce))),
    )
    .await;
    assert_eq!(r.status, 400);
    let last = grants(&sim).pop().expect("logged");
    assert_eq!(last.0, "FAILURE");
    assert_eq!(last.1.as_deref(), Some(r.description()));
}
