//! The users list's search over HTTP (page and API) on SQLite, and on PostgreSQL when
//! `STEWARD_TEST_POSTGRES_URL` is set: case-insensitive prefixes of login, email,
//! `first last` and last name, one- and two-character queries, totals over pages, and users
//! renamed or removed after the first sync.

use axum::http::{Method, StatusCode};
use okta_sim::{RunningSim, SimConfig};
use steward_app::Role;
use steward_inventory::{InventoryStore, UserRecord};
use steward_store::{MasterKey, Store};
use steward_web::{AppState, WebConfig};

use super::TestApp;
use super::pg::PgSchema;

fn person(i: usize, first: &str, last: &str) -> UserRecord {
    let login = format!("{first}.{last}{i}@Example.com");
    UserRecord {
        id: format!("00u{i:017}"),
        status: "ACTIVE".into(),
        login: login.clone(),
        email: Some(login.to_lowercase()),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        department: Some("Engineering".into()),
        title: None,
        manager_id: None,
        employee_number: None,
        created: None,
        status_changed: None,
        last_login: None,
        last_updated: None,
        profile: serde_json::json!({"login": login}),
    }
}

/// `(total, logins)` of `/api/v1/users?search=…`, and the HTML page's rows.
async fn search(c: &mut super::Client, api: &mut super::Client, text: &str) -> (i64, Vec<String>) {
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", text)
        .finish();
    let page = c.get(&format!("/users?{qs}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let r = api
        .api(
            Method::GET,
            &format!("/api/v1/users?{qs}&page_size=200"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    let logins: Vec<String> = j["page"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["login"].as_str().expect("login").to_owned())
        .collect();
    for l in logins.iter().take(50) {
        assert!(page.body.contains(l.as_str()), "{l} on the page for {text}");
    }
    (j["page"]["total"].as_i64().expect("total"), logins)
}

async fn search_on(store: Store) {
    let mut config = SimConfig::small();
    config.users = 3;
    config.groups = 1;
    config.apps = 1;
    config.log_days = 1;
    let sim = RunningSim::start(config).await.expect("okta-sim");
    let creds = &sim.credentials;
    let master = MasterKey::generate().expect("master");
    let state = AppState::on_store(WebConfig::dev(), store, master)
        .await
        .expect("state");
    let t = TestApp::with_state(state).await;
    let mut c = t.login("admin").await;
    let csrf = c.get("/settings/okta").await.csrf();
    let jwk = creds.private_key_jwk.to_string();
    let r = c
        .post_form(
            "/settings/okta",
            &[
                ("csrf", &csrf),
                ("action", "save"),
                ("name", "okta"),
                ("domain", &creds.domain),
                ("client_id", &creds.client_id),
                ("dpop", "auto"),
                ("private_key", &jwk),
            ],
        )
        .await;
    assert!(r.body.contains("Every check passed"), "{}", r.body);
    let conn = t.state.app.connection("okta").await.expect("okta").id;
    let store = t.state.app.store();
    let mut users: Vec<UserRecord> = (0..120)
        .map(|i| {
            person(
                i,
                ["Ada", "Alan", "Grace"][i % 3],
                ["Lovelace", "Turing", "Hopper", "Davis"][i % 4],
            )
        })
        .collect();
    users.push(person(500, "Zoë", "Ångström"));
    store.upsert_users(conn, 1, &users).await.expect("seed");
    let mut api = t.token_client(Role::Viewer).await;

    // One and two characters; any case.
    assert_eq!(search(&mut c, &mut api, "a").await.0, 80);
    assert_eq!(search(&mut c, &mut api, "AL").await.0, 40);
    // Last name (also the email's and the login's middle, which don't count).
    let (total, logins) = search(&mut c, &mut api, "DAVIS").await;
    assert_eq!(total, 30);
    assert!(logins.iter().all(|l| l.contains(".Davis")));
    // In login order.
    let mut sorted = logins.clone();
    sorted.sort_by_key(|l| l.to_lowercase());
    assert_eq!(logins, sorted);
    // `first last`, non-ASCII lower-casing.
    assert_eq!(search(&mut c, &mut api, "grace h").await.0, 10);
    assert_eq!(search(&mut c, &mut api, "ÅN").await.0, 1);
    assert_eq!(search(&mut c, &mut api, "zoë").await.0, 1);
    // A prefix, not a substring.
    assert_eq!(search(&mut c, &mut api, "avis").await.0, 0);
    // The page shows the total over all pages.
    let page = c.get("/users?search=a").await;
    assert!(page.body.contains("80 in all"), "{}", page.body);

    // Renamed and removed after the first write.
    let mut renamed = users[3].clone(); // Ada Davis → Ada Byron
    renamed.last_name = Some("Byron".into());
    renamed.login = "ada.byron3@example.com".into();
    renamed.email = Some(renamed.login.clone());
    store
        .upsert_users(conn, 2, &[renamed])
        .await
        .expect("rename");
    store
        .mark_removed(conn, "users", &users[7].id, chrono::Utc::now())
        .await
        .expect("remove");
    let (total, logins) = search(&mut c, &mut api, "davis").await;
    assert_eq!(total, 28);
    assert!(
        !logins
            .iter()
            .any(|l| l.contains("Davis3@") || l.contains("Davis7@"))
    );
    assert_eq!(
        search(&mut c, &mut api, "BYRON").await.1,
        ["ada.byron3@example.com"]
    );
    // Alan Davis 7 is gone; Ada Byron is still an Ada.
    assert_eq!(search(&mut c, &mut api, "a").await.0, 79);
    assert_eq!(search(&mut c, &mut api, "g").await.0, 40);
}

#[tokio::test]
async fn users_search_on_sqlite() {
    search_on(Store::connect("sqlite::memory:").await.expect("store")).await;
}

#[tokio::test]
async fn users_search_on_postgres() {
    let Ok(base) = std::env::var("STEWARD_TEST_POSTGRES_URL") else {
        eprintln!("STEWARD_TEST_POSTGRES_URL not set: skipped");
        return;
    };
    let schema = PgSchema::create(&base).await;
    search_on(Store::connect(&schema.url()).await.expect("store")).await;
    schema.drop_now().await;
}
