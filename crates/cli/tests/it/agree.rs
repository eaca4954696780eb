//! `steward connect` and the web's `POST /api/v1/connections` take one path
//! (`App::create_connection`): the same input is accepted or refused by both, and an
//! accepted one leaves the same connection and the same audit event (its actor aside).

use std::path::Path;

use serde_json::{Value, json};
use steward_app::{Actor, Role};
use steward_store::{MasterKey, Store};
use steward_web::{AppState, WebConfig};

use crate::inventory::{sim, steward_in};
use crate::temp_dir;

/// One input: the connection name, and how the key, client id and domain differ from the
/// simulator's working ones.
struct Case {
    what: &'static str,
    name: String,
    client_id: Option<&'static str>,
    key: Option<&'static str>,
    /// Created first through the same front end, so this one's name is taken.
    taken: bool,
    saved: bool,
}

fn cases() -> Vec<Case> {
    let case = |what, name: &str, saved| Case {
        what,
        name: name.to_owned(),
        client_id: None,
        key: None,
        taken: false,
        saved,
    };
    vec![
        case("a good name", "okta-prod", true),
        case("upper case, stored lowercase", "Okta_Prod", true),
        case("a space", "okta prod", false),
        case("a slash", "okta/prod", false),
        case("empty", "  ", false),
        case("too long", &"a".repeat(65), false),
        case("non-ASCII", "oktä", false),
        Case {
            taken: true,
            ..case("a taken name", "okta", false)
        },
        Case {
            client_id: Some("0oaWRONGCLIENT00000"),
            ..case("an unknown Client ID", "wrong-client", false)
        },
        Case {
            key: Some("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
            ..case("a key that is not one", "bad-key", false)
        },
    ]
}

/// `(action, target, details)` of every audit event, oldest first.
async fn events(store: &Store) -> Vec<(String, String, Value)> {
    let filter = steward_store::audit::AuditFilter {
        limit: 1000,
        ..Default::default()
    };
    let mut rows: Vec<(String, String, Value)> = store
        .list_audit(&filter)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| {
            (
                e.action,
                format!("{}:{}", e.target.kind, e.target.id),
                e.details,
            )
        })
        .collect();
    rows.reverse();
    rows
}

/// What a front end did with one case: saved or not, the stored connection (as the API
/// shows it) and the events of the connection.
#[derive(Debug, PartialEq)]
struct Result {
    saved: bool,
    connection: Option<Value>,
    events: Vec<(String, String, Value)>,
}

fn connection_view(c: &steward_app::Connection) -> Value {
    json!({
        "name": c.name, "domain": c.domain, "client_id": c.client_id, "key_id": c.key_id,
        "dpop": c.dpop.as_str(), "key_thumbprint": c.key_thumbprint, "status": c.status,
        "ca_cert": c.ca_cert, "allow_insecure_loopback": c.allow_insecure_loopback,
    })
}

async fn app_on(dir: &Path) -> steward_app::App {
    let store = Store::connect(&steward_store::default_sqlite_url(dir))
        .await
        .expect("store");
    let master =
        MasterKey::load_or_create(&dir.join(steward_store::MASTER_KEY_FILE)).expect("master key");
    steward_app::App::open(
        store,
        master,
        WebConfig::dev().settings(),
        steward_app::Clock::system(),
    )
    .await
    .expect("app")
}

async fn outcome(dir: &Path, name: &str, saved: bool) -> Result {
    let app = app_on(dir).await;
    let connection = app
        .find_connection(name)
        .await
        .expect("find")
        .map(|c| connection_view(&c));
    let events = events(app.store())
        .await
        .into_iter()
        .filter(|(action, _, _)| action.starts_with("connection."))
        .collect();
    app.store().close().await;
    Result {
        saved,
        connection,
        events,
    }
}

async fn via_cli(sim: &okta_sim::RunningSim, case: &Case) -> Result {
    let dir = temp_dir();
    let key = dir.join("key.json");
    let key_text = case
        .key
        .map(str::to_owned)
        .unwrap_or_else(|| sim.credentials.private_key_jwk.to_string());
    std::fs::write(&key, key_text).expect("key");
    let flags = |name: &str| {
        vec![
            "--name".to_owned(),
            name.to_owned(),
            "--domain".to_owned(),
            sim.credentials.domain.clone(),
            "--client-id".to_owned(),
            case.client_id
                .map(str::to_owned)
                .unwrap_or_else(|| sim.credentials.client_id.clone()),
            "--private-key".to_owned(),
            key.display().to_string(),
            "--allow-insecure-loopback".to_owned(),
            "--json".to_owned(),
        ]
    };
    if case.taken {
        let first = steward_in(&dir, &["connect"], &flags(&case.name)).await;
        assert_eq!(first.status.code(), Some(0), "{}: first create", case.what);
    }
    let out = steward_in(&dir, &["connect"], &flags(&case.name)).await;
    let saved = out.status.code() == Some(0);
    if !saved {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: refused with exit 1",
            case.what
        );
        assert!(
            !out.stderr.is_empty(),
            "{}: the refusal is explained",
            case.what
        );
    }
    outcome(&dir, &case.name, saved).await
}

async fn via_web(sim: &okta_sim::RunningSim, case: &Case) -> Result {
    let dir = temp_dir();
    let app = app_on(&dir).await;
    let admin = app
        .create_account(
            &Actor::system("test"),
            "admin",
            &steward_app::secret::Secret::new("correct-horse-battery"),
            Role::Admin,
        )
        .await
        .expect("admin");
    let (_, token) = app
        .create_token(&Actor::system("test"), &admin, "agree", Role::Admin)
        .await
        .expect("token");
    let state = AppState::new(WebConfig::dev(), app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(steward_web::serve(state, listener, std::future::pending()));
    let body = json!({
        "name": case.name,
        "domain": sim.credentials.domain,
        "client_id": case.client_id.unwrap_or(&sim.credentials.client_id),
        "private_key": case.key.map(str::to_owned)
            .unwrap_or_else(|| sim.credentials.private_key_jwk.to_string()),
    });
    let http = reqwest::Client::new();
    let post = || {
        http.post(format!("{base}/api/v1/connections"))
            .bearer_auth(token.expose())
            .json(&body)
            .send()
    };
    if case.taken {
        let first = post().await.expect("post");
        assert_eq!(first.status(), 201, "{}: first create", case.what);
    }
    let r = post().await.expect("post");
    let status = r.status().as_u16();
    let saved = status == 201;
    if !saved {
        assert!(
            [400, 409, 422].contains(&status),
            "{}: refused with a client error, got {status}",
            case.what
        );
        let v: Value = r.json().await.expect("json");
        let told = v["error"]["message"].is_string() || v["report"]["checks"].is_array();
        assert!(told, "{}: the refusal is explained: {v}", case.what);
    }
    server.abort();
    app.store().close().await;
    // The web's own setup events (the test account and token) are not connection events.
    outcome(&dir, &case.name, saved).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_and_web_accept_and_refuse_the_same_connections() {
    let sim = sim().await;
    for case in cases() {
        let cli = via_cli(&sim, &case).await;
        let web = via_web(&sim, &case).await;
        assert_eq!(cli.saved, case.saved, "{}: CLI {cli:?}", case.what);
        assert_eq!(web.saved, case.saved, "{}: web {web:?}", case.what);
        assert_eq!(cli, web, "{}: the CLI and the web differ", case.what);
        let creates = cli
            .events
            .iter()
            .filter(|(a, _, _)| a == "connection.create")
            .count();
        let expected = usize::from(case.saved) + usize::from(case.taken);
        assert_eq!(creates, expected, "{}: {:?}", case.what, cli.events);
    }
}
