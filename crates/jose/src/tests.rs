//! Tests; every key is generated at test time.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use pkcs8::der::asn1::AnyRef;
use pkcs8::der::{Encode as _, asn1::UintRef};
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfo};
use serde_json::{Value, json};

use crate::{
    Alg, Curve, JoseError, PrivateKey, PublicJwk, b64url_decode, b64url_encode,
    has_private_members, jws, pem, sha256_b64url,
};

fn rsa_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = PrivateKey::generate_rsa(2048).unwrap();
        key.set_kid(Some("rsa-kid".into()));
        key
    })
}

fn other_rsa_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate_rsa(2048).unwrap())
}

fn claims() -> Value {
    json!({"iss": "client", "sub": "client", "aud": "https://okta.example/oauth2/v1/token",
           "jti": "abc", "exp": 2_000_000_000u64})
}

fn fake_rsa_pkcs1_der(modulus_bytes: usize) -> Vec<u8> {
    let mut n = vec![0xA5u8; modulus_bytes];
    n[0] = 0xC3;
    let one = [1u8];
    let e = [1u8, 0, 1];
    let u = |b: &'static [u8]| UintRef::new(b).unwrap();
    let n: &'static [u8] = Box::leak(n.into_boxed_slice());
    pkcs1::RsaPrivateKey {
        modulus: u(n),
        public_exponent: UintRef::new(&e).unwrap(),
        private_exponent: UintRef::new(&one).unwrap(),
        prime1: u(&[3]),
        prime2: u(&[5]),
        exponent1: u(&[1]),
        exponent2: u(&[1]),
        coefficient: u(&[1]),
        other_prime_infos: None,
    }
    .to_der()
    .unwrap()
}

fn rsa_pkcs8_wrap(pkcs1_der: &[u8]) -> Vec<u8> {
    let alg = AlgorithmIdentifierRef {
        oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"),
        parameters: Some(AnyRef::NULL),
    };
    PrivateKeyInfo::new(alg, pkcs1_der).to_der().unwrap()
}

#[test]
fn types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<PrivateKey>();
    assert_send_sync::<PublicJwk>();
    assert_send_sync::<JoseError>();
    assert_send_sync::<jws::Decoded>();
}

#[test]
fn alg_parse_and_strings() {
    for alg in Alg::ALL {
        assert_eq!(Alg::parse(alg.as_str()), Some(alg));
        assert_eq!(alg.to_string(), alg.as_str());
    }
    for bad in ["none", "HS256", "PS256", "rs256", "EdDSA", ""] {
        assert_eq!(Alg::parse(bad), None, "{bad}");
    }
}

#[test]
fn round_trip_all_signing_algs() {
    let p256 = PrivateKey::generate_ec(Alg::ES256).unwrap();
    let p384 = PrivateKey::generate_ec(Alg::ES384).unwrap();
    let cases: [(&PrivateKey, Alg); 5] = [
        (rsa_key(), Alg::RS256),
        (rsa_key(), Alg::RS384),
        (rsa_key(), Alg::RS512),
        (&p256, Alg::ES256),
        (&p384, Alg::ES384),
    ];
    for (key, alg) in cases {
        let header = json!({"typ": "JWT", "kid": key.kid(), "alg": "none"});
        let token = jws::sign(&header, &claims(), key, alg).unwrap();
        let decoded = jws::decode(&token).unwrap();
        assert_eq!(
            decoded.alg(),
            Some(alg.as_str()),
            "alg header is overridden"
        );
        assert_eq!(decoded.typ(), Some("JWT"));
        assert_eq!(Value::Object(decoded.claims.clone()), claims());
        // Verify through a JSON round trip of the public key, as a server would.
        let jwk = PublicJwk::from_json(&key.public_jwk().to_json()).unwrap();
        assert_eq!(decoded.verify(&jwk).unwrap(), alg);
        if alg.is_rsa() {
            assert_eq!(decoded.signature.len(), 256);
        } else {
            let len = alg.curve().unwrap().coordinate_len();
            assert_eq!(decoded.signature.len(), 2 * len, "fixed-size R||S");
        }
    }
}

#[test]
fn tampering_is_detected() {
    let ec = PrivateKey::generate_ec(Alg::ES256).unwrap();
    for (key, alg) in [(rsa_key(), Alg::RS256), (&ec, Alg::ES256)] {
        let token = jws::sign(&json!({}), &claims(), key, alg).unwrap();
        let jwk = key.public_jwk();

        let mut bad_sig = jws::decode(&token).unwrap();
        bad_sig.signature[5] ^= 0x01;
        assert!(matches!(bad_sig.verify(&jwk), Err(JoseError::BadSignature)));

        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = b64url_encode(br#"{"sub":"admin"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        let decoded = jws::decode(&forged).unwrap();
        assert!(matches!(decoded.verify(&jwk), Err(JoseError::BadSignature)));

        let truncated = format!("{}.{}.", parts[0], parts[1]);
        let decoded = jws::decode(&truncated).unwrap();
        assert!(matches!(decoded.verify(&jwk), Err(JoseError::BadSignature)));
    }
}

#[test]
fn wrong_key_fails() {
    let token = jws::sign(&json!({}), &claims(), rsa_key(), Alg::RS256).unwrap();
    let decoded = jws::decode(&token).unwrap();
    let err = decoded.verify(&other_rsa_key().public_jwk()).unwrap_err();
    assert!(matches!(err, JoseError::BadSignature), "{err:?}");

    let a = PrivateKey::generate_ec(Alg::ES256).unwrap();
    let b = PrivateKey::generate_ec(Alg::ES256).unwrap();
    let token = jws::sign(&json!({}), &claims(), &a, Alg::ES256).unwrap();
    let decoded = jws::decode(&token).unwrap();
    assert!(matches!(
        decoded.verify(&b.public_jwk()),
        Err(JoseError::BadSignature)
    ));
    assert!(decoded.verify(&a.public_jwk()).is_ok());
}

#[test]
fn alg_key_mismatch() {
    let p256 = PrivateKey::generate_ec(Alg::ES256).unwrap();
    // Signing side.
    for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
        assert!(!rsa_key().supports(alg));
        assert!(matches!(
            rsa_key().sign(alg, b"x"),
            Err(JoseError::KeyAlgMismatch)
        ));
    }
    for alg in [Alg::RS256, Alg::ES384, Alg::ES512] {
        let err = jws::sign(&json!({}), &claims(), &p256, alg).unwrap_err();
        assert!(matches!(err, JoseError::KeyAlgMismatch), "{alg}: {err:?}");
    }
    // Verifying side: RSA token checked with an EC key and vice versa.
    let rsa_token = jws::sign(&json!({}), &claims(), rsa_key(), Alg::RS256).unwrap();
    let ec_token = jws::sign(&json!({}), &claims(), &p256, Alg::ES256).unwrap();
    let rsa_decoded = jws::decode(&rsa_token).unwrap();
    let ec_decoded = jws::decode(&ec_token).unwrap();
    assert!(matches!(
        rsa_decoded.verify(&p256.public_jwk()),
        Err(JoseError::KeyAlgMismatch)
    ));
    assert!(matches!(
        ec_decoded.verify(&rsa_key().public_jwk()),
        Err(JoseError::KeyAlgMismatch)
    ));
    // ES384 header against a P-256 key.
    let mut relabelled = ec_decoded.clone();
    relabelled.header.insert("alg".into(), json!("ES384"));
    assert!(matches!(
        relabelled.verify(&p256.public_jwk()),
        Err(JoseError::KeyAlgMismatch)
    ));
    // JWK restricted to another algorithm via its "alg" member.
    let restricted = rsa_key().public_jwk().with_alg(Alg::RS512);
    assert!(!restricted.is_compatible(Alg::RS256));
    assert!(restricted.is_compatible(Alg::RS512));
    assert!(matches!(
        rsa_decoded.verify(&restricted),
        Err(JoseError::KeyAlgMismatch)
    ));

    let jwk = p256.public_jwk();
    assert!(jwk.is_compatible(Alg::ES256));
    assert!(!jwk.is_compatible(Alg::ES384));
    assert!(!jwk.is_compatible(Alg::RS256));
    assert!(rsa_key().public_jwk().is_compatible(Alg::RS384));
}

#[test]
fn unsupported_algs_and_crit_rejected() {
    let jwk = rsa_key().public_jwk();
    let body = b64url_encode(br#"{"sub":"x"}"#);
    for alg in ["none", "HS256", "PS256"] {
        let header = b64url_encode(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
        let token = format!("{header}.{body}.");
        let err = jws::decode(&token).unwrap().verify(&jwk).unwrap_err();
        assert!(
            matches!(&err, JoseError::UnsupportedAlgorithm(a) if a == alg),
            "{err:?}"
        );
    }
    let no_alg = format!("{}.{body}.", b64url_encode(b"{}"));
    assert!(matches!(
        jws::decode(&no_alg).unwrap().verify(&jwk),
        Err(JoseError::Malformed(_))
    ));

    let token = jws::sign(
        &json!({"crit": ["exp"], "exp": 1}),
        &claims(),
        rsa_key(),
        Alg::RS256,
    )
    .unwrap();
    let err = jws::decode(&token).unwrap().verify(&jwk).unwrap_err();
    assert!(matches!(err, JoseError::UnsupportedCritical(_)), "{err:?}");
}

#[test]
fn decode_rejects_malformed_tokens() {
    let h = b64url_encode(br#"{"alg":"RS256"}"#);
    let c = b64url_encode(br#"{"sub":"x"}"#);
    let cases = [
        String::new(),
        format!("{h}.{c}"),
        format!("{h}.{c}.sig.extra"),
        format!("{h}=.{c}.AAAA"),
        format!("{h}.{c}.AA+A"),
        format!("{}.{c}.AAAA", b64url_encode(b"[1,2]")),
        format!("{h}.{}.AAAA", b64url_encode(b"\"string\"")),
        format!("{}.{c}.AAAA", b64url_encode(b"{not json")),
    ];
    for token in cases {
        let err = jws::decode(&token).unwrap_err();
        assert!(matches!(err, JoseError::Malformed(_)), "{token}: {err:?}");
    }
    assert!(matches!(
        jws::sign(&json!([]), &claims(), rsa_key(), Alg::RS256),
        Err(JoseError::Malformed(_))
    ));
}

#[test]
fn es512_verification_only() {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P521_SHA512_FIXED_SIGNING).unwrap();
    let jwk = PublicJwk::from_ec_point(Curve::P521, pair.public_key().as_ref()).unwrap();
    assert!(jwk.is_compatible(Alg::ES512));
    let header = b64url_encode(br#"{"alg":"ES512"}"#);
    let body = b64url_encode(br#"{"sub":"x"}"#);
    let input = format!("{header}.{body}");
    let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    assert_eq!(sig.as_ref().len(), 132);
    let token = format!("{input}.{}", b64url_encode(sig.as_ref()));
    let jwk = PublicJwk::from_json(&jwk.to_json()).unwrap();
    assert_eq!(
        jws::decode(&token).unwrap().verify(&jwk).unwrap(),
        Alg::ES512
    );

    // P-521 private keys are not supported for signing.
    assert!(matches!(
        PrivateKey::generate_ec(Alg::ES512),
        Err(JoseError::UnsupportedCurve(_))
    ));
    let pem = pem::encode("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref());
    assert!(matches!(
        PrivateKey::from_pem(&pem),
        Err(JoseError::UnsupportedCurve(_))
    ));
    assert!(matches!(
        PrivateKey::generate_ec(Alg::RS256),
        Err(JoseError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn der_encoded_ecdsa_signature_rejected() {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let jwk = PublicJwk::from_ec_point(Curve::P256, pair.public_key().as_ref()).unwrap();
    let sig = pair.sign(&SystemRandom::new(), b"a.b").unwrap();
    assert!(matches!(
        jwk.verify(Alg::ES256, b"a.b", sig.as_ref()),
        Err(JoseError::BadSignature)
    ));
}

#[test]
fn from_pem_pkcs8_rsa_and_ec() {
    let p256 = PrivateKey::generate_ec(Alg::ES256).unwrap();
    let p384 = PrivateKey::generate_ec(Alg::ES384).unwrap();
    for key in [rsa_key(), &p256, &p384] {
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let loaded = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(loaded.thumbprint(), key.thumbprint());
        assert_eq!(loaded.default_alg(), key.default_alg());
        assert_eq!(loaded.kid(), None);
        let alg = key.default_alg();
        let token = jws::sign(&json!({}), &claims(), &loaded, alg).unwrap();
        jws::decode(&token)
            .unwrap()
            .verify(&key.public_jwk())
            .unwrap();
        // CRLF line endings and surrounding text are tolerated.
        let crlf = format!("junk\r\n{}trailer\r\n", pem.replace('\n', "\r\n"));
        assert_eq!(
            PrivateKey::from_pem(&crlf).unwrap().thumbprint(),
            key.thumbprint()
        );
    }
    assert_eq!(rsa_key().default_alg(), Alg::RS256);
    assert_eq!(p256.default_alg(), Alg::ES256);
    assert_eq!(p384.default_alg(), Alg::ES384);
    assert_eq!(rsa_key().rsa_bits(), Some(2048));
    assert_eq!(p256.rsa_bits(), None);
}

#[test]
fn from_pem_pkcs1_rsa() {
    let der = pem::parse(&rsa_key().to_pkcs8_pem()).unwrap()[0]
        .der()
        .unwrap();
    let info = PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let pkcs1_pem = pem::encode("RSA PRIVATE KEY", info.private_key);
    let loaded = PrivateKey::from_pem(&pkcs1_pem).unwrap();
    assert_eq!(loaded.thumbprint(), rsa_key().thumbprint());
    let sig = loaded.sign(Alg::RS384, b"hello").unwrap();
    rsa_key()
        .public_jwk()
        .verify(Alg::RS384, b"hello", &sig)
        .unwrap();
}

#[test]
fn from_pem_sec1_ec() {
    for alg in [Alg::ES256, Alg::ES384] {
        let key = PrivateKey::generate_ec(alg).unwrap();
        let der = pem::parse(&key.to_pkcs8_pem()).unwrap()[0].der().unwrap();
        let info = PrivateKeyInfo::try_from(der.as_slice()).unwrap();
        // The PKCS#8 payload of an EC key is a SEC1 ECPrivateKey (RFC 5915).
        let sec1_pem = pem::encode("EC PRIVATE KEY", info.private_key);
        let params = pem::encode(
            "EC PARAMETERS",
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        );
        let loaded = PrivateKey::from_pem(&format!("{params}{sec1_pem}")).unwrap();
        assert_eq!(loaded.thumbprint(), key.thumbprint());
        assert_eq!(loaded.default_alg(), alg);
        let sig = loaded.sign(alg, b"hello").unwrap();
        key.public_jwk().verify(alg, b"hello", &sig).unwrap();
    }
    // aws-lc-rs's own RFC 5915 export loads too.
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let der = pair.private_key().as_der().unwrap();
    let loaded = PrivateKey::from_pem(&pem::encode("EC PRIVATE KEY", der.as_ref())).unwrap();
    let expected = PublicJwk::from_ec_point(Curve::P384, pair.public_key().as_ref()).unwrap();
    assert_eq!(loaded.thumbprint(), expected.thumbprint());
}

#[test]
fn from_pem_public_and_encrypted() {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    for label in ["PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY"] {
        let pem = pem::encode(label, spki.as_ref());
        assert!(
            matches!(PrivateKey::from_pem(&pem), Err(JoseError::PublicKeyOnly)),
            "{label}"
        );
    }
    let encrypted = pem::encode("ENCRYPTED PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]);
    assert!(matches!(
        PrivateKey::from_pem(&encrypted),
        Err(JoseError::EncryptedKey)
    ));
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                  DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n\
                  AAAA\n-----END RSA PRIVATE KEY-----\n";
    assert!(matches!(
        PrivateKey::from_pem(legacy),
        Err(JoseError::EncryptedKey)
    ));
    assert!(matches!(
        PrivateKey::from_pem("not a pem"),
        Err(JoseError::InvalidKey(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nMIIB\n"),
        Err(JoseError::InvalidKey(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(JoseError::InvalidKey(_))
    ));
}

#[test]
fn weak_rsa_rejected() {
    let pkcs1 = fake_rsa_pkcs1_der(128);
    let pem1 = pem::encode("RSA PRIVATE KEY", &pkcs1);
    assert!(matches!(
        PrivateKey::from_pem(&pem1),
        Err(JoseError::WeakKey(_))
    ));
    let pem8 = pem::encode("PRIVATE KEY", &rsa_pkcs8_wrap(&pkcs1));
    let err = PrivateKey::from_pem(&pem8).unwrap_err();
    assert!(
        matches!(err, JoseError::WeakKey(ref m) if m.contains("1024")),
        "{err:?}"
    );
    assert!(matches!(
        PrivateKey::generate_rsa(1024),
        Err(JoseError::WeakKey(_))
    ));
    assert!(matches!(
        PrivateKey::generate_rsa(2047),
        Err(JoseError::WeakKey(_))
    ));
    assert!(matches!(
        PrivateKey::generate_rsa(5000),
        Err(JoseError::InvalidKey(_))
    ));

    let mut n = vec![0xA5u8; 128];
    n[0] = 0xC3;
    let jwk = PublicJwk::from_rsa_components(&n, &[1, 0, 1]).unwrap();
    assert_eq!(jwk.rsa_bits(), Some(1024));
    let err = jwk.verify(Alg::RS256, b"a.b", &[0u8; 128]).unwrap_err();
    assert!(matches!(err, JoseError::WeakKey(_)), "{err:?}");

    let mut private = rsa_key().to_private_jwk();
    private["n"] = json!(b64url_encode(&n));
    assert!(matches!(
        PrivateKey::from_jwk(&private),
        Err(JoseError::WeakKey(_))
    ));
}

#[test]
fn private_jwk_round_trip() {
    let rsa = rsa_key().to_private_jwk();
    for m in [
        "kty", "kid", "use", "n", "e", "d", "p", "q", "dp", "dq", "qi",
    ] {
        assert!(rsa.get(m).is_some_and(Value::is_string), "missing {m}");
    }
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["use"], "sig");
    assert_eq!(rsa["kid"], "rsa-kid");
    assert!(rsa.get("alg").is_none());
    assert!(has_private_members(&rsa));
    let loaded = PrivateKey::from_jwk(&rsa).unwrap();
    assert_eq!(loaded.kid(), Some("rsa-kid"));
    assert_eq!(loaded.to_private_jwk(), rsa);
    let token = jws::sign(&json!({"kid": "rsa-kid"}), &claims(), &loaded, Alg::RS512).unwrap();
    jws::decode(&token)
        .unwrap()
        .verify(&rsa_key().public_jwk())
        .unwrap();

    let mut ec_key = PrivateKey::generate_ec(Alg::ES384).unwrap();
    ec_key.set_kid(Some("ec-kid".into()));
    let ec = ec_key.to_private_jwk();
    for m in ["kty", "kid", "use", "crv", "x", "y", "d"] {
        assert!(ec.get(m).is_some_and(Value::is_string), "missing {m}");
    }
    assert_eq!(ec["crv"], "P-384");
    assert_eq!(b64url_decode(ec["d"].as_str().unwrap()).unwrap().len(), 48);
    let loaded = PrivateKey::from_jwk(&ec).unwrap();
    assert_eq!(loaded.kid(), Some("ec-kid"));
    let token = jws::sign(&json!({}), &claims(), &loaded, Alg::ES384).unwrap();
    jws::decode(&token)
        .unwrap()
        .verify(&ec_key.public_jwk())
        .unwrap();

    // A public JWK parsed from the private one keeps only the public members.
    let public = PublicJwk::from_json(&ec).unwrap();
    assert_eq!(public, ec_key.public_jwk());
    assert!(!has_private_members(&public.to_json()));
    let via_serde: PublicJwk = serde_json::from_value(rsa.clone()).unwrap();
    assert_eq!(via_serde, rsa_key().public_jwk());
    assert_eq!(
        serde_json::to_value(&via_serde).unwrap(),
        via_serde.to_json()
    );
}

#[test]
fn private_jwk_errors() {
    let public = rsa_key().public_jwk().to_json();
    assert!(matches!(
        PrivateKey::from_jwk(&public),
        Err(JoseError::PublicKeyOnly)
    ));
    let ec_public = PrivateKey::generate_ec(Alg::ES256)
        .unwrap()
        .public_jwk()
        .to_json();
    assert!(matches!(
        PrivateKey::from_jwk(&ec_public),
        Err(JoseError::PublicKeyOnly)
    ));

    // Inconsistent components: the other key's d.
    let mut mixed = rsa_key().to_private_jwk();
    mixed["d"] = other_rsa_key().to_private_jwk()["d"].clone();
    assert!(matches!(
        PrivateKey::from_jwk(&mixed),
        Err(JoseError::InvalidKey(_))
    ));

    let mut no_crt = rsa_key().to_private_jwk();
    no_crt.as_object_mut().unwrap().remove("qi");
    assert!(matches!(
        PrivateKey::from_jwk(&no_crt),
        Err(JoseError::InvalidKey(_))
    ));

    let mut ec = PrivateKey::generate_ec(Alg::ES256)
        .unwrap()
        .to_private_jwk();
    ec["d"] = PrivateKey::generate_ec(Alg::ES256)
        .unwrap()
        .to_private_jwk()["d"]
        .clone();
    assert!(matches!(
        PrivateKey::from_jwk(&ec),
        Err(JoseError::InvalidKey(_))
    ));
}

#[test]
fn rfc7638_thumbprint() {
    // RFC 7638 section 3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let key = PublicJwk::from_json(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(key.kid(), Some("2011-04-29"));
    assert_eq!(key.alg(), Some("RS256"));
    assert_eq!(key.rsa_bits(), Some(2048));
    // kid/use/alg do not affect the thumbprint.
    assert_eq!(key.clone().with_kid("x").thumbprint(), key.thumbprint());
    let ec = PrivateKey::generate_ec(Alg::ES256).unwrap();
    assert_eq!(ec.public_jwk().thumbprint(), ec.thumbprint());
    assert_ne!(ec.thumbprint(), key.thumbprint());
}

#[test]
fn public_jwk_validation() {
    let ec = PrivateKey::generate_ec(Alg::ES256)
        .unwrap()
        .public_jwk()
        .to_json();
    let err = |v: &Value| PublicJwk::from_json(v).unwrap_err();

    let mut short_x = ec.clone();
    short_x["x"] = json!(b64url_encode(&[1u8; 31]));
    assert!(matches!(err(&short_x), JoseError::InvalidKey(_)));

    let mut off_curve = ec.clone();
    let mut y = b64url_decode(ec["y"].as_str().unwrap()).unwrap();
    y[31] ^= 1;
    off_curve["y"] = json!(b64url_encode(&y));
    assert!(matches!(err(&off_curve), JoseError::InvalidKey(_)));

    let mut k1 = ec.clone();
    k1["crv"] = json!("secp256k1");
    assert!(matches!(err(&k1), JoseError::UnsupportedCurve(_)));
    let okp =
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    assert!(matches!(err(&okp), JoseError::UnsupportedCurve(_)));
    assert!(matches!(
        err(&json!({"kty": "oct", "k": "AAAA"})),
        JoseError::InvalidKey(_)
    ));
    assert!(matches!(
        err(&json!({"kty": "RSA", "e": "AQAB"})),
        JoseError::InvalidKey(_)
    ));
    assert!(matches!(
        err(&json!({"kty": "RSA", "n": "AA==", "e": "AQAB"})),
        JoseError::InvalidKey(_)
    ));
    assert!(matches!(
        err(&json!({"kty": "RSA", "n": "AAAA", "e": "AQAB"})),
        JoseError::InvalidKey(_)
    ));
    assert!(matches!(
        err(&json!({"n": "AQAB"})),
        JoseError::InvalidKey(_)
    ));
    assert!(matches!(err(&json!(["RSA"])), JoseError::InvalidKey(_)));
    assert!(matches!(
        err(&json!({"kty": "RSA", "n": 5, "e": "AQAB"})),
        JoseError::InvalidKey(_)
    ));

    // Unknown members are ignored; private members are dropped but detectable.
    let mut extra = ec.clone();
    extra["x5t"] = json!("whatever");
    extra["d"] = json!("AAAA");
    assert!(has_private_members(&extra));
    assert!(!has_private_members(&ec));
    assert!(!has_private_members(&json!("d")));
    let parsed = PublicJwk::from_json(&extra).unwrap();
    assert_eq!(parsed.to_json(), ec);
    assert_eq!(parsed.key_use(), Some("sig"));
    assert_eq!(parsed.kty(), "EC");
    assert_eq!(parsed.curve(), Some(Curve::P256));
    assert!(serde_json::from_value::<PublicJwk>(short_x).is_err());
}

#[test]
fn encryption_keys_do_not_verify() {
    let jwk = rsa_key().public_jwk().with_use("enc");
    let sig = rsa_key().sign(Alg::RS256, b"a.b").unwrap();
    assert!(matches!(
        jwk.verify(Alg::RS256, b"a.b", &sig),
        Err(JoseError::InvalidKey(_))
    ));
    rsa_key()
        .public_jwk()
        .verify(Alg::RS256, b"a.b", &sig)
        .unwrap();
}

#[test]
fn debug_does_not_leak_key_material() {
    let ec = PrivateKey::generate_ec(Alg::ES256).unwrap();
    for key in [rsa_key(), &ec] {
        let debug = format!("{key:?}");
        let alt = format!("{key:#?}");
        let jwk = key.to_private_jwk();
        for (name, value) in jwk.as_object().unwrap() {
            if matches!(name.as_str(), "kty" | "kid" | "use" | "crv" | "e") {
                continue;
            }
            let value = value.as_str().unwrap();
            assert!(
                !debug.contains(&value[..16]) && !alt.contains(&value[..16]),
                "{name} leaked"
            );
        }
        let pem = key.to_pkcs8_pem();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!debug.contains(line) && !alt.contains(line));
        }
        assert!(debug.starts_with("PrivateKey {"), "{debug}");
    }
    assert!(format!("{:?}", rsa_key()).contains("2048"));
    assert!(format!("{:?}", rsa_key()).contains("rsa-kid"));
    assert!(format!("{ec:?}").contains("P-256"));
}

#[test]
fn b64url_strict() {
    assert_eq!(b64url_encode(b"\xfb\xff"), "-_8");
    assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
    for bad in ["-_8=", "+/8", "AA AA", "AB", "QQ=="] {
        assert!(
            matches!(b64url_decode(bad), Err(JoseError::Malformed(_))),
            "{bad}"
        );
    }
    assert_eq!(b64url_decode("").unwrap(), b"");
    assert_eq!(
        sha256_b64url(b"abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
}

#[test]
fn pem_writer_wraps() {
    let pem = pem::encode("TEST", &[7u8; 100]);
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.first(), Some(&"-----BEGIN TEST-----"));
    assert_eq!(lines.last(), Some(&"-----END TEST-----"));
    assert_eq!(lines[1].len(), 64);
    let blocks = pem::parse(&pem).unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].der().unwrap().as_slice(), &[7u8; 100]);
}
