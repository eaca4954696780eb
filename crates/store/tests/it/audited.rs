//! Changes and their audit events commit together: no change without its event, no event
//! without its change.

use chrono::TimeDelta;
use steward_inventory::StoreError;
use steward_store::accounts::{AccountUpdate, AccountUpdated, SessionRow};
use steward_store::audit::{AuditEvent, AuditFilter, AuditKey, Target};
use steward_store::{AccountError, ConnectionTransport, MasterKey, Store};

use crate::audit::{change, keyed};
use crate::common::*;
use crate::connections::{new_connection, pem};

async fn events(store: &Store) -> Vec<AuditEvent> {
    let mut all = store
        .list_audit(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    all.reverse();
    all
}

async fn actions(store: &Store) -> Vec<String> {
    events(store).await.into_iter().map(|e| e.action).collect()
}

fn session(id: &str, account_id: i64) -> SessionRow {
    SessionRow {
        id_hash: id.into(),
        account_id,
        csrf: "csrf".into(),
        created_at: t0(),
        expires_at: t0() + TimeDelta::hours(8),
        last_seen_at: t0(),
    }
}

#[tokio::test]
async fn account_changes_write_one_event_each_and_failures_none() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let ws = store.create_workspace("default").await.unwrap().id;
        let alice = store
            .create_account(
                "alice",
                "$argon2id$x",
                "admin",
                t0(),
                &change(ws, "account.create"),
            )
            .await
            .unwrap();
        let bob = store
            .create_account(
                "bob",
                "$argon2id$y",
                "viewer",
                t0(),
                &change(ws, "account.create"),
            )
            .await
            .unwrap();
        let created = events(&store).await;
        assert_eq!(
            created[0].target,
            Target::new("account", alice.id.to_string())
        );
        assert_eq!(
            created[1].target,
            Target::new("account", bob.id.to_string())
        );

        // Failures: taken name, unknown id, last admin, nothing to delete.
        assert!(matches!(
            store
                .create_account("alice", "h", "viewer", t0(), &change(ws, "account.create"))
                .await,
            Err(AccountError::AlreadyExists(_))
        ));
        let upd = |id, c| {
            let store = store.clone();
            async move {
                store
                    .update_account(id, c, &change(ws, "account.update"))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            upd(9_999, AccountUpdate::Enable).await,
            AccountUpdated::NotFound
        );
        assert_eq!(
            upd(alice.id, AccountUpdate::Role("viewer")).await,
            AccountUpdated::LastAdmin
        );
        assert_eq!(
            upd(alice.id, AccountUpdate::Disable(t0())).await,
            AccountUpdated::LastAdmin
        );
        let none = change(ws, "session.delete");
        assert!(!store.delete_session("nope", &none).await.unwrap());
        assert!(
            !store
                .delete_api_token(9_999, &change(ws, "api_token.delete"))
                .await
                .unwrap()
        );
        assert_eq!(actions(&store).await, ["account.create", "account.create"]);
        assert_eq!(
            store.find_account(alice.id).await.unwrap().unwrap().role,
            "admin"
        );

        // Sessions and tokens.
        store
            .create_session(&session("s1", bob.id), &change(ws, "session.create"))
            .await
            .unwrap();
        store
            .create_session(&session("s2", bob.id), &change(ws, "session.create"))
            .await
            .unwrap();
        store
            .create_session(&session("s3", alice.id), &change(ws, "session.create"))
            .await
            .unwrap();
        assert!(
            store
                .delete_session("s3", &change(ws, "session.delete"))
                .await
                .unwrap()
        );
        assert!(store.find_session("s3").await.unwrap().is_none());
        let token = store
            .create_api_token(
                "ci",
                "viewer",
                "hash1",
                alice.id,
                t0(),
                &change(ws, "api_token.create"),
            )
            .await
            .unwrap();
        assert_eq!(
            events(&store).await.last().unwrap().target.id,
            token.id.to_string()
        );
        assert!(matches!(
            store
                .create_api_token(
                    "dup",
                    "viewer",
                    "hash1",
                    alice.id,
                    t0(),
                    &change(ws, "api_token.create")
                )
                .await,
            Err(AccountError::AlreadyExists(_))
        ));
        assert!(
            store
                .delete_api_token(token.id, &change(ws, "api_token.delete"))
                .await
                .unwrap()
        );

        // A new password signs bob out everywhere, in the same change.
        assert_eq!(
            upd(bob.id, AccountUpdate::PasswordHash("$argon2id$z")).await,
            AccountUpdated::Done
        );
        assert!(store.find_session("s1").await.unwrap().is_none());
        assert!(store.find_session("s2").await.unwrap().is_none());
        store
            .create_session(&session("s4", bob.id), &change(ws, "session.create"))
            .await
            .unwrap();
        assert_eq!(
            upd(bob.id, AccountUpdate::Disable(t0())).await,
            AccountUpdated::Done
        );
        assert!(store.find_session("s4").await.unwrap().is_none());
        assert_eq!(
            upd(bob.id, AccountUpdate::Enable).await,
            AccountUpdated::Done
        );
        // Two admins: now one may step down.
        assert_eq!(
            upd(bob.id, AccountUpdate::Role("admin")).await,
            AccountUpdated::Done
        );
        assert_eq!(
            upd(alice.id, AccountUpdate::Role("viewer")).await,
            AccountUpdated::Done
        );

        assert_eq!(
            actions(&store).await,
            [
                "account.create",
                "account.create",
                "session.create",
                "session.create",
                "session.create",
                "session.delete",
                "api_token.create",
                "api_token.delete",
                "account.update",
                "session.create",
                "account.update",
                "account.update",
                "account.update",
                "account.update",
            ]
        );
        let v = store.verify_audit().await.unwrap();
        assert!(v.ok && v.events == 14, "{v:?}");
    })
    .await;
}

#[tokio::test]
async fn a_failed_append_rolls_the_change_back() {
    on_each_backend(|store| async move {
        let ws = store.create_workspace("default").await.unwrap().id;
        // No key: nothing is written.
        let err = store
            .create_account("carol", "h", "admin", t0(), &change(ws, "account.create"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("audit key"), "{err}");
        assert!(
            store
                .find_account_by_username("carol")
                .await
                .unwrap()
                .is_none()
        );

        let store = keyed(store);
        // The event's workspace does not exist: the append fails after the insert.
        let err = store
            .create_account(
                "carol",
                "h",
                "admin",
                t0(),
                &change(ws + 50, "account.create"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, AccountError::Store(StoreError::NotFound(_))),
            "{err:?}"
        );
        assert!(
            store
                .find_account_by_username("carol")
                .await
                .unwrap()
                .is_none()
        );
        let carol = store
            .create_account("carol", "h", "admin", t0(), &change(ws, "account.create"))
            .await
            .unwrap();
        store
            .create_session(&session("s1", carol.id), &change(ws, "session.create"))
            .await
            .unwrap();
        // An invalid event (empty action) undoes the password change and the sign-out.
        let mut bad = change(ws, "account.update");
        bad.action.clear();
        assert!(
            store
                .update_account(carol.id, AccountUpdate::PasswordHash("new"), &bad)
                .await
                .is_err()
        );
        assert_eq!(
            store
                .find_account(carol.id)
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            "h"
        );
        assert!(store.find_session("s1").await.unwrap().is_some());
        assert!(
            store
                .create_session(&session("s2", carol.id), &bad)
                .await
                .is_err()
        );
        assert!(store.find_session("s2").await.unwrap().is_none());
        assert_eq!(actions(&store).await, ["account.create", "session.create"]);
        assert!(store.verify_audit().await.unwrap().ok);
    })
    .await;
}

#[tokio::test]
async fn connection_changes_commit_with_their_event() {
    on_each_backend(|store| async move {
        let store = keyed(store);
        let master = MasterKey::generate().unwrap();
        let ws = store.create_workspace("acme").await.unwrap().id;
        let other = store.create_workspace("globex").await.unwrap().id;
        let mut new = new_connection("prod", &pem());
        new.status = "ok".into();
        new.transport = ConnectionTransport {
            ca_cert_pem: Some(
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            ),
            allow_insecure_loopback: true,
        };
        // An event for another workspace's chain is refused, and nothing is stored.
        assert!(
            store
                .create_connection(ws, &new, &master, &change(other, "connection.create"))
                .await
                .is_err()
        );
        assert!(store.list_connections(ws).await.unwrap().is_empty());
        let conn = store
            .create_connection(ws, &new, &master, &change(ws, "connection.create"))
            .await
            .unwrap();
        assert_eq!(conn.status, "ok");
        assert_eq!(
            store.connection_transport(conn.id).await.unwrap(),
            new.transport
        );
        assert_eq!(
            store.connection_key_created(conn.id).await.unwrap(),
            Some(t0())
        );
        assert_eq!(
            events(&store).await[0].target,
            Target::new("connection", conn.id.to_string())
        );
        // A duplicate name writes no event.
        assert!(matches!(
            store
                .create_connection(ws, &new, &master, &change(ws, "connection.create"))
                .await,
            Err(AccountError::AlreadyExists(_))
        ));

        let later = store.clone().with_clock(fixed_clock(ts(-1)));
        later
            .replace_connection_key(
                conn.id,
                &pem(),
                Some("kid-2"),
                &master,
                &change(ws, "connection.rotate_key"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.connection_key_created(conn.id).await.unwrap(),
            Some(ts(-1))
        );
        assert!(matches!(
            store
                .replace_connection_key(
                    9_999,
                    &pem(),
                    None,
                    &master,
                    &change(ws, "connection.rotate_key")
                )
                .await,
            Err(AccountError::Store(StoreError::NotFound(_)))
        ));
        // Wrong workspace: refused, status unchanged.
        assert!(
            store
                .update_connection_status(conn.id, "failing", &change(other, "connection.status"))
                .await
                .is_err()
        );
        assert_eq!(
            store
                .find_connection(conn.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            "ok"
        );
        store
            .update_connection_status(conn.id, "failing", &change(ws, "connection.status"))
            .await
            .unwrap();
        store
            .set_connection_transport(
                conn.id,
                &ConnectionTransport::default(),
                &change(ws, "connection.transport"),
            )
            .await
            .unwrap();
        assert!(
            store
                .delete_connection(conn.id, &change(other, "connection.delete"))
                .await
                .is_err()
        );
        assert!(store.find_connection(conn.id).await.unwrap().is_some());
        store
            .delete_connection(conn.id, &change(ws, "connection.delete"))
            .await
            .unwrap();
        assert!(matches!(
            store
                .delete_connection(conn.id, &change(ws, "connection.delete"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            actions(&store).await,
            [
                "connection.create",
                "connection.rotate_key",
                "connection.status",
                "connection.transport",
                "connection.delete",
            ]
        );
        assert!(store.verify_audit().await.unwrap().ok);
    })
    .await;
}

#[tokio::test]
async fn audited_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let key = AuditKey::derive(&MasterKey::from_bytes([1; 32]));
    let store = store.with_audit_key(key);
    let e = change(1, "x.y");
    send(&store.append_audit(&e));
    send(&store.create_account("a", "h", "viewer", t0(), &e));
    send(&store.update_account(1, AccountUpdate::Enable, &e));
    send(&store.verify_audit());
    send(&store.export_audit(None, |_| Ok::<_, std::io::Error>(())));
    send(&store.delete_connection(1, &e));
}

#[tokio::test]
async fn admins_demoting_each_other_at_once_leave_one_admin_on_postgres() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: {POSTGRES_ENV} not set");
        return;
    };
    let schema = PgSchema::create(&url).await;
    let store = keyed(Store::connect(&schema.url()).await.unwrap());
    let ws = store.create_workspace("default").await.unwrap().id;
    let a = store
        .create_account("a", "h", "admin", t0(), &change(ws, "account.create"))
        .await
        .unwrap();
    let b = store
        .create_account("b", "h", "admin", t0(), &change(ws, "account.create"))
        .await
        .unwrap();
    for round in 0..30 {
        let demote = |id: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_account(
                        id,
                        AccountUpdate::Role("viewer"),
                        &change(ws, "account.update"),
                    )
                    .await
                    .unwrap()
            })
        };
        let (x, y) = (demote(a.id), demote(b.id));
        let mut outcomes = [x.await.unwrap(), y.await.unwrap()];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [AccountUpdated::Done, AccountUpdated::LastAdmin],
            "round {round}"
        );
        let admins = store
            .list_accounts()
            .await
            .unwrap()
            .into_iter()
            .filter(|acc| acc.role == "admin")
            .count();
        assert_eq!(admins, 1, "round {round}");
        for id in [a.id, b.id] {
            store
                .update_account(
                    id,
                    AccountUpdate::Role("admin"),
                    &change(ws, "account.update"),
                )
                .await
                .unwrap();
        }
    }
    assert!(store.verify_audit().await.unwrap().ok);
    store.close().await;
}
