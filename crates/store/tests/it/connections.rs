//! Workspaces and connections: sealed private keys.

use steward_inventory::{InventoryStore, StoreError};
use steward_jose::{Alg, PrivateKey};
use steward_store::{AccountError, MasterKey, NewConnection, Store};
use zeroize::Zeroizing;

use crate::audit::{change, keyed};
use crate::common::*;

pub fn pem() -> Zeroizing<String> {
    Zeroizing::new(PrivateKey::generate_ec(Alg::ES256).unwrap().to_pkcs8_pem())
}

pub fn new_connection(name: &str, key: &Zeroizing<String>) -> NewConnection {
    NewConnection {
        name: name.into(),
        domain: "acme.okta.com".into(),
        client_id: "0oaclient".into(),
        key_id: Some("kid-1".into()),
        dpop_mode: "auto".into(),
        private_key_pem: key.clone(),
        transport: Default::default(),
        status: "new".into(),
    }
}

/// The base64 body of a PEM, the part that must never leak.
fn key_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[tokio::test]
async fn connection_keys_are_sealed_and_round_trip() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let master = MasterKey::generate().unwrap();
        let ws = store.create_workspace("acme").await.unwrap();
        assert_eq!(ws.created_at, t0());
        assert!(matches!(
            store.create_workspace("acme").await,
            Err(AccountError::AlreadyExists(_))
        ));
        assert_eq!(store.ensure_workspace("acme").await.unwrap(), ws);
        let other_ws = store.ensure_workspace("globex").await.unwrap();
        assert_eq!(store.list_workspaces().await.unwrap(), vec![ws.clone(), other_ws.clone()]);

        let key = pem();
        let new = new_connection("prod", &key);
        assert!(!format!("{new:?}").contains(&key_body(&key)));
        let conn = store.create_connection(ws.id, &new, &master, &change(ws.id, "connection.create")).await.unwrap();
        assert_eq!(conn.status, "new");
        assert_eq!(conn.workspace_id, ws.id);
        let expected_thumbprint = PrivateKey::from_pem(&key).unwrap().thumbprint();
        assert_eq!(conn.key_thumbprint.as_deref(), Some(expected_thumbprint.as_str()));
        assert!(!format!("{conn:?}").contains(&key_body(&key)));
        assert!(!serde_json::to_string(&conn).unwrap().contains(&key_body(&key)));

        // Same name: refused in the same workspace, fine in another.
        assert!(matches!(
            store.create_connection(ws.id, &new, &master, &change(ws.id, "connection.create")).await,
            Err(AccountError::AlreadyExists(_))
        ));
        let other = store.create_connection(other_ws.id, &new, &master, &change(other_ws.id, "connection.create")).await.unwrap();
        assert!(matches!(
            store.create_connection(9_999, &new, &master, &change(9_999, "connection.create")).await,
            Err(AccountError::Store(StoreError::NotFound(_)))
        ));

        assert_eq!(
            store.find_connection_by_name(ws.id, "prod").await.unwrap(),
            Some(conn.clone())
        );
        assert_eq!(store.find_connection_by_name(ws.id, "nope").await.unwrap(), None);
        assert_eq!(store.find_connection(conn.id).await.unwrap(), Some(conn.clone()));
        assert_eq!(store.list_connections(ws.id).await.unwrap(), vec![conn.clone()]);

        let back = store.connection_private_key(conn.id, &master).await.unwrap();
        assert_eq!(back.as_str(), key.as_str());

        // The key is not stored in clear.
        let clear = store
            .raw_scalar(
                &format!(
                    "SELECT COUNT(*) FROM okta_connections WHERE id = $1 AND \
                     CAST(private_key_ciphertext AS TEXT) LIKE '%{}%'",
                    &key_body(&key)[..16]
                ),
                conn.id,
            )
            .await
            .unwrap();
        assert_eq!(clear, 0);

        // Wrong master key.
        let wrong = MasterKey::generate().unwrap();
        assert!(matches!(
            store.connection_private_key(conn.id, &wrong).await,
            Err(AccountError::Decrypt(id)) if id == conn.id
        ));
        // A sealed key moved to another row (same domain and client id) does not open there.
        store
            .raw_execute(&format!(
                "UPDATE okta_connections SET \
                 private_key_ciphertext = (SELECT private_key_ciphertext FROM okta_connections WHERE id = {0}), \
                 private_key_nonce = (SELECT private_key_nonce FROM okta_connections WHERE id = {0}) \
                 WHERE id = {1}",
                conn.id, other.id
            ))
            .await
            .unwrap();
        assert!(matches!(
            store.connection_private_key(other.id, &master).await,
            Err(AccountError::Decrypt(_))
        ));
        // Changing the domain under a sealed key breaks it too.
        store
            .raw_execute(&format!(
                "UPDATE okta_connections SET domain = 'evil.okta.com' WHERE id = {}",
                conn.id
            ))
            .await
            .unwrap();
        assert!(matches!(
            store.connection_private_key(conn.id, &master).await,
            Err(AccountError::Decrypt(_))
        ));
        assert!(matches!(
            store.connection_private_key(9_999, &master).await,
            Err(AccountError::Store(StoreError::NotFound(_)))
        ));
    })
    .await;
}

#[tokio::test]
async fn invalid_keys_are_refused_without_echoing_them() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let master = MasterKey::generate().unwrap();
        let ws = store.create_workspace("acme").await.unwrap();
        let garbage = Zeroizing::new(
            "-----BEGIN PRIVATE KEY-----\nTOPSECRETNOTAKEY\n-----END PRIVATE KEY-----\n".to_owned(),
        );
        let err = store
            .create_connection(
                ws.id,
                &new_connection("x", &garbage),
                &master,
                &change(ws.id, "connection.create"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, AccountError::InvalidPrivateKey(_)), "{err:?}");
        assert!(!err.to_string().contains("TOPSECRET"));
        assert!(!format!("{err:?}").contains("TOPSECRET"));
        assert!(store.list_connections(ws.id).await.unwrap().is_empty());

        // A private JWK is accepted too.
        let jwk = PrivateKey::generate_ec(Alg::ES256)
            .unwrap()
            .to_private_jwk();
        let jwk = Zeroizing::new(jwk.to_string());
        store
            .create_connection(
                ws.id,
                &new_connection("jwk", &jwk),
                &master,
                &change(ws.id, "connection.create"),
            )
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn status_update_and_delete_with_inventory() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let master = MasterKey::generate().unwrap();
        let ws = store.create_workspace("acme").await.unwrap();
        let conn = store
            .create_connection(
                ws.id,
                &new_connection("prod", &pem()),
                &master,
                &change(ws.id, "connection.create"),
            )
            .await
            .unwrap();
        let later = store.clone().with_clock(fixed_clock(ts(-1)));
        later
            .update_connection_status(conn.id, "ok", &change(ws.id, "connection.status"))
            .await
            .unwrap();
        let found = store.find_connection(conn.id).await.unwrap().unwrap();
        assert_eq!(found.status, "ok");
        assert_eq!(found.updated_at, ts(-1));
        assert!(matches!(
            store
                .update_connection_status(9_999, "ok", &change(ws.id, "connection.status"))
                .await,
            Err(StoreError::NotFound(_))
        ));

        // Key rotation.
        let new_key = pem();
        let rotated = store
            .replace_connection_key(
                conn.id,
                &new_key,
                Some("kid-2"),
                &master,
                &change(ws.id, "connection.rotate_key"),
            )
            .await
            .unwrap();
        assert_eq!(rotated.key_id.as_deref(), Some("kid-2"));
        assert_ne!(rotated.key_thumbprint, conn.key_thumbprint);
        let back = store
            .connection_private_key(conn.id, &master)
            .await
            .unwrap();
        assert_eq!(back.as_str(), new_key.as_str());

        // Inventory of this connection and of another one.
        for c in [conn.id, conn.id + 1_000] {
            store.upsert_users(c, 1, &[user(1)]).await.unwrap();
            store
                .upsert_members(c, 1, &gid(1), &[uid(1)])
                .await
                .unwrap();
            store
                .save_checkpoint(c, "users", &serde_json::json!(1))
                .await
                .unwrap();
        }
        store
            .delete_connection(conn.id, &change(ws.id, "connection.delete"))
            .await
            .unwrap();
        assert_eq!(store.find_connection(conn.id).await.unwrap(), None);
        assert!(matches!(
            store.connection_private_key(conn.id, &master).await,
            Err(AccountError::Store(StoreError::NotFound(_)))
        ));
        assert_eq!(
            store
                .counts(conn.id)
                .await
                .unwrap()
                .rows
                .values()
                .sum::<i64>(),
            0
        );
        assert_eq!(store.checkpoint(conn.id, "users").await.unwrap(), None);
        assert_eq!(store.counts(conn.id + 1_000).await.unwrap().users(), 1);
        assert!(matches!(
            store
                .delete_connection(conn.id, &change(ws.id, "connection.delete"))
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn store_debug_masks_the_database_password() {
    let sqlite = Store::connect("sqlite::memory:").await.unwrap();
    assert!(format!("{sqlite:?}").contains("sqlite::memory:"));
    let Some(url) = postgres_url() else { return };
    // Trust authentication ignores the password, so a made-up one connects.
    let with_password = url.replacen("://postgres@", "://postgres:hunter2secret@", 1);
    if with_password == url {
        return;
    }
    let schema = PgSchema::create(&url).await;
    let store = Store::connect(&schema.url_from(&with_password))
        .await
        .unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("hunter2secret"), "{debug}");
    assert!(debug.contains("*****"), "{debug}");
    assert!(!store.redacted_url().contains("hunter2secret"));
    store.close().await;
}

#[tokio::test]
async fn connection_transport_round_trips() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let master = MasterKey::generate().unwrap();
        let ws = store.ensure_workspace("acme").await.unwrap();
        let conn = store
            .create_connection(
                ws.id,
                &new_connection("tls", &pem()),
                &master,
                &change(ws.id, "connection.create"),
            )
            .await
            .unwrap();
        // A connection never given any: system roots, https only.
        assert_eq!(
            store.connection_transport(conn.id).await.unwrap(),
            steward_store::ConnectionTransport::default()
        );
        let transport = steward_store::ConnectionTransport {
            ca_cert_pem: Some(
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            ),
            allow_insecure_loopback: true,
        };
        store
            .set_connection_transport(conn.id, &transport, &change(ws.id, "connection.transport"))
            .await
            .unwrap();
        assert_eq!(
            store.connection_transport(conn.id).await.unwrap(),
            transport
        );
        assert!(matches!(
            store.connection_transport(conn.id + 1000).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store
                .set_connection_transport(
                    conn.id + 1000,
                    &transport,
                    &change(ws.id, "connection.transport")
                )
                .await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}
