//! `serve` on a real listener: request ids, redirects, graceful shutdown.

use steward_web::{AppState, Clock, WebConfig, serve};

#[tokio::test]
async fn serves_on_a_listener_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::in_memory(WebConfig::dev(), Clock::system())
        .await
        .expect("state");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(state, listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let r = http
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("home");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=%2F");
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}
