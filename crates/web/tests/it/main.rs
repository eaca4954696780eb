//! HTTP tests of the web app: the router is called in-process (`tower::ServiceExt::oneshot`)
//! through a small client that keeps cookies and records every response, so tests can grep
//! all that a browser would have seen.

mod accounts;
mod api;
mod audit_page;
mod audited;
mod auth;
mod inventory;
mod pg;
mod roles;
mod search;
mod serve;
mod tokens;
mod wizard;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use steward_app::{Actor, Role};
use steward_web::secret::Secret;
use steward_web::{AppState, Clock, WebConfig, app};
use tower::ServiceExt;

/// The password of every test account.
pub const PASSWORD: &str = "correct-horse-battery";

/// An app with three accounts: `admin`, `approver`, `viewer`.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(WebConfig::dev()).await
    }

    pub async fn with_config(config: WebConfig) -> Self {
        let state = AppState::in_memory(config, Clock::system())
            .await
            .expect("state");
        Self::with_state(state).await
    }

    pub async fn with_state(state: AppState) -> Self {
        for (name, role) in [
            ("admin", Role::Admin),
            ("approver", Role::Approver),
            ("viewer", Role::Viewer),
        ] {
            state
                .app
                .create_account(&Actor::system("test"), name, &Secret::new(PASSWORD), role)
                .await
                .expect("account");
        }
        TestApp {
            router: app(state.clone()),
            state,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            ip: SocketAddr::from(([127, 0, 0, 1], 40000)),
            bearer: None,
            transcript: Vec::new(),
        }
    }

    /// A signed-in client.
    pub async fn login(&self, user: &str) -> Client {
        let mut c = self.client();
        let r = c.login(user, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        c
    }

    /// An API client with a token of `role` created by `admin`.
    pub async fn token_client(&self, role: Role) -> Client {
        let admin = self
            .state
            .app
            .find_account_by_username("admin")
            .await
            .expect("find")
            .expect("admin");
        let (_, secret) = self
            .state
            .app
            .create_token(&Actor::system("test"), &admin, "test", role)
            .await
            .expect("token");
        let mut c = self.client();
        c.bearer = Some(secret.expose().to_owned());
        c
    }
}

/// One audit event as the tests check it: `actor` is `kind:name` (`account:admin`),
/// `target` the target's id (an account's or connection's is its numeric id; names are in
/// `details`).
#[derive(Debug)]
pub struct Audited {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: Value,
}

/// The newest audit events, newest first.
pub async fn audit(state: &AppState) -> Vec<Audited> {
    let filter = steward_store::audit::AuditFilter {
        limit: 1000,
        ..Default::default()
    };
    state
        .app
        .list_audit(&filter)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| Audited {
            actor: format!("{}:{}", e.actor.kind.as_str(), e.actor.name),
            action: e.action,
            target: e.target.id,
            details: e.details,
        })
        .collect()
}

/// One response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token in the page's first form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("page has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').expect("end");
        self.body[start..start + end].to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// A browser-like client: cookies, client IP, optional bearer token, and a transcript of
/// every response (headers and body).
pub struct Client {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    pub ip: SocketAddr,
    pub bearer: Option<String>,
    pub transcript: Vec<String>,
}

impl Client {
    pub async fn send(&mut self, mut req: Request<Body>) -> Resp {
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers_mut()
                .insert(header::COOKIE, c.join("; ").parse().expect("cookie"));
        }
        if let Some(t) = &self.bearer {
            req.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {t}").parse().expect("auth"),
            );
        }
        req.extensions_mut().insert(ConnectInfo(self.ip));
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ascii");
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').expect("cookie pair");
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let body = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let body = String::from_utf8_lossy(&body).into_owned();
        self.transcript.push(format!("{headers:?}\n{body}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).expect("req"))
            .await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("req");
        self.send(req).await
    }

    pub async fn api(&mut self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(|v| Body::from(v.to_string())).unwrap_or_default();
        self.send(b.body(body).expect("req")).await
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        let csrf = page.csrf();
        self.post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", user),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// The CSRF token of this session, read from a page.
    pub async fn csrf(&mut self) -> String {
        self.get("/").await.csrf()
    }
}
