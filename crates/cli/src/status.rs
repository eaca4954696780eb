//! `steward status [--json]`: per saved connection of the workspace, the inventory counts
//! (live objects, by kind, users by status) and the last finished sync.
//!
//! `--json` prints:
//!
//! ```json
//! {
//!   "database": "sqlite://…/steward.db?mode=rwc",          // password masked
//!   "workspace": "default",
//!   "connections": [{
//!     "id": 1, "name": "prod", "domain": "acme.okta.com", "client_id": "0oa…",
//!     "status": "ok",                                     // as saved by `connect`
//!     "counts": {
//!       "users": 30, "users_by_status": {"ACTIVE": 25, "SUSPENDED": 1, …},
//!       "groups": 7, "groups_by_type": {"OKTA_GROUP": 5, "APP_GROUP": 1, "BUILT_IN": 1},
//!       "memberships": 120,
//!       "apps": 3, "apps_by_status": {"ACTIVE": 3},
//!       "app_user_assignments": 40, "app_users_by_scope": {"USER": 30, "GROUP": 10},
//!       "app_group_assignments": 5,
//!       "sso_events": 210
//!     },
//!     "last_sync": null | {
//!       "id": 3, "kind": "full" | "incremental" | "reconcile",
//!       "status": "succeeded" | "failed",
//!       "started_at": "2025-03-01T12:00:00Z", "finished_at": "2025-03-01T12:00:04Z",
//!       "duration_ms": 4012, "requests": 45, "rate_limited": 0, "errors": 0,
//!       "rate_limit_wait_ms": 0, "items": {"users": 30, …}, "error": null
//!     }
//!   }]
//! }
//! ```
//!
//! Counts only show the statuses, types and scopes present. Exit status 0 (1 on an error).

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use steward_inventory::{InventoryStore as _, SyncRun};
use steward_store::queries::Counts;
use steward_store::{Connection, Store};

use crate::args::StatusArgs;
use crate::local;

/// Runs `steward status`.
pub async fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let store = local::store().await?;
    let connections = match local::workspace(&store).await? {
        Some(w) => store
            .list_connections(w.id)
            .await
            .context("while reading the saved connections")?,
        None => Vec::new(),
    };
    let mut rows = Vec::with_capacity(connections.len());
    for c in &connections {
        rows.push(connection_status(&store, c).await?);
    }
    store.close().await;
    if args.json {
        let v = json!({
            "database": store.redacted_url(),
            "workspace": local::WORKSPACE,
            "connections": rows,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if rows.is_empty() {
        println!("No saved connection: run `steward connect --name NAME …` first.");
    } else {
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{}", render(row));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn connection_status(store: &Store, c: &Connection) -> anyhow::Result<Value> {
    let counts = store
        .counts(c.id)
        .await
        .with_context(|| format!("while counting the inventory of {:?}", c.name))?;
    let last = store
        .last_run(c.id, None)
        .await
        .with_context(|| format!("while reading the last sync of {:?}", c.name))?;
    Ok(json!({
        "id": c.id,
        "name": c.name,
        "domain": c.domain,
        "client_id": c.client_id,
        "status": c.status,
        "counts": counts_json(&counts),
        "last_sync": last.as_ref().map(run_json),
    }))
}

fn counts_json(c: &Counts) -> Value {
    json!({
        "users": c.users(),
        "users_by_status": c.users_by_status,
        "groups": c.groups(),
        "groups_by_type": c.groups_by_type,
        "memberships": c.memberships,
        "apps": c.apps(),
        "apps_by_status": c.apps_by_status,
        "app_user_assignments": c.app_users(),
        "app_users_by_scope": c.app_users_by_scope,
        "app_group_assignments": c.app_groups,
        "sso_events": c.sso_events,
    })
}

fn run_json(r: &SyncRun) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind.as_str(),
        "status": r.status,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "duration_ms": r.finished_at.map(|f| (f - r.started_at).num_milliseconds()),
        "requests": r.stats.requests,
        "rate_limited": r.stats.rate_limited,
        "errors": r.stats.errors,
        "rate_limit_wait_ms": r.stats.rate_limit_wait_ms,
        "items": r.stats.items,
        "error": r.error,
    })
}

/// One connection as text, from its JSON (so both outputs show the same figures).
fn render(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let breakdown = |v: &Value| match v.as_object() {
        Some(m) if !m.is_empty() => format!(
            "  ({})",
            m.iter()
                .map(|(k, x)| format!("{k} {}", n(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    let c = &v["counts"];
    let mut out = format!(
        "{} ({}, client {}, status {})\n",
        s(&v["name"]),
        s(&v["domain"]),
        s(&v["client_id"]),
        s(&v["status"])
    );
    for (label, total, by) in [
        ("users", "users", Some("users_by_status")),
        ("groups", "groups", Some("groups_by_type")),
        ("memberships", "memberships", None),
        ("apps", "apps", Some("apps_by_status")),
        (
            "app users",
            "app_user_assignments",
            Some("app_users_by_scope"),
        ),
        ("app groups", "app_group_assignments", None),
        ("SSO events", "sso_events", None),
    ] {
        let extra = by.map(|k| breakdown(&c[k])).unwrap_or_default();
        out.push_str(&format!("  {label:<12} {:>9}{extra}\n", n(&c[total])));
    }
    let r = &v["last_sync"];
    if r.is_null() {
        out.push_str("  last sync    never (run `steward sync`)\n");
    } else {
        let secs = r["duration_ms"].as_i64().map_or_else(
            || "-".to_owned(),
            |ms| format!("{:.1} s", ms as f64 / 1000.0),
        );
        out.push_str(&format!(
            "  last sync    {} {}, started {}, took {secs}, {} requests, {} rate-limited (429)\n",
            s(&r["kind"]),
            s(&r["status"]),
            s(&r["started_at"]),
            n(&r["requests"]),
            n(&r["rate_limited"]),
        ));
        if let Some(e) = r["error"].as_str() {
            out.push_str(&format!("  last error   {e}\n"));
        }
    }
    out
}
