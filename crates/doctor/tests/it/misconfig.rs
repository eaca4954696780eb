//! One test per misconfiguration an admin can make.

use okta_sim::credentials::{ServiceAppSpec, create_service_app};
use serde_json::json;
use steward_doctor::{DpopMode, SCOPES, SetupStep, Status};
use steward_jose::{Alg, PrivateKey};

use crate::{app, ctl, default_input, expect, expect_step, input, sim, sim_with};

const ROLES: [&str; 2] = ["READ_ONLY_ADMIN", "GROUP_MEMBERSHIP_ADMIN"];

#[tokio::test]
async fn bad_domain_is_a_failing_check_with_the_input_fix() {
    let sim = sim().await;
    let mut i = default_input(&sim);
    i.domain = "https://acme-admin.okta.com".into();
    let report = steward_doctor::run(&i).await;
    let org = expect(&report, "org", Status::Fail);
    expect_step(org, SetupStep::OktaDomain);
    assert!(
        org.fix
            .as_deref()
            .unwrap_or_default()
            .contains("acme.okta.com"),
        "{org:#?}"
    );
    for c in &report.checks[1..] {
        assert!(c.status != Status::Pass, "{c:#?}");
    }
    assert!(!report.ok);
}

#[tokio::test]
async fn unknown_client_id() {
    let sim = sim().await;
    let report = steward_doctor::run(&input(
        &sim,
        "0oa1nonexistent00000",
        &sim.credentials.private_key_jwk.to_string(),
    ))
    .await;
    expect(&report, "org", Status::Pass);
    let c = expect(&report, "client_id", Status::Fail);
    expect_step(c, SetupStep::ClientId);
    assert!(c.detail.contains("0oa1nonexistent00000"), "{c:#?}");
    assert!(c.fix.as_deref().unwrap_or_default().contains("Client ID"));
    expect(&report, "client_auth", Status::Skip);
    expect(&report, "private_key", Status::Skip);
    expect(&report, "scope:okta.users.read", Status::Skip);
    expect(&report, "role:read_only_admin", Status::Skip);
}

#[tokio::test]
async fn client_id_field_holding_a_secret_is_an_input_failure() {
    let sim = sim().await;
    let report = steward_doctor::run(&input(
        &sim,
        "00abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        &sim.credentials.private_key_jwk.to_string(),
    ))
    .await;
    let c = expect(&report, "client_id", Status::Fail);
    expect_step(c, SetupStep::ClientId);
    expect(&report, "org", Status::Pass);
    expect(&report, "clock", Status::Pass);
}

#[tokio::test]
async fn client_secret_app() {
    let sim = sim().await;
    let created = create_service_app(
        &sim.state,
        ServiceAppSpec {
            label: "secret app".into(),
            public_keys: Vec::new(),
            client_secret: true,
            dpop: okta_sim::DpopMode::Required,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            roles: ROLES.iter().map(|s| s.to_string()).collect(),
            application_type: "service".into(),
        },
    )
    .expect("app");
    let report = steward_doctor::run(&input(
        &sim,
        &created.client_id,
        &sim.credentials.private_key_jwk.to_string(),
    ))
    .await;
    expect(&report, "client_id", Status::Pass);
    let c = expect(&report, "client_auth", Status::Fail);
    expect_step(c, SetupStep::PublicKeyAuth);
    assert!(
        c.fix
            .as_deref()
            .unwrap_or_default()
            .contains("Public key / Private key")
    );
    expect(&report, "private_key", Status::Skip);
}

#[tokio::test]
async fn wrong_key() {
    let sim = sim().await;
    let other = PrivateKey::generate_rsa(2048).expect("key");
    let report = steward_doctor::run(&input(
        &sim,
        &sim.credentials.client_id,
        &other.to_pkcs8_pem(),
    ))
    .await;
    expect(&report, "client_id", Status::Pass);
    expect(&report, "client_auth", Status::Pass);
    let c = expect(&report, "private_key", Status::Fail);
    expect_step(c, SetupStep::CopyPrivateKey);
    assert!(c.detail.contains("does not match"), "{c:#?}");
    expect(&report, "scope:okta.users.read", Status::Skip);
    crate::expect_no_secret(&report, &other);
}

#[tokio::test]
async fn public_key_pasted() {
    let sim = sim().await;
    let key = PrivateKey::from_jwk(&sim.credentials.private_key_jwk).expect("key");
    let public = key.public_jwk().to_json().to_string();
    let report = steward_doctor::run(&input(&sim, &sim.credentials.client_id, &public)).await;
    let c = expect(&report, "private_key", Status::Fail);
    expect_step(c, SetupStep::CopyPrivateKey);
    let fix = c.fix.as_deref().unwrap_or_default().to_lowercase();
    assert!(
        fix.contains("this is the public key: copy the private key in okta (step 7)"),
        "{fix}"
    );
    // The org is still checked; what needs a token is skipped.
    expect(&report, "org", Status::Pass);
    expect(&report, "client_id", Status::Skip);
}

#[tokio::test]
async fn key_id_missing_with_two_keys_registered() {
    let sim = sim().await;
    let mut k1 = PrivateKey::generate_ec(Alg::ES256).expect("key");
    k1.set_kid(Some("key-one".into()));
    let mut k2 = PrivateKey::generate_ec(Alg::ES256).expect("key");
    k2.set_kid(Some("key-two".into()));
    let created = create_service_app(
        &sim.state,
        ServiceAppSpec {
            label: "two keys".into(),
            public_keys: vec![k1.public_jwk().to_json(), k2.public_jwk().to_json()],
            client_secret: false,
            dpop: okta_sim::DpopMode::Required,
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            roles: ROLES.iter().map(|s| s.to_string()).collect(),
            application_type: "service".into(),
        },
    )
    .expect("app");
    // PEM carries no kid.
    let mut i = input(&sim, &created.client_id, &k2.to_pkcs8_pem());
    let report = steward_doctor::run(&i).await;
    let c = expect(&report, "private_key", Status::Fail);
    expect_step(c, SetupStep::AddKey);
    assert!(
        c.fix.as_deref().unwrap_or_default().contains("--key-id"),
        "{c:#?}"
    );
    // With the kid, everything passes.
    i.key_id = Some("key-two".into());
    crate::expect_all_pass(&steward_doctor::run(&i).await);
}

#[tokio::test]
async fn dpop_required_with_dpop_off() {
    let sim = sim().await;
    let mut i = default_input(&sim);
    i.dpop = DpopMode::Off;
    let report = steward_doctor::run(&i).await;
    expect(&report, "private_key", Status::Pass);
    let c = expect(&report, "dpop", Status::Fail);
    expect_step(c, SetupStep::Dpop);
    assert!(
        c.detail.contains("The DPoP proof JWT header is missing."),
        "{c:#?}"
    );
    assert!(
        c.fix.as_deref().unwrap_or_default().contains("--dpop auto"),
        "{c:#?}"
    );
    expect(&report, "scope:okta.users.read", Status::Skip);
    expect(&report, "role:group_membership_admin", Status::Skip);
    assert!(!report.dpop);
}

#[tokio::test]
async fn dpop_optional_app_still_passes() {
    let sim = sim_with(|c| c.dpop = okta_sim::DpopMode::Optional).await;
    let report = steward_doctor::run(&default_input(&sim)).await;
    crate::expect_all_pass(&report);
    assert!(!report.dpop);
    let c = expect(&report, "dpop", Status::Pass);
    assert!(c.detail.contains("does not require DPoP"), "{c:#?}");
    // --dpop on with an optional app: the doctor says so.
    let mut i = default_input(&sim);
    i.dpop = DpopMode::On;
    let report = steward_doctor::run(&i).await;
    let c = expect(&report, "dpop", Status::Fail);
    assert!(
        c.fix
            .as_deref()
            .unwrap_or_default()
            .contains("Require DPoP"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn each_missing_scope_is_named() {
    let sim = sim().await;
    for missing in SCOPES {
        let scopes: Vec<&str> = SCOPES.iter().copied().filter(|s| *s != missing).collect();
        let (client_id, key) = app(&sim, &scopes, &ROLES);
        let report =
            steward_doctor::run(&input(&sim, &client_id, &key.to_private_jwk().to_string())).await;
        for s in SCOPES {
            let want = if s == missing {
                Status::Fail
            } else {
                Status::Pass
            };
            let c = expect(&report, &format!("scope:{s}"), want);
            if s == missing {
                expect_step(c, SetupStep::GrantScopes);
                assert!(c.fix.as_deref().unwrap_or_default().contains(missing));
            }
        }
        assert_eq!(report.granted_scopes, scopes, "missing {missing}");
        expect(&report, "private_key", Status::Pass);
        expect(&report, "dpop", Status::Pass);
        assert!(!report.ok);
    }
}

#[tokio::test]
async fn no_scope_granted() {
    let sim = sim().await;
    let (client_id, key) = app(&sim, &[], &ROLES);
    let report =
        steward_doctor::run(&input(&sim, &client_id, &key.to_private_jwk().to_string())).await;
    expect(&report, "private_key", Status::Pass);
    expect(&report, "dpop", Status::Skip);
    for s in SCOPES {
        expect(&report, &format!("scope:{s}"), Status::Fail);
    }
    assert!(report.granted_scopes.is_empty());
}

#[tokio::test]
async fn read_only_admin_missing() {
    let sim = sim().await;
    let (client_id, key) = app(&sim, &SCOPES, &["GROUP_MEMBERSHIP_ADMIN"]);
    let report =
        steward_doctor::run(&input(&sim, &client_id, &key.to_private_jwk().to_string())).await;
    let c = expect(&report, "role:read_only_admin", Status::Fail);
    expect_step(c, SetupStep::AdminRoles);
    assert!(
        c.fix
            .as_deref()
            .unwrap_or_default()
            .contains("Read-only Administrator")
    );
    // Without the role, apps come back as `200 []` and the System Log as 403.
    assert!(c.detail.contains("/api/v1/apps"), "{c:#?}");
    assert!(c.detail.contains("/api/v1/logs"), "{c:#?}");
    expect(&report, "role:group_membership_admin", Status::Pass);
}

#[tokio::test]
async fn empty_user_list_without_role_is_detected() {
    // A role that sees groups (with member counts) but not users: the users list is `200 []`.
    let sim = sim().await;
    let (client_id, key) = app(&sim, &SCOPES, &["REPORT_ADMIN"]);
    ctl(
        &sim,
        "PATCH",
        &format!("/apps/{client_id}"),
        json!({"roles": ["REPORT_ADMIN"]}),
    )
    .await;
    let report =
        steward_doctor::run(&input(&sim, &client_id, &key.to_private_jwk().to_string())).await;
    expect(&report, "role:read_only_admin", Status::Fail);
}

#[tokio::test]
async fn group_membership_admin_missing() {
    let sim = sim().await;
    let (client_id, key) = app(&sim, &SCOPES, &["READ_ONLY_ADMIN"]);
    let report =
        steward_doctor::run(&input(&sim, &client_id, &key.to_private_jwk().to_string())).await;
    expect(&report, "role:read_only_admin", Status::Pass);
    let c = expect(&report, "role:group_membership_admin", Status::Fail);
    expect_step(c, SetupStep::AdminRoles);
    assert!(c.detail.contains("403 E0000006"), "{c:#?}");
    assert!(c.detail.contains("not a member"), "{c:#?}");
    assert!(
        c.fix
            .as_deref()
            .unwrap_or_default()
            .contains("Group Membership Administrator")
    );
}

#[tokio::test]
async fn clock_skew_is_named_as_the_cause() {
    let sim = sim().await;
    for (offset_ms, words) in [(600_000, "600 s behind"), (-600_000, "600 s ahead")] {
        ctl(&sim, "PUT", "/clock", json!({"offset_ms": offset_ms})).await;
        let report = steward_doctor::run(&default_input(&sim)).await;
        let c = expect(&report, "clock", Status::Fail);
        expect_step(c, SetupStep::HostClock);
        assert!(c.detail.contains(words), "{c:#?}");
        assert!(c.fix.as_deref().unwrap_or_default().contains("NTP"));
        // Not blamed on the key or the Client ID.
        expect(&report, "client_id", Status::Skip);
        expect(&report, "private_key", Status::Skip);
        assert!(
            report
                .check("private_key")
                .is_some_and(|c| c.detail.contains("clock"))
        );
    }
    // 45 s: tolerated by the simulator when the org is ahead, but flagged.
    ctl(&sim, "PUT", "/clock", json!({"offset_ms": 45_000})).await;
    let report = steward_doctor::run(&default_input(&sim)).await;
    expect(&report, "clock", Status::Warn);
    expect(&report, "private_key", Status::Pass);
}

#[tokio::test]
async fn unreadable_key_file() {
    let sim = sim().await;
    let mut i = default_input(&sim);
    i.private_key = Err(steward_doctor::FileError {
        path: "/nonexistent/key.pem".into(),
        reason: "No such file or directory (os error 2)".into(),
    });
    let report = steward_doctor::run(&i).await;
    let c = expect(&report, "private_key", Status::Fail);
    assert!(c.detail.contains("/nonexistent/key.pem"), "{c:#?}");
    expect_step(c, SetupStep::CopyPrivateKey);
}
