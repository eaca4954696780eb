//! A corpus of malformed setup inputs, each with the error it must produce.
//! Keys are generated at test time; no key file is committed.

use okta_client::inputs::{ClientId, Field, InputError, OktaDomain, PrivateKeyInput};
use steward_jose::{Alg, PrivateKey};

/// Checks that an error is the expected variant.
type Check = fn(&InputError) -> bool;

fn domain_err(s: &str) -> InputError {
    match OktaDomain::parse(s, false) {
        Ok(d) => panic!("{s:?} should fail, got {d:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_domains() {
    use InputError::*;
    let cases: Vec<(&str, Check)> = vec![
        ("", |e| {
            matches!(
                e,
                Empty {
                    field: Field::Domain
                }
            )
        }),
        ("   ", |e| matches!(e, Empty { .. })),
        ("\"\"", |e| matches!(e, Empty { .. })),
        ("https://{yourOktaDomain}", |e| {
            matches!(e, DomainPlaceholder)
        }),
        ("${OKTA_DOMAIN}", |e| matches!(e, DomainPlaceholder)),
        ("ftp://company.okta.com", |e| {
            matches!(e, DomainScheme { .. })
        }),
        ("http://company.okta.com", |e| {
            matches!(e, DomainScheme { .. })
        }),
        ("https://admin:pw@company.okta.com", |e| {
            matches!(e, DomainUserinfo)
        }),
        ("company.okta.com:8443", |e| {
            matches!(e, DomainPort { port: 8443 })
        }),
        ("10.0.0.1", |e| matches!(e, DomainIpLiteral)),
        // Found by the fuzzer: numeric labels with trailing dots read as an IPv4 address.
        ("01.00..#1", |e| matches!(e, DomainIpLiteral)),
        ("company.okta.123", |e| matches!(e, DomainMalformed { .. })),
        ("acme..okta.com", |e| matches!(e, DomainMalformed { .. })),
        ("ac,me.okta.com", |e| matches!(e, DomainMalformed { .. })),
        ("-acme.example.com", |e| matches!(e, DomainMalformed { .. })),
        ("https://[2001:db8::1]/", |e| matches!(e, DomainIpLiteral)),
        ("localhost", |e| matches!(e, DomainLoopback { .. })),
        ("127.0.0.1:8080", |e| matches!(e, DomainLoopback { .. })),
        ("http://localhost:3000", |e| {
            matches!(e, DomainLoopback { .. })
        }),
        (
            "company-admin.okta.com",
            |e| matches!(e, DomainAdminHost { suggestion, .. } if suggestion == "company.okta.com"),
        ),
        (
            "https://company-admin.oktapreview.com/admin/dashboard",
            |e| matches!(e, DomainAdminHost { suggestion, .. } if suggestion == "company.oktapreview.com"),
        ),
        ("company.okta.com/api/v1/users", |e| {
            matches!(e, DomainPath { .. })
        }),
        ("https://company.okta.com/foo/bar", |e| {
            matches!(e, DomainPath { .. })
        }),
        (
            "company",
            |e| matches!(e, DomainNotAnOrg { suggestion: Some(s), .. } if s == "company.okta.com"),
        ),
        ("okta.com", |e| matches!(e, DomainNotAnOrg { .. })),
        ("login.company.okta.com", |e| {
            matches!(e, DomainNotAnOrg { .. })
        }),
        ("company.okta.com.com", |e| {
            matches!(e, DomainNotAnOrg { .. })
        }),
        ("https://", |e| matches!(e, DomainMalformed { .. })),
        ("comp any.okta.com", |e| matches!(e, DomainMalformed { .. })),
    ];
    for (input, check) in cases {
        let e = domain_err(input);
        assert!(check(&e), "{input:?} gave {e:?}");
        assert_eq!(e.field(), Field::Domain, "{input:?}");
        assert!(!e.fix().is_empty());
    }
}

#[test]
fn malformed_client_ids() {
    use InputError::*;
    let cases: Vec<(&str, Check)> = vec![
        ("", |e| {
            matches!(
                e,
                Empty {
                    field: Field::ClientId
                }
            )
        }),
        (
            "https://company.okta.com/admin/app/oidc_client/instance/0oa1b2c3d4e5f6g7h8i9",
            |e| matches!(e, ClientIdIsUrl),
        ),
        ("company.okta.com", |e| matches!(e, ClientIdIsUrl)),
        ("00u1b2c3d4e5f6g7h8i9", |e| {
            matches!(e, ClientIdIsOtherId { kind: "user" })
        }),
        ("00g1b2c3d4e5f6g7h8i9", |e| {
            matches!(e, ClientIdIsOtherId { kind: "group" })
        }),
        ("00o1b2c3d4e5f6g7h8i9", |e| {
            matches!(e, ClientIdIsOtherId { kind: "org" })
        }),
        (
            "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1fG3hI5jK7lM9nO1pQ3",
            |e| matches!(e, ClientIdIsSecret),
        ),
        ("00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abc", |e| {
            matches!(e, ClientIdIsSecret)
        }),
        ("SSWS 00abc", |e| matches!(e, ClientIdIsSecret)),
        ("{\"kty\":\"RSA\"}", |e| matches!(e, ClientIdIsKey)),
        ("-----BEGIN PRIVATE KEY-----", |e| {
            matches!(e, ClientIdIsKey)
        }),
        ("0oa1b2c3d4", |e| matches!(e, ClientIdMalformed { .. })),
        ("0oa1b2c3d4e5f6g7h8i9x", |e| {
            matches!(e, ClientIdMalformed { .. })
        }),
        ("0oa1b2c3d4e5f6g7h8i!", |e| {
            matches!(e, ClientIdMalformed { .. })
        }),
        ("xyz1b2c3d4e5f6g7h8i9", |e| {
            matches!(e, ClientIdMalformed { .. })
        }),
    ];
    for (input, check) in cases {
        let e = ClientId::parse(input).expect_err(input);
        assert!(check(&e), "{input:?} gave {e:?}");
        assert_eq!(e.field(), Field::ClientId);
    }
}

fn key_err(s: &str, kid: Option<&str>) -> InputError {
    match PrivateKeyInput::parse(s, kid) {
        Ok(k) => panic!("should fail, got {k:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_keys() {
    use InputError::*;
    let mut rsa = PrivateKey::generate_rsa(2048).expect("rsa");
    rsa.set_kid(Some("kid-a".into()));
    let mut ec = PrivateKey::generate_ec(Alg::ES256).expect("ec");
    ec.set_kid(Some("kid-b".into()));
    let rsa_jwk = rsa.to_private_jwk();
    let ec_jwk = ec.to_private_jwk();
    let public_jwk = rsa.public_jwk().to_json().to_string();
    let jwks_two = serde_json::json!({ "keys": [rsa_jwk, ec_jwk] }).to_string();
    let jwks_public = serde_json::json!({ "keys": [rsa.public_jwk().to_json()] }).to_string();
    let pem = ec.to_pkcs8_pem();
    let truncated = pem[..pem.len() / 2].to_owned();
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let legacy_encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0011\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    let public_pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    // A P-521 JWK (unsupported for signing): fake but well-formed coordinates are not
    // needed, the curve is checked first.
    let p521 = serde_json::json!({"kty":"EC","crv":"P-521","x":"AA","y":"AA","d":"AA"}).to_string();
    let secp256k1 =
        serde_json::json!({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA","d":"AA"}).to_string();
    let short_rsa = serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB","p":"AQ","q":"AQ","dp":"AQ","dq":"AQ","qi":"AQ"}).to_string();
    let oct = serde_json::json!({"kty":"oct","k":"AAAA"}).to_string();

    let cases: Vec<(String, Option<&str>, Check)> = vec![
        (String::new(), None, |e| {
            matches!(
                e,
                Empty {
                    field: Field::PrivateKey
                }
            )
        }),
        ("  \n ".into(), None, |e| matches!(e, Empty { .. })),
        (public_jwk, None, |e| matches!(e, KeyIsPublic)),
        (jwks_public, None, |e| matches!(e, KeyIsPublic)),
        (public_pem.into(), None, |e| matches!(e, KeyIsPublic)),
        (cert.into(), None, |e| matches!(e, KeyIsPublic)),
        ("ssh-rsa AAAAB3NzaC1yc2E user@host".into(), None, |e| {
            matches!(e, KeyIsPublic)
        }),
        (encrypted.into(), None, |e| matches!(e, KeyEncrypted)),
        (legacy_encrypted.into(), None, |e| matches!(e, KeyEncrypted)),
        (
            jwks_two.clone(),
            None,
            |e| matches!(e, KeyJwksMultiple { kids } if kids == &["kid-a", "kid-b"]),
        ),
        (jwks_two, Some("kid-z"), |e| {
            matches!(e, KeyIdMismatch { .. })
        }),
        ("{\"keys\":[]}".into(), None, |e| matches!(e, KeyJwksEmpty)),
        (rsa_jwk.to_string(), Some("other"), |e| {
            matches!(e, KeyIdMismatch { .. })
        }),
        (p521, None, |e| {
            matches!(e, KeyUnsupportedCurve { .. } | KeyInvalid { .. })
        }),
        (secp256k1, None, |e| {
            matches!(e, KeyUnsupportedCurve { .. } | KeyInvalid { .. })
        }),
        (short_rsa, None, |e| matches!(e, KeyWeakRsa { .. })),
        (oct, None, |e| {
            matches!(e, KeyUnsupportedType { .. } | KeyInvalid { .. })
        }),
        (openssh.into(), None, |e| {
            matches!(e, KeyInvalid { .. } | KeyUnsupportedType { .. })
        }),
        (truncated, None, |e| matches!(e, KeyInvalid { .. })),
        ("{\"kty\":\"RSA\",".into(), None, |e| {
            matches!(e, KeyInvalid { .. })
        }),
        ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".into(), None, |e| {
            matches!(e, KeyNotRecognized)
        }),
        ("0oa1b2c3d4e5f6g7h8i9".into(), None, |e| {
            matches!(e, KeyNotRecognized)
        }),
    ];
    for (input, kid, check) in cases {
        let e = key_err(&input, kid);
        assert!(
            check(&e),
            "{:?}... gave {e:?}",
            input.chars().take(40).collect::<String>()
        );
        assert!(matches!(e.field(), Field::PrivateKey | Field::KeyId));
        assert!(!e.fix().is_empty());
    }
}

#[test]
fn good_keys_in_every_form() {
    let mut rsa = PrivateKey::generate_rsa(2048).expect("rsa");
    rsa.set_kid(Some("kid-a".into()));
    let jwk = rsa.to_private_jwk();
    let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
    assert_eq!(
        PrivateKeyInput::parse(&jwks, None).expect("jwks").kid(),
        Some("kid-a")
    );
    assert_eq!(
        PrivateKeyInput::parse(&format!(" '{jwk}' "), None)
            .expect("quoted")
            .kid(),
        Some("kid-a")
    );
    let json_string = serde_json::to_string(&jwk.to_string()).expect("s");
    assert_eq!(
        PrivateKeyInput::parse(&json_string, None)
            .expect("escaped json")
            .kid(),
        Some("kid-a")
    );
    let pem = rsa.to_pkcs8_pem();
    assert_eq!(PrivateKeyInput::parse(&pem, None).expect("pem").kid(), None);
    let ec384 = PrivateKey::generate_ec(Alg::ES384).expect("p384");
    assert!(PrivateKeyInput::parse(&ec384.to_pkcs8_pem(), Some("x")).is_ok());
}
