//! The Okta integration wizard in a browser: connect with the key from the credentials
//! file and see every check pass; paste the public key and see the step-7 fix; then (once
//! the inventory pages exist) sync and find a user.

use fantoccini::Locator;
use okta_client::InputError;
use serde_json::Value;
use steward_jose::PrivateKey;

use super::browser::Browser;
use super::{Env, Storage, serial, sign_in, skipped};

/// Fills the wizard's domain, client id and key fields and presses "Save and test".
async fn fill_wizard(b: &mut Browser, env: &Env, key_text: &str) {
    let creds = env.credentials();
    b.click("header nav a[href='/settings/okta']").await;
    b.wait_css("form[action='/settings/okta'] #domain").await;
    assert_eq!(b.path().await, "/settings/okta");
    b.snap("wizard-empty").await;
    let domain = creds["domain"].as_str().expect("domain");
    assert!(
        domain.starts_with("127.0.0.1:"),
        "the sim's domain is host:port on loopback: {domain}"
    );
    b.fill("#domain", domain).await;
    b.fill(
        "#client_id",
        creds["client_id"].as_str().expect("client_id"),
    )
    .await;
    b.fill("#private_key", key_text).await;
    b.snap("wizard-filled").await;
    b.click("button[type=submit][name=action][value=save]")
        .await;
}

/// Signs in, connects Okta through the wizard with the private key JWK from the
/// credentials file, and checks that every row of the checklist passed.
pub async fn connect(b: &mut Browser, env: &Env) {
    sign_in(b, env).await;
    let creds = env.credentials();
    // Pasted as Okta's Admin Console shows it: pretty-printed JSON.
    let jwk = serde_json::to_string_pretty(&creds["private_key_jwk"]).expect("jwk");
    fill_wizard(b, env, &jwk).await;

    b.wait_css("#checklist").await;
    b.snap("checklist").await;
    let notice = b.text("#checklist p.notice").await;
    let rows = b
        .client
        .find_all(Locator::Css("#checklist tbody tr"))
        .await
        .expect("rows");
    assert!(
        rows.len() >= 10,
        "a checklist row per check: {}",
        rows.len()
    );
    let mut failed = Vec::new();
    for row in &rows {
        let status = row
            .find(Locator::Css("span.status"))
            .await
            .expect("status cell");
        let class = status
            .attr("class")
            .await
            .expect("class")
            .unwrap_or_default();
        if !class.split_whitespace().any(|c| c == "pass") {
            failed.push(row.text().await.unwrap_or_default());
        }
    }
    assert!(failed.is_empty(), "checks did not pass: {failed:#?}");
    assert_eq!(notice, "Every check passed.");
    let connected = b.text("main > p.notice.ok").await;
    assert!(connected.starts_with("Connected: okta."), "{connected}");
    // The connection is listed, with the kid from the credentials file.
    let listed = b.text("main section.card table").await;
    assert!(
        listed.contains(creds["kid"].as_str().expect("kid")),
        "{listed}"
    );
}

#[tokio::test]
async fn wizard_connects_with_the_private_key_and_every_check_passes() {
    if skipped() {
        return;
    }
    let _one = serial().await;
    let env = Env::start(Storage::Memory).await;
    let mut b = Browser::start("wizard-connect").await;
    connect(&mut b, &env).await;

    // The connection's page: key metadata only, never the key.
    b.click("main a[href='/settings/okta/okta']").await;
    b.wait_css("form[action='/settings/okta/okta/test']").await;
    let page = b.client.source().await.expect("source");
    let d = env.credentials()["private_key_jwk"]["d"]
        .as_str()
        .expect("d")
        .to_owned();
    assert!(!page.contains(&d), "the private key is on the page");
    b.snap("connection").await;

    b.close().await;
    env.stop().await;
}

#[tokio::test]
async fn wizard_shows_the_step_7_fix_for_a_public_key() {
    if skipped() {
        return;
    }
    let _one = serial().await;
    let env = Env::start(Storage::Memory).await;
    let creds = env.credentials();
    let public: Value = PrivateKey::from_jwk(&creds["private_key_jwk"])
        .expect("key")
        .public_jwk()
        .to_json();
    let mut b = Browser::start("wizard-public-key").await;
    sign_in(&mut b, &env).await;
    fill_wizard(&mut b, &env, &public.to_string()).await;

    let error = b.text("p.field-error").await;
    b.scroll_to("p.field-error").await;
    b.snap("step-7-fix").await;
    assert!(error.starts_with("step 7"), "{error}");
    let fix = InputError::KeyIsPublic.fix();
    let fix_shown = b.text("p.field-error .fix").await;
    assert_eq!(fix_shown, fix);
    // Nothing was saved, and the other fields kept what was typed.
    assert!(b.client.find(Locator::Css("#checklist")).await.is_err());
    let domain = b
        .wait_css("#domain")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(domain.as_deref(), creds["domain"].as_str());
    let client_id = b
        .wait_css("#client_id")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(client_id.as_deref(), creds["client_id"].as_str());

    b.close().await;
    env.stop().await;
}
