//! `steward-web`: Steward's web app. Server-rendered HTML (maud, compiled in), one small
//! embedded stylesheet, and a JSON API under `/api/v1` described at `/api/openapi.json`.
//!
//! # Layout
//! A thin adapter over [`steward_app::App`]: handlers authenticate the caller, parse the
//! form or body, call one use case and render its result. No use-case logic lives here.
//!
//! - [`auth`]: the middleware that resolves the caller and enforces CSRF; login/logout;
//!   login throttling.
//! - [`error`]: [`AppError`], rendered as an HTML page, a login redirect, or JSON.
//! - [`pages`]: the server-rendered pages ([`pages::okta`] is the setup wizard,
//!   [`pages::inventory`] the dashboard, users, groups, apps and sync runs).
//! - [`api`]: the JSON API and its OpenAPI document.
//! - [`secret`]: re-exported from steward-app (secret newtypes, tokens, hashes).
//!
//! Every response carries an `x-request-id`; logs are structured (tracing) with the request
//! id in the span. Private keys, passwords, session ids and tokens never reach a page, a
//! JSON body (except a token's single display at creation) or a log line.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod pages;
pub mod state;

pub use steward_app::secret;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::WebConfig;
pub use error::AppError;
pub use state::AppState;
pub use steward_app::{App, Clock, Role};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every page route as (method, path), as routed by [`app`]: the audit test checks that
/// each state-changing one is in its table, and a unit test here that each is routed. Add
/// a route here and in [`app`] together.
pub const PAGE_ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/users"),
    ("get", "/users/{id}"),
    ("get", "/groups"),
    ("get", "/groups/{id}"),
    ("get", "/apps"),
    ("get", "/apps/{id}"),
    ("get", "/sync"),
    ("post", "/sync"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    ("get", "/settings/okta"),
    ("post", "/settings/okta"),
    ("get", "/settings/okta/{name}"),
    ("post", "/settings/okta/{name}/test"),
    ("post", "/settings/okta/{name}/rotate"),
    ("post", "/settings/okta/{name}/disconnect"),
    ("get", "/settings/accounts"),
    ("post", "/settings/accounts"),
    ("post", "/settings/accounts/{id}/role"),
    ("post", "/settings/accounts/{id}/disable"),
    ("post", "/settings/accounts/{id}/enable"),
    ("post", "/settings/accounts/{id}/reset-password"),
    ("get", "/account/password"),
    ("post", "/account/password"),
    ("get", "/settings/tokens"),
    ("post", "/settings/tokens"),
    ("post", "/settings/tokens/{id}/revoke"),
    ("get", "/settings/audit"),
    ("get", "/static/style.css"),
    ("get", "/healthz"),
];

/// The whole app: pages, API, static files, with auth, CSRF, error rendering, request ids,
/// tracing and security headers.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::inventory::dashboard))
        .route("/users", get(pages::inventory::users::list))
        .route("/users/{id}", get(pages::inventory::users::detail))
        .route("/groups", get(pages::inventory::browse::groups))
        .route("/groups/{id}", get(pages::inventory::browse::group))
        .route("/apps", get(pages::inventory::browse::apps))
        .route("/apps/{id}", get(pages::inventory::browse::app))
        .route(
            "/sync",
            get(pages::inventory::sync::page).post(pages::inventory::sync::sync_now),
        )
        .route(
            "/login",
            get(auth::session::login_form).post(auth::session::login),
        )
        .route("/logout", post(auth::session::logout))
        .route(
            "/settings/okta",
            get(pages::okta::show).post(pages::okta::submit),
        )
        .route("/settings/okta/{name}", get(pages::okta::connection))
        .route("/settings/okta/{name}/test", post(pages::okta::test))
        .route("/settings/okta/{name}/rotate", post(pages::okta::rotate))
        .route(
            "/settings/okta/{name}/disconnect",
            post(pages::okta::disconnect),
        )
        .route(
            "/settings/accounts",
            get(pages::accounts::list).post(pages::accounts::create),
        )
        .route(
            "/settings/accounts/{id}/role",
            post(pages::accounts::set_role),
        )
        .route(
            "/settings/accounts/{id}/disable",
            post(pages::accounts::disable),
        )
        .route(
            "/settings/accounts/{id}/enable",
            post(pages::accounts::enable),
        )
        .route(
            "/settings/accounts/{id}/reset-password",
            post(pages::accounts::reset_password),
        )
        .route(
            "/account/password",
            get(pages::accounts::password_form).post(pages::accounts::change_password),
        )
        .route(
            "/settings/tokens",
            get(pages::tokens::list).post(pages::tokens::create),
        )
        .route("/settings/tokens/{id}/revoke", post(pages::tokens::revoke))
        .route("/settings/audit", get(pages::audit::page))
        .route("/static/style.css", get(pages::style))
        .route("/healthz", get(pages::healthz));
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let rid = error::request_id(req.headers());
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    let csp = "default-src 'self'; style-src 'self'; script-src 'none'; img-src 'self'; \
               frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    Router::new()
        .merge(pages)
        .merge(api::routes())
        .fallback(|| async { AppError::NotFound })
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(trace)
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
                .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
                .layer(header_layer(header::CONTENT_SECURITY_POLICY, csp))
                .layer(header_layer(header::CACHE_CONTROL, "no-store"))
                .layer(from_fn(error::render_errors))
                .layer(from_fn_with_state(state.clone(), auth::authenticate)),
        )
        .with_state(state)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Serves the app on `listener` until `shutdown` completes.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "steward web listening");
    }
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, StatusCode};
    use tower::ServiceExt;

    async fn status(router: &Router, method: &str, path: &str) -> StatusCode {
        let method: Method = method.to_uppercase().parse().expect("method");
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .expect("request");
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))));
        router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible")
            .status()
    }

    /// Each [`PAGE_ROUTES`] entry is routed: signed out, the handler answers (a login
    /// redirect, 401, 403, 200), never the 404 fallback or a 405.
    #[tokio::test]
    async fn every_listed_page_route_is_routed() {
        let state = AppState::in_memory(WebConfig::dev(), Clock::system())
            .await
            .expect("state");
        let router = app(state);
        // The control: what an unrouted path and a wrong method look like.
        assert_eq!(
            status(&router, "get", "/no-such-page").await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(&router, "delete", "/healthz").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        for (method, path) in PAGE_ROUTES {
            let concrete = path.replace("{id}", "1").replace("{name}", "okta");
            let got = status(&router, method, &concrete).await;
            assert!(
                got != StatusCode::NOT_FOUND && got != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is not routed: {got}"
            );
        }
    }
}
