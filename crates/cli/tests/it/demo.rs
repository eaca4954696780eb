//! `steward demo` as a child process: it prints the URL and the admin login, and the login
//! works over HTTP.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cookie_header(jar: &BTreeMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn keep_cookies(jar: &mut BTreeMap<String, String>, r: &reqwest::Response) {
    for v in r.headers().get_all("set-cookie") {
        let v = v.to_str().expect("ascii");
        let pair = v.split(';').next().unwrap_or("");
        if let Some((k, val)) = pair.split_once('=') {
            jar.insert(k.to_owned(), val.to_owned());
        }
    }
}

fn csrf_in(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let end = page[start..].find('"').expect("end");
    page[start..start + end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_a_working_login() {
    let dir = super::temp_dir();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--users",
                "200",
                "--groups",
                "10",
                "--apps",
                "4",
                "--log-days",
                "2",
            ])
            .env("STEWARD_DATA_DIR", &dir)
            .env_remove("STEWARD_DATABASE_URL")
            .env_remove("STEWARD_MASTER_KEY")
            .env_remove("STEWARD_MASTER_KEY_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn steward demo"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut url, mut user, mut password) = (None, None, None);
    while password.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .expect("steward demo prints its URL and login");
        if let Some(u) = line.strip_prefix("Steward is running at ") {
            url = Some(u.trim_end_matches('/').to_owned());
        } else if let Some(u) = line.trim().strip_prefix("username: ") {
            user = Some(u.to_owned());
        } else if let Some(p) = line.trim().strip_prefix("password: ") {
            password = Some(p.to_owned());
        }
    }
    let (url, user, password) = (
        url.expect("URL"),
        user.expect("username"),
        password.expect("password"),
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut jar = BTreeMap::new();
    let r = http
        .get(format!("{url}/login"))
        .send()
        .await
        .expect("login page");
    keep_cookies(&mut jar, &r);
    let csrf = csrf_in(&r.text().await.expect("body"));
    let form = [
        ("csrf", csrf.as_str()),
        ("username", user.as_str()),
        ("password", password.as_str()),
        ("next", "/"),
    ];
    let r = http
        .post(format!("{url}/login"))
        .header("cookie", cookie_header(&jar))
        .form(&form)
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "signed in");
    keep_cookies(&mut jar, &r);
    let r = http
        .get(format!("{url}/"))
        .header("cookie", cookie_header(&jar))
        .send()
        .await
        .expect("dashboard");
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("body");
    assert!(page.contains("Inventory of okta-sim"), "{page}");
    assert!(
        page.contains("succeeded"),
        "the first sync is on the dashboard: {page}"
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
