//! The repository contract on every implementation: in memory, SQLite, and PostgreSQL when
//! `STEWARD_TEST_POSTGRES_URL` is set (in a schema of its own, dropped after).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use okta_client::DpopMode;
use sqlx::{Connection as _, Executor as _};
use steward_jose::{Alg, PrivateKey};
use steward_store::{MasterKey, Store};
use steward_web::accounts::create_account;
use steward_web::error::AppError;
use steward_web::repo::*;
use steward_web::secret::{Secret, verify_password};
use steward_web::sql_repos::SqlRepos;

use super::PASSWORD;

const POSTGRES_ENV: &str = "STEWARD_TEST_POSTGRES_URL";

/// A PostgreSQL schema for one test.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    pub async fn create(base: &str) -> PgSchema {
        let name = format!("steward_web_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(base).await.expect("postgres");
        c.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("schema");
        let _ = c.close().await;
        PgSchema {
            base: base.to_owned(),
            name,
        }
    }

    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    pub async fn drop_now(self) {
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.base).await {
            let _ = c
                .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name).as_str())
                .await;
            let _ = c.close().await;
        }
    }
}

/// Now, to the millisecond (what the database keeps).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now")
}

fn key_text(kid: &str) -> String {
    let mut jwk = PrivateKey::generate_ec(Alg::ES256)
        .expect("key")
        .to_private_jwk();
    jwk["kid"] = kid.into();
    jwk.to_string()
}

async fn contract(name: &str, repos: Repos) {
    eprintln!("--- {name}");
    // Accounts.
    assert_eq!(repos.accounts.count_accounts().await.expect("count"), 0);
    let alice = create_account(&repos, "Alice", &Secret::new(PASSWORD), Role::Approver)
        .await
        .expect("create");
    assert_eq!(alice.username, "alice");
    assert!(matches!(
        create_account(&repos, "alice", &Secret::new(PASSWORD), Role::Viewer).await,
        Err(AppError::Conflict(_))
    ));
    let found = repos.accounts.find_account(alice.id).await.expect("find");
    let found = found.expect("some");
    assert_eq!((found.role, found.disabled), (Role::Approver, false));
    assert!(verify_password(
        &Secret::new(PASSWORD),
        &found.password_hash
    ));
    let by_name = repos.accounts.find_account_by_username("alice").await;
    assert_eq!(by_name.expect("find").expect("some").id, alice.id);
    assert!(
        repos
            .accounts
            .find_account(AccountId(999))
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(repos.accounts.count_accounts().await.expect("count"), 1);

    // Sessions.
    let t = now();
    let s = Session {
        id_hash: "a".repeat(64),
        account: alice.id,
        csrf: Secret::new("csrf-1"),
        created: t,
        expires: t + TimeDelta::hours(1),
        last_seen: t,
    };
    repos
        .sessions
        .create_session(s.clone())
        .await
        .expect("session");
    let back = repos.sessions.find_session(&s.id_hash).await.expect("find");
    let back = back.expect("some");
    assert_eq!((back.account, back.expires), (alice.id, s.expires));
    assert_eq!(back.csrf.expose(), "csrf-1");
    let later = t + TimeDelta::minutes(5);
    repos
        .sessions
        .touch_session(&s.id_hash, later, later + TimeDelta::hours(1))
        .await
        .expect("touch");
    let back = repos.sessions.find_session(&s.id_hash).await.expect("find");
    assert_eq!(back.expect("some").last_seen, later);
    repos
        .sessions
        .delete_session(&s.id_hash)
        .await
        .expect("delete");
    assert!(
        repos
            .sessions
            .find_session(&s.id_hash)
            .await
            .expect("find")
            .is_none()
    );

    // API tokens.
    let token = ApiToken {
        id: TokenId(0),
        name: "ci".into(),
        role: Role::Viewer,
        hash: "b".repeat(64),
        created_by: alice.id,
        created: t,
        last_used: None,
    };
    let stored = repos.tokens.create_token(token).await.expect("token");
    assert_ne!(stored.id, TokenId(0));
    repos
        .tokens
        .touch_token(stored.id, later)
        .await
        .expect("touch");
    let back = repos.tokens.find_token_by_hash(&"b".repeat(64)).await;
    let back = back.expect("find").expect("some");
    assert_eq!((back.role, back.last_used), (Role::Viewer, Some(later)));
    assert!(
        repos
            .tokens
            .find_token_by_hash("nope")
            .await
            .expect("find")
            .is_none()
    );
    // Listed oldest first; revoked ones are gone for good.
    let second = ApiToken {
        id: TokenId(0),
        name: "deploy".into(),
        role: Role::Admin,
        hash: "c".repeat(64),
        created_by: alice.id,
        created: later,
        last_used: None,
    };
    let second = repos.tokens.create_token(second).await.expect("token");
    let listed = repos.tokens.list_tokens().await.expect("list");
    let names: Vec<_> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ci", "deploy"]);
    assert_eq!(listed[0].last_used, Some(later));
    let found = repos.tokens.find_token(stored.id).await.expect("find");
    assert_eq!(found.expect("some").name, stored.name);
    assert!(repos.tokens.revoke_token(stored.id).await.expect("revoke"));
    assert!(
        repos
            .tokens
            .find_token(stored.id)
            .await
            .expect("find")
            .is_none()
    );
    assert!(!repos.tokens.revoke_token(stored.id).await.expect("again"));
    let back = repos.tokens.find_token_by_hash(&"b".repeat(64)).await;
    assert!(back.expect("find").is_none());
    let listed = repos.tokens.list_tokens().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, second.id);

    // Account management: list, role, disable/enable, password, the last-admin guard.
    let bob = create_account(&repos, "bob", &Secret::new(PASSWORD), Role::Admin)
        .await
        .expect("bob");
    let names: Vec<String> = repos
        .accounts
        .list_accounts()
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    let update = |id, change| repos.accounts.update_account(id, change);
    update(alice.id, AccountChange::Role(Role::Admin))
        .await
        .expect("promote");
    update(bob.id, AccountChange::Role(Role::Viewer))
        .await
        .expect("another admin remains");
    assert!(matches!(
        update(alice.id, AccountChange::Role(Role::Viewer)).await,
        Err(RepoError::Conflict(_))
    ));
    let disable = |disabled| AccountChange::Disabled { disabled, at: t };
    assert!(matches!(
        update(alice.id, disable(true)).await,
        Err(RepoError::Conflict(_))
    ));
    update(bob.id, disable(true)).await.expect("disable bob");
    let b = repos.accounts.find_account(bob.id).await.expect("find");
    assert!(b.expect("bob").disabled);
    // A disabled admin is no admin: promoting bob doesn't let alice go.
    update(bob.id, AccountChange::Role(Role::Admin))
        .await
        .expect("promote bob");
    assert!(matches!(
        update(alice.id, disable(true)).await,
        Err(RepoError::Conflict(_))
    ));
    update(bob.id, disable(false)).await.expect("enable bob");
    update(alice.id, disable(true))
        .await
        .expect("bob is an enabled admin now");
    let a = repos.accounts.find_account(alice.id).await.expect("find");
    let a = a.expect("alice");
    assert!(a.disabled && a.role == Role::Admin);
    assert!(matches!(
        update(AccountId(999), AccountChange::Role(Role::Viewer)).await,
        Err(RepoError::NotFound)
    ));
    let hash =
        steward_web::secret::hash_password(&Secret::new("another-password-1")).expect("hash");
    update(bob.id, AccountChange::Password(hash))
        .await
        .expect("password");
    let b = repos.accounts.find_account(bob.id).await.expect("find");
    let b = b.expect("bob");
    assert!(verify_password(
        &Secret::new("another-password-1"),
        &b.password_hash
    ));
    assert!(!verify_password(&Secret::new(PASSWORD), &b.password_hash));
    let bs = Session {
        id_hash: "c".repeat(64),
        account: bob.id,
        ..s.clone()
    };
    repos.sessions.create_session(bs).await.expect("session");
    repos
        .sessions
        .delete_account_sessions(bob.id)
        .await
        .expect("sign out");
    let gone = repos.sessions.find_session(&"c".repeat(64)).await;
    assert!(gone.expect("find").is_none());

    // Audit: newest first.
    for i in 0..3 {
        let e = AuditEvent {
            at: t + TimeDelta::seconds(i),
            actor: "system".into(),
            action: format!("test.{i}"),
            target: "x".into(),
            detail: String::new(),
        };
        repos.audit.append_audit(e).await.expect("append");
    }
    let list = repos.audit.list_audit(2).await.expect("list");
    let actions: Vec<&str> = list.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["test.2", "test.1"]);

    // Connections: keys encrypted, replaced, deleted.
    let first = key_text("k1");
    let conn = Connection {
        name: "okta".into(),
        domain: "acme.okta.com".into(),
        client_id: "0oa1".into(),
        key_id: Some("k1".into()),
        dpop: DpopMode::On,
        key_thumbprint: "ignored-by-sql".into(),
        created: t,
        key_created: t,
    };
    let key = PrivateKeySecret::new(Secret::new(first.clone()));
    let saved = repos
        .connections
        .save_connection(conn.clone(), key.clone())
        .await
        .expect("save");
    assert_eq!((saved.dpop, saved.key_created), (DpopMode::On, t));
    assert!(matches!(
        repos.connections.save_connection(conn, key).await,
        Err(RepoError::Conflict(_))
    ));
    let listed = repos.connections.list_connections().await.expect("list");
    assert_eq!(listed.len(), 1);
    let k = repos.connections.private_key("okta").await.expect("key");
    assert_eq!(k.expect("some").expose(), first);
    let second = key_text("k2");
    let rotated = repos
        .connections
        .replace_key(
            "okta",
            Some("k2".into()),
            "t2".into(),
            later,
            PrivateKeySecret::new(Secret::new(second.clone())),
        )
        .await
        .expect("rotate");
    assert_eq!(
        (rotated.key_id.as_deref(), rotated.key_created),
        (Some("k2"), later)
    );
    let k = repos.connections.private_key("okta").await.expect("key");
    assert_eq!(k.expect("some").expose(), second);
    assert!(matches!(
        repos
            .connections
            .replace_key(
                "nope",
                None,
                "t".into(),
                later,
                PrivateKeySecret::new(Secret::new(second))
            )
            .await,
        Err(RepoError::NotFound)
    ));
    assert!(
        repos
            .connections
            .delete_connection("okta")
            .await
            .expect("delete")
    );
    assert!(
        !repos
            .connections
            .delete_connection("okta")
            .await
            .expect("delete")
    );
    assert!(
        repos
            .connections
            .private_key("okta")
            .await
            .expect("key")
            .is_none()
    );
}

async fn sql_repos(url: &str) -> (Store, Repos) {
    let store = Store::connect(url).await.expect("store");
    let sql = SqlRepos::new(store.clone(), MasterKey::generate().expect("master"))
        .await
        .expect("repos");
    (store, Repos::from_one(Arc::new(sql)))
}

#[tokio::test]
async fn every_repository_keeps_the_contract() {
    contract("memory", Repos::memory().expect("memory")).await;
    let (store, repos) = sql_repos("sqlite::memory:").await;
    contract("sqlite", repos).await;
    store.close().await;
    if let Some(base) = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty()) {
        let schema = PgSchema::create(&base).await;
        let (store, repos) = sql_repos(&schema.url()).await;
        contract("postgres", repos).await;
        store.close().await;
        schema.drop_now().await;
    }
}
