//! Connect, "Sync now" from the dashboard, wait for the sync to finish, then search the
//! users page for a user of the simulated org.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use super::browser::{Browser, WAIT};
use super::wizard::connect;
use super::{Env, Storage, serial, skipped};

/// A user of the simulated org (ground truth from `/__sim/snapshot`).
async fn some_login(env: &Env) -> String {
    let snapshot: Value = reqwest::get(format!("{}/__sim/snapshot", env.sim.base_url))
        .await
        .expect("snapshot")
        .json()
        .await
        .expect("snapshot JSON");
    let users = snapshot["users"].as_array().expect("users");
    assert!(users.len() > 10, "the sim has users");
    users[users.len() / 2]["login"]
        .as_str()
        .expect("login")
        .to_owned()
}

/// Reloads `/sync` until no sync is queued or running (the page also refreshes itself).
async fn wait_for_sync(b: &mut Browser, env: &Env) -> String {
    let deadline = Instant::now() + WAIT * 3;
    loop {
        b.goto(&env.url("/sync?connection=okta")).await;
        b.wait_css("main h1").await;
        let state = match b.client.find(Locator::Css("#live .state")).await {
            Ok(el) => el.text().await.expect("state"),
            Err(_) => String::new(),
        };
        if state != "running" && state != "queued" {
            return state;
        }
        assert!(Instant::now() < deadline, "the sync still runs");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn sync_now_then_search_finds_a_user() {
    if skipped() {
        return;
    }
    let _one = serial().await;
    let env = Env::start(Storage::Sqlite).await;
    let login = some_login(&env).await;
    let mut b = Browser::start("sync-search").await;
    connect(&mut b, &env).await;

    // The dashboard's "Sync now".
    b.click("header a.brand").await;
    b.wait_css("form[action='/sync'] button[type=submit]").await;
    b.snap("dashboard-before-sync").await;
    b.click("form[action='/sync'] button[type=submit]").await;
    b.wait_url(|u| u.path() == "/sync").await;
    b.wait_css("main h1").await;
    b.snap("sync-started").await;
    let state = wait_for_sync(&mut b, &env).await;
    b.snap("sync-finished").await;
    assert_eq!(state, "succeeded", "the sync's live status");
    let last_run = b.text("main table tbody tr").await;
    assert!(last_run.contains("succeeded"), "history: {last_run}");

    // The users page: search by login.
    b.goto(&env.url("/users")).await;
    b.fill("form.filters #search", &login).await;
    b.click("form.filters button[type=submit]").await;
    let url = b
        .wait_url(|u| {
            u.path() == "/users" && u.query_pairs().any(|(k, v)| k == "search" && v == login)
        })
        .await;
    b.wait_css("form.filters").await;
    assert!(url.as_str().contains("search="), "{url}");
    let rows = b
        .client
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .expect("rows");
    let mut logins = Vec::new();
    for r in &rows {
        logins.push(
            r.find(Locator::Css("td a"))
                .await
                .expect("login link")
                .text()
                .await
                .expect("text"),
        );
    }
    b.snap("users-search").await;
    assert!(logins.contains(&login), "{login} not in {logins:?}");

    // The user's page.
    b.client
        .find(Locator::LinkText(&login))
        .await
        .expect("the user's link")
        .click()
        .await
        .expect("click");
    b.wait_css("main h1").await;
    b.snap("user-detail").await;
    assert!(b.text("main").await.contains(&login));

    b.close().await;
    env.stop().await;
}
