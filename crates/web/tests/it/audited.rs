//! Every state-changing route writes exactly one audit event when the change is made, and
//! none when it is refused or fails. One explicit table, run in order against one app and
//! one okta-sim, on SQLite and (when `STEWARD_TEST_POSTGRES_URL` is set) PostgreSQL; the
//! table is checked to cover every non-GET route of [`steward_web::PAGE_ROUTES`] and
//! [`steward_web::api::ROUTES`], each with a success and a refusal.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use okta_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use steward_app::{Actor, Role};
use steward_jose::{Alg, PrivateKey};
use steward_store::audit::AuditFilter;
use steward_store::{MasterKey, Store};
use steward_web::{AppState, WebConfig};

use super::pg::PgSchema;
use super::{Client, PASSWORD, TestApp};

/// What a case sends.
enum Send {
    /// A form; `csrf` adds the session's (or the sign-in page's) CSRF field.
    Form(Vec<(&'static str, String)>),
    /// JSON (`None`: no body); with a session, `csrf` sends `X-CSRF-Token`.
    Json(Option<Value>),
}

/// One row: who sends what where, the status, and the audit events it must write.
struct Case {
    /// A client of [`Clients`].
    who: &'static str,
    method: &'static str,
    /// The route as listed in `PAGE_ROUTES` / `ROUTES`.
    route: &'static str,
    /// The concrete path; `{alice}`, `{admin}`, `{token:NAME}` are resolved when the case
    /// runs.
    path: &'static str,
    send: Send,
    csrf: bool,
    status: StatusCode,
    /// New audit events: 1 for a change, 0 for a refusal.
    events: usize,
    /// The action of each new event.
    action: &'static str,
    /// The kind of each new event's actor.
    actor: &'static str,
}

const OK: StatusCode = StatusCode::OK;
const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const BAD_REQUEST: StatusCode = StatusCode::BAD_REQUEST;
const CONFLICT: StatusCode = StatusCode::CONFLICT;

#[allow(clippy::too_many_arguments)]
fn case(
    who: &'static str,
    method: &'static str,
    route: &'static str,
    path: &'static str,
    send: Send,
    status: StatusCode,
    events: usize,
    action: &'static str,
    actor: &'static str,
) -> Case {
    Case {
        who,
        method,
        route,
        path,
        send,
        csrf: true,
        status,
        events,
        action,
        actor,
    }
}

fn form(fields: &[(&'static str, &str)]) -> Send {
    Send::Form(fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
}

fn no_csrf(mut c: Case) -> Case {
    c.csrf = false;
    c
}

/// The keys and settings the connection cases send.
struct Okta {
    domain: String,
    client_id: String,
    /// The key registered in okta-sim.
    key: String,
    /// A second key registered in okta-sim (for the rotation).
    rotate_key: String,
    /// A key Okta doesn't know: the doctor fails.
    unknown_key: String,
}

#[rustfmt::skip]
fn table(o: &Okta) -> Vec<Case> {
    let wizard = |name: &str, key: &str| {
        Send::Form(vec![
            ("action", "save".to_owned()),
            ("name", name.to_owned()),
            ("domain", o.domain.clone()),
            ("client_id", o.client_id.clone()),
            ("dpop", "auto".to_owned()),
            ("private_key", key.to_owned()),
        ])
    };
    let api_conn = |name: &str, key: &str| {
        Send::Json(Some(json!({
            "name": name,
            "domain": o.domain,
            "client_id": o.client_id,
            "private_key": key,
        })))
    };
    let token = |name: &str, role: &str| Send::Json(Some(json!({"name": name, "role": role})));
    let none = || Send::Json(None);
    let (acct, tok, sys) = ("account", "api_token", "system");
    let accounts = "/settings/accounts";
    let role = "/settings/accounts/{id}/role";
    let disable = "/settings/accounts/{id}/disable";
    let enable = "/settings/accounts/{id}/enable";
    let reset = "/settings/accounts/{id}/reset-password";
    let tokens = "/settings/tokens";
    let revoke = "/settings/tokens/{id}/revoke";
    let okta = "/settings/okta";
    let test = "/settings/okta/{name}/test";
    let rotate = "/settings/okta/{name}/rotate";
    let disconnect = "/settings/okta/{name}/disconnect";
    let api_conns = "/api/v1/connections";
    let api_test = "/api/v1/connections/{name}/test";
    let api_conn_one = "/api/v1/connections/{name}";
    let api_sync = "/api/v1/connections/{name}/sync";
    let api_tokens = "/api/v1/tokens";
    vec![
        // Sign-in and sign-out.
        case("anon", "post", "/login", "/login", form(&[("username", "viewer"), ("password", PASSWORD), ("next", "/")]), SEE_OTHER, 1, "session.login", acct),
        case("anon2", "post", "/login", "/login", form(&[("username", "viewer"), ("password", "wrong-password-1"), ("next", "/")]), StatusCode::UNAUTHORIZED, 1, "session.login_failed", sys),
        no_csrf(case("anon3", "post", "/login", "/login", form(&[("username", "viewer"), ("password", PASSWORD)]), FORBIDDEN, 0, "", "")),
        no_csrf(case("anon", "post", "/logout", "/logout", form(&[]), FORBIDDEN, 0, "", "")),
        case("anon", "post", "/logout", "/logout", form(&[]), SEE_OTHER, 1, "session.logout", acct),
        // Accounts.
        case("admin", "post", accounts, accounts, form(&[("username", "alice"), ("role", "viewer")]), OK, 1, "account.create", acct),
        case("admin", "post", accounts, accounts, form(&[("username", "bob"), ("role", "wizard")]), OK, 0, "", ""),
        case("admin", "post", accounts, accounts, form(&[("username", "alice"), ("role", "viewer")]), OK, 0, "", ""),
        no_csrf(case("admin", "post", accounts, accounts, form(&[("username", "carol"), ("role", "viewer")]), FORBIDDEN, 0, "", "")),
        case("viewer", "post", accounts, accounts, form(&[("username", "carol"), ("role", "viewer")]), FORBIDDEN, 0, "", ""),
        case("admin", "post", role, "/settings/accounts/{alice}/role", form(&[("role", "approver")]), OK, 1, "account.role", acct),
        case("admin", "post", role, "/settings/accounts/{alice}/role", form(&[("role", "approver")]), OK, 0, "", ""),
        case("admin", "post", role, "/settings/accounts/{alice}/role", form(&[("role", "wizard")]), OK, 0, "", ""),
        case("admin", "post", role, "/settings/accounts/{admin}/role", form(&[("role", "viewer")]), OK, 0, "", ""),
        case("viewer", "post", role, "/settings/accounts/{alice}/role", form(&[("role", "admin")]), FORBIDDEN, 0, "", ""),
        case("admin", "post", disable, "/settings/accounts/{admin}/disable", form(&[]), OK, 0, "", ""),
        case("admin", "post", disable, "/settings/accounts/{alice}/disable", form(&[]), OK, 1, "account.disable", acct),
        case("viewer", "post", enable, "/settings/accounts/{alice}/enable", form(&[]), FORBIDDEN, 0, "", ""),
        case("admin", "post", enable, "/settings/accounts/999999/enable", form(&[]), NOT_FOUND, 0, "", ""),
        case("admin", "post", enable, "/settings/accounts/{alice}/enable", form(&[]), OK, 1, "account.enable", acct),
        case("viewer", "post", disable, "/settings/accounts/{alice}/disable", form(&[]), FORBIDDEN, 0, "", ""),
        case("admin", "post", reset, "/settings/accounts/{alice}/reset-password", form(&[]), OK, 1, "account.reset_password", acct),
        case("admin", "post", reset, "/settings/accounts/999999/reset-password", form(&[]), NOT_FOUND, 0, "", ""),
        case("viewer", "post", reset, "/settings/accounts/{alice}/reset-password", form(&[]), FORBIDDEN, 0, "", ""),
        // One's own password.
        case("approver", "post", "/account/password", "/account/password", form(&[("current", "not-the-password"), ("new", "a-new-password-42"), ("confirm", "a-new-password-42")]), OK, 0, "", ""),
        case("approver", "post", "/account/password", "/account/password", form(&[("current", PASSWORD), ("new", "a-new-password-42"), ("confirm", "another-password-42")]), OK, 0, "", ""),
        case("approver", "post", "/account/password", "/account/password", form(&[("current", PASSWORD), ("new", "a-new-password-42"), ("confirm", "a-new-password-42")]), SEE_OTHER, 1, "account.change_password", acct),
        // API tokens.
        case("admin", "post", tokens, tokens, form(&[("name", "ci"), ("role", "viewer")]), OK, 1, "token.create", acct),
        case("admin", "post", tokens, tokens, form(&[("name", "ci2"), ("role", "wizard")]), OK, 0, "", ""),
        case("viewer", "post", tokens, tokens, form(&[("name", "ci2"), ("role", "viewer")]), FORBIDDEN, 0, "", ""),
        case("api", "post", api_tokens, api_tokens, token("deploy", "viewer"), StatusCode::CREATED, 1, "token.create", tok),
        case("api", "post", api_tokens, api_tokens, token("deploy2", "wizard"), BAD_REQUEST, 0, "", ""),
        case("api-viewer", "post", api_tokens, api_tokens, token("deploy2", "viewer"), FORBIDDEN, 0, "", ""),
        no_csrf(case("admin", "post", api_tokens, api_tokens, token("deploy2", "viewer"), FORBIDDEN, 0, "", "")),
        case("admin", "post", api_tokens, api_tokens, token("deploy3", "viewer"), StatusCode::CREATED, 1, "token.create", acct),
        case("viewer", "post", revoke, "/settings/tokens/{token:ci}/revoke", form(&[]), FORBIDDEN, 0, "", ""),
        case("admin", "post", revoke, "/settings/tokens/{token:ci}/revoke", form(&[]), SEE_OTHER, 1, "token.revoke", acct),
        case("admin", "post", revoke, "/settings/tokens/999999/revoke", form(&[]), NOT_FOUND, 0, "", ""),
        // Connections: the wizard and the API.
        case("viewer", "post", okta, okta, wizard("okta", &o.key), FORBIDDEN, 0, "", ""),
        case("admin", "post", okta, okta, wizard("bad name!", &o.key), OK, 0, "", ""),
        case("admin", "post", okta, okta, wizard("unknown", &o.unknown_key), OK, 0, "", ""),
        no_csrf(case("admin", "post", okta, okta, wizard("okta", &o.key), FORBIDDEN, 0, "", "")),
        case("admin", "post", okta, okta, wizard("okta", &o.key), OK, 1, "connection.create", acct),
        case("admin", "post", okta, okta, wizard("okta", &o.key), OK, 0, "", ""),
        case("api-viewer", "post", api_conns, api_conns, api_conn("okta-api", &o.key), FORBIDDEN, 0, "", ""),
        case("api", "post", api_conns, api_conns, api_conn("bad name!", &o.key), BAD_REQUEST, 0, "", ""),
        case("api", "post", api_conns, api_conns, api_conn("unknown", &o.unknown_key), StatusCode::UNPROCESSABLE_ENTITY, 0, "", ""),
        case("api", "post", api_conns, api_conns, api_conn("okta", &o.key), CONFLICT, 0, "", ""),
        case("api", "post", api_conns, api_conns, api_conn("okta-api", &o.key), StatusCode::CREATED, 1, "connection.create", tok),
        // Connection tests (the result is recorded as the connection's status).
        case("viewer", "post", test, "/settings/okta/okta/test", form(&[]), FORBIDDEN, 0, "", ""),
        case("admin", "post", test, "/settings/okta/nope/test", form(&[]), NOT_FOUND, 0, "", ""),
        case("admin", "post", test, "/settings/okta/okta/test", form(&[]), OK, 1, "connection.test", acct),
        case("api-viewer", "post", api_test, "/api/v1/connections/okta-api/test", none(), FORBIDDEN, 0, "", ""),
        case("api", "post", api_test, "/api/v1/connections/nope/test", none(), NOT_FOUND, 0, "", ""),
        case("api", "post", api_test, "/api/v1/connections/okta-api/test", none(), OK, 1, "connection.test", tok),
        // Key rotation: only a verified switch changes anything.
        case("viewer", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "generate")]), FORBIDDEN, 0, "", ""),
        case("admin", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "verify")]), BAD_REQUEST, 0, "", ""),
        case("admin", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "generate")]), OK, 0, "", ""),
        case("admin", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "verify")]), OK, 0, "", ""),
        case("admin", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "paste"), ("private_key", &o.rotate_key)]), OK, 0, "", ""),
        case("admin", "post", rotate, "/settings/okta/okta/rotate", form(&[("action", "verify")]), OK, 1, "connection.rotate_key", acct),
        // Sync now: queued once; a second request while it is queued is deduplicated.
        case("viewer", "post", "/sync", "/sync", form(&[("connection", "okta")]), FORBIDDEN, 0, "", ""),
        case("admin", "post", "/sync", "/sync", form(&[("connection", "nope")]), NOT_FOUND, 0, "", ""),
        case("admin", "post", "/sync", "/sync", form(&[("connection", "okta"), ("kind", "sideways")]), BAD_REQUEST, 0, "", ""),
        case("admin", "post", "/sync", "/sync", form(&[("connection", "okta")]), SEE_OTHER, 1, "sync.request", acct),
        case("admin", "post", "/sync", "/sync", form(&[("connection", "okta")]), SEE_OTHER, 0, "", ""),
        case("api-viewer", "post", api_sync, "/api/v1/connections/okta-api/sync", none(), FORBIDDEN, 0, "", ""),
        case("api", "post", api_sync, "/api/v1/connections/nope/sync", none(), NOT_FOUND, 0, "", ""),
        case("api", "post", api_sync, "/api/v1/connections/okta-api/sync", none(), StatusCode::ACCEPTED, 1, "sync.request", tok),
        case("api", "post", api_sync, "/api/v1/connections/okta-api/sync", none(), CONFLICT, 0, "", ""),
        case("api", "post", api_sync, "/api/v1/connections/okta/sync", none(), CONFLICT, 0, "", ""),
        // Disconnect.
        case("viewer", "post", disconnect, "/settings/okta/okta/disconnect", form(&[]), FORBIDDEN, 0, "", ""),
        no_csrf(case("admin", "post", disconnect, "/settings/okta/okta/disconnect", form(&[]), FORBIDDEN, 0, "", "")),
        case("admin", "post", disconnect, "/settings/okta/okta/disconnect", form(&[]), SEE_OTHER, 1, "connection.delete", acct),
        case("admin", "post", disconnect, "/settings/okta/okta/disconnect", form(&[]), NOT_FOUND, 0, "", ""),
        case("api-viewer", "delete", api_conn_one, "/api/v1/connections/okta-api", none(), FORBIDDEN, 0, "", ""),
        case("api", "delete", api_conn_one, "/api/v1/connections/okta-api", none(), StatusCode::NO_CONTENT, 1, "connection.delete", tok),
        case("api", "delete", api_conn_one, "/api/v1/connections/okta-api", none(), NOT_FOUND, 0, "", ""),
    ]
}

/// The table covers every state-changing route, each with a change and a refusal, and
/// names no route the router doesn't have.
#[test]
fn the_table_covers_every_state_changing_route() {
    let o = Okta {
        domain: String::new(),
        client_id: String::new(),
        key: String::new(),
        rotate_key: String::new(),
        unknown_key: String::new(),
    };
    let cases = table(&o);
    let routed: BTreeSet<(&str, &str)> = steward_web::PAGE_ROUTES
        .iter()
        .chain(steward_web::api::ROUTES)
        .copied()
        .collect();
    let changing: BTreeSet<(&str, &str)> = routed
        .iter()
        .filter(|(m, _)| *m != "get")
        .copied()
        .collect();
    assert!(
        changing.contains(&("post", "/login"))
            && changing.contains(&("delete", "/api/v1/connections/{name}"))
    );
    let mut seen: BTreeMap<(&str, &str), (bool, bool)> = BTreeMap::new();
    for c in &cases {
        assert!(
            routed.contains(&(c.method, c.route)),
            "{} {} is not a route",
            c.method,
            c.route
        );
        let e = seen.entry((c.method, c.route)).or_default();
        if c.events == 1 {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    for route in &changing {
        let (changed, refused) = seen.get(route).copied().unwrap_or_default();
        assert!(changed, "{route:?}: no case where it makes a change");
        assert!(refused, "{route:?}: no case where it is refused");
    }
}

/// The signed-in and token clients the cases name.
struct Clients(BTreeMap<&'static str, Client>);

async fn clients(t: &TestApp) -> Clients {
    let mut m = BTreeMap::new();
    for who in ["admin", "approver", "viewer"] {
        m.insert(who, t.login(who).await);
    }
    for who in ["anon", "anon2", "anon3"] {
        m.insert(who, t.client());
    }
    for (who, role) in [("api", Role::Admin), ("api-viewer", Role::Viewer)] {
        let admin = t
            .state
            .app
            .find_account_by_username("admin")
            .await
            .expect("find")
            .expect("admin");
        let (_, secret) = t
            .state
            .app
            .create_token(&Actor::system("test"), &admin, who, role)
            .await
            .expect("token");
        let mut c = t.client();
        c.bearer = Some(secret.expose().to_owned());
        m.insert(who, c);
    }
    Clients(m)
}

async fn resolve(t: &TestApp, path: &str) -> String {
    let app = &t.state.app;
    let mut out = path.to_owned();
    for user in ["alice", "admin"] {
        let marker = format!("{{{user}}}");
        if out.contains(&marker) {
            let a = app
                .find_account_by_username(user)
                .await
                .expect("find")
                .expect("account");
            out = out.replace(&marker, &a.id.0.to_string());
        }
    }
    if let Some(start) = out.find("{token:") {
        let end = start + out[start..].find('}').expect("}");
        let name = &out[start + 7..end];
        let id = app
            .list_tokens()
            .await
            .expect("tokens")
            .into_iter()
            .find(|tk| tk.name == name)
            .expect("token")
            .id;
        out = format!("{}{}{}", &out[..start], id.0, &out[end + 1..]);
    }
    out
}

/// The newest seq, and the events after `seq` (newest first) as (action, actor kind).
async fn events_after(state: &AppState, seq: i64) -> (i64, Vec<(String, String)>) {
    let filter = AuditFilter {
        limit: 1000,
        ..Default::default()
    };
    let all = state.app.list_audit(&filter).await.expect("audit");
    let newest = all.first().map(|e| e.seq).unwrap_or(0);
    let new = all
        .into_iter()
        .filter(|e| e.seq > seq)
        .map(|e| (e.action, e.actor.kind.as_str().to_owned()))
        .collect();
    (newest, new)
}

async fn run_case(t: &TestApp, clients: &mut Clients, c: &Case) -> super::Resp {
    let path = resolve(t, c.path).await;
    let client = clients.0.get_mut(c.who).expect("client");
    let signed_in = client.cookies.contains_key("steward_session");
    // Token callers send no CSRF token.
    let csrf = if !c.csrf || client.bearer.is_some() {
        None
    } else if signed_in {
        Some(client.csrf().await)
    } else {
        Some(client.get("/login").await.csrf())
    };
    match &c.send {
        Send::Form(fields) => {
            let mut f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if let Some(csrf) = &csrf {
                f.push(("csrf", csrf));
            }
            assert_eq!(c.method, "post");
            client.post_form(&path, &f).await
        }
        Send::Json(body) => {
            let mut b = Request::builder()
                .method(c.method.to_uppercase().as_str())
                .uri(&path);
            if let Some(csrf) = &csrf {
                b = b.header("x-csrf-token", csrf);
            }
            if body.is_some() {
                b = b.header(header::CONTENT_TYPE, "application/json");
            }
            let body = body
                .as_ref()
                .map(|v| Body::from(v.to_string()))
                .unwrap_or_default();
            client.send(b.body(body).expect("request")).await
        }
    }
}

async fn audited_on(state: AppState) {
    let sim = RunningSim::start(SimConfig::small())
        .await
        .expect("okta-sim starts");
    let creds = &sim.credentials;
    // A second key, registered in Okta, for the rotation.
    let mut rotate = PrivateKey::generate_rsa(2048).expect("key");
    let kid = rotate.thumbprint();
    rotate.set_kid(Some(kid));
    let r = reqwest::Client::new()
        .patch(format!("{}/__sim/apps/{}", sim.base_url, creds.client_id))
        .json(&json!({"add_keys": [rotate.public_jwk().to_json()]}))
        .send()
        .await
        .expect("sim control");
    assert!(r.status().is_success());
    let mut unknown = PrivateKey::generate_ec(Alg::ES256).expect("key");
    let kid = unknown.thumbprint();
    unknown.set_kid(Some(kid));
    let okta = Okta {
        domain: creds.domain.clone(),
        client_id: creds.client_id.clone(),
        key: creds.private_key_jwk.to_string(),
        rotate_key: rotate.to_private_jwk().to_string(),
        unknown_key: unknown.to_private_jwk().to_string(),
    };

    let t = TestApp::with_state(state).await;
    let mut clients = clients(&t).await;
    let (start, _) = events_after(&t.state, 0).await;
    let mut seq = start;
    for (i, c) in table(&okta).iter().enumerate() {
        let what = format!("case {i}: {} {} {} as {}", c.method, c.path, c.route, c.who);
        let r = run_case(&t, &mut clients, c).await;
        assert_eq!(r.status, c.status, "{what}: {}", r.body);
        let (newest, new) = events_after(&t.state, seq).await;
        assert_eq!(new.len(), c.events, "{what}: new events {new:?}");
        for (action, actor) in &new {
            assert_eq!(action, c.action, "{what}");
            assert_eq!(actor, c.actor, "{what}: {action}");
        }
        seq = newest;
    }
    // Every change of the table is in the chain, and the chain is intact.
    let changes: usize = table(&okta).iter().map(|c| c.events).sum();
    assert_eq!(usize::try_from(seq - start).ok(), Some(changes));
    let verified = t.state.app.verify_audit().await.expect("verify");
    assert!(verified.ok, "{verified:?}");
}

#[tokio::test]
async fn every_change_writes_one_event_and_every_refusal_none_on_sqlite() {
    let state = AppState::in_memory(WebConfig::dev(), steward_web::Clock::system())
        .await
        .expect("state");
    audited_on(state).await;
}

#[tokio::test]
async fn every_change_writes_one_event_and_every_refusal_none_on_postgres() {
    let Ok(base) = std::env::var("STEWARD_TEST_POSTGRES_URL") else {
        eprintln!("STEWARD_TEST_POSTGRES_URL not set: skipped");
        return;
    };
    let schema = PgSchema::create(&base).await;
    let store = Store::connect(&schema.url()).await.expect("store");
    let master = MasterKey::generate().expect("master");
    let state = AppState::on_store(WebConfig::dev(), store, master)
        .await
        .expect("state");
    audited_on(state).await;
    schema.drop_now().await;
}
