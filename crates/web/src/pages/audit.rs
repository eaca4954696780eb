//! `GET /settings/audit` (admin): the audit trail, newest first, filtered by actor, action,
//! target and time, paged by sequence number, under the chain's verify status: the hash chain
//! is walked when the page is shown and the last walk is older than [`VERIFY_EVERY`] (or
//! with `?verify=1`), and the result is kept with its time.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::html;
use serde::Deserialize;
use steward_app::Role;
use steward_store::audit::{AuditEvent, AuditFilter};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::pages::layout;

/// Events per page.
const PAGE: i64 = 100;

/// How long the page shows a verification before walking the chain again (a chain of a
/// million events takes seconds to walk).
pub const VERIFY_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The filters, as query parameters (`/settings/audit` and `GET /api/v1/audit`).
#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    /// An actor's id or name.
    #[serde(default)]
    pub actor: Option<String>,
    /// An action (`connection.create`), or a prefix ending in `.` or `*` (`account.`).
    #[serde(default)]
    pub action: Option<String>,
    /// A target as `kind:id`, or an id.
    #[serde(default)]
    pub target: Option<String>,
    /// Events at or after (RFC 3339 or a date).
    #[serde(default)]
    pub since: Option<String>,
    /// Events before (RFC 3339 or a date).
    #[serde(default)]
    pub until: Option<String>,
    /// Only events with a sequence number below this (the next page).
    #[serde(default)]
    pub before: Option<i64>,
    /// Page size (1–1000).
    #[serde(default)]
    pub limit: Option<i64>,
    /// `1`: also verify the chain.
    #[serde(default)]
    pub verify: Option<String>,
}

fn time(field: &str, text: &str) -> Result<DateTime<Utc>, AppError> {
    let t = text.trim();
    if let Ok(v) = DateTime::parse_from_rfc3339(t) {
        return Ok(v.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "{field}: use a date (2026-12-01) or an RFC 3339 time (2026-12-01T09:00:00Z)"
            ))
        })
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuditParams {
    /// The store filter these parameters ask for.
    pub fn filter(&self) -> Result<AuditFilter, AppError> {
        let limit = self.limit.unwrap_or(PAGE);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::BadRequest(
                "limit must be between 1 and 1000".into(),
            ));
        }
        Ok(AuditFilter {
            workspace: None,
            actor: nonempty(&self.actor),
            actor_kind: None,
            action: nonempty(&self.action),
            target: nonempty(&self.target),
            since: nonempty(&self.since)
                .map(|s| time("since", &s))
                .transpose()?,
            until: nonempty(&self.until)
                .map(|s| time("until", &s))
                .transpose()?,
            before_seq: self.before,
            limit,
        })
    }
}

fn next_link(p: &AuditParams, events: &[AuditEvent], limit: i64) -> Option<String> {
    let last = events.last()?;
    if i64::try_from(events.len()).unwrap_or(0) < limit {
        return None;
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("actor", &p.actor),
        ("action", &p.action),
        ("target", &p.target),
        ("since", &p.since),
        ("until", &p.until),
    ] {
        if let Some(v) = nonempty(v) {
            q.append_pair(k, &v);
        }
    }
    q.append_pair("before", &last.seq.to_string());
    Some(format!("/settings/audit?{}", q.finish()))
}

/// `GET /settings/audit`.
pub async fn page(
    State(state): State<crate::state::AppState>,
    user: CurrentUser,
    Query(p): Query<AuditParams>,
) -> Result<Response, AppError> {
    user.require(Role::Admin)?;
    let filter = p.filter()?;
    let events = state.app.list_audit(&filter).await?;
    let now = state.app.now();
    let cached = state.audit_verified.lock().clone();
    let (verified_at, verification) = match cached {
        Some((at, v)) if p.verify.as_deref() != Some("1") && now - at < VERIFY_EVERY => (at, v),
        _ => {
            let v = state.app.verify_audit().await?;
            *state.audit_verified.lock() = Some((now, v.clone()));
            (now, v)
        }
    };
    let next = next_link(&p, &events, filter.limit);
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        h1 { "Audit trail" }
        section.card #chain {
            @if verification.ok {
                p.notice.ok role="status" {
                    "The chain is intact: " (verification.events) " events in "
                    (verification.workspaces) " workspace(s), every link checked." }
            } @else {
                p.notice.bad role="alert" {
                    @if let Some(b) = &verification.first_broken {
                        "The chain is broken at event " strong { (b.seq) } " (workspace "
                        (b.workspace) "): " (b.reason) ". Events after it can't be trusted: "
                        "restore a backup from before it and find out who had write access "
                        "to the database."
                    } @else { "The chain is broken." }
                }
            }
            p.muted {
                "Verified " (verified_at.format("%Y-%m-%d %H:%M:%S UTC")) ". Every change is "
                "recorded once, in the change's own transaction, and chained to the previous "
                "event by an HMAC. " a href="/settings/audit?verify=1" { "Verify now" }
            }
        }
        section.card {
            form.filters method="get" action="/settings/audit" {
                label { "Actor" input type="text" name="actor" value=(v(&p.actor)) placeholder="admin"; }
                label { "Action" input type="text" name="action" value=(v(&p.action)) placeholder="connection."; }
                label { "Target" input type="text" name="target" value=(v(&p.target)) placeholder="connection:okta"; }
                label { "Since" input type="text" name="since" value=(v(&p.since)) placeholder="2026-12-01"; }
                label { "Until" input type="text" name="until" value=(v(&p.until)) placeholder="2026-12-31"; }
                button type="submit" { "Filter" }
            }
            @if events.is_empty() {
                p.muted #no-events { "No events match." }
            } @else {
                table #audit {
                    thead { tr { th { "#" } th { "Time" } th { "Actor" } th { "Action" } th { "Target" } th { "Details" } th { "Request" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (e.seq) }
                                td { (e.at.format("%Y-%m-%d %H:%M:%S UTC")) }
                                td { (e.actor.name) " " span.muted { "(" (e.actor.kind.as_str()) ")" } }
                                td { code { (e.action) } }
                                td { (e.target.kind) ":" (e.target.id) }
                                td { code { (e.details) } }
                                td.muted { (e.request_id.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            @if let Some(href) = next { p { a href=(href) { "Older events →" } } }
        }
    };
    Ok(layout::page("Audit trail", Some(&user), body).into_response())
}
