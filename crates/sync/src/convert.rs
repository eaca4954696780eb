//! Okta JSON (reference 5.3, 6.3) to inventory records.

use chrono::{DateTime, Utc};
use okta_client::models::{App, AppGroup, AppUser, Group, LogEvent, User};
use serde::de::DeserializeOwned;
use serde_json::Value;
use steward_inventory::{
    AppGroupRecord, AppRecord, AppUserRecord, GroupRecord, SsoEvent, UserRecord,
};

use crate::SyncError;

fn parse<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, SyncError> {
    serde_json::from_value(v).map_err(|e| SyncError::InvalidData(format!("{what}: {e}")))
}

fn text(profile: &Value, key: &str) -> Option<String> {
    profile.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A user from `/api/v1/users`.
pub fn user(v: Value) -> Result<UserRecord, SyncError> {
    Ok(user_record(parse("user", v)?))
}

/// A parsed user.
pub fn user_record(u: User) -> UserRecord {
    let p = &u.profile;
    UserRecord {
        login: text(p, "login").unwrap_or_default(),
        email: text(p, "email"),
        first_name: text(p, "firstName"),
        last_name: text(p, "lastName"),
        department: text(p, "department"),
        title: text(p, "title"),
        manager_id: text(p, "managerId"),
        employee_number: text(p, "employeeNumber"),
        created: u.created,
        status_changed: u.status_changed,
        last_login: u.last_login,
        last_updated: u.last_updated,
        id: u.id,
        status: u.status,
        profile: u.profile,
    }
}

/// A group from `/api/v1/groups?expand=stats`.
pub fn group(v: Value) -> Result<GroupRecord, SyncError> {
    let users_count = v
        .pointer("/_embedded/stats/usersCount")
        .and_then(Value::as_i64);
    let g: Group = parse("group", v)?;
    Ok(GroupRecord {
        name: text(&g.profile, "name").unwrap_or_default(),
        description: text(&g.profile, "description"),
        id: g.id,
        group_type: g.group_type,
        created: g.created,
        last_updated: g.last_updated,
        last_membership_updated: g.last_membership_updated,
        users_count,
        profile: g.profile,
    })
}

/// An app from `/api/v1/apps`.
pub fn app(v: Value) -> Result<AppRecord, SyncError> {
    let a: App = parse("app", v)?;
    Ok(AppRecord {
        id: a.id,
        name: a.name,
        label: a.label,
        status: a.status,
        sign_on_mode: a.sign_on_mode,
        created: a.created,
        last_updated: a.last_updated,
    })
}

/// An item of `/apps/{app_id}/users`.
pub fn app_user(app_id: &str, v: Value) -> Result<AppUserRecord, SyncError> {
    Ok(app_user_record(app_id, parse("app user", v)?))
}

/// A parsed item of `/apps/{app_id}/users`.
pub fn app_user_record(app_id: &str, au: AppUser) -> AppUserRecord {
    AppUserRecord {
        app_id: app_id.to_owned(),
        user_name: text(&au.credentials, "userName"),
        user_id: au.id,
        scope: au.scope.unwrap_or_else(|| "USER".into()),
        status: au.status,
        last_updated: au.last_updated,
    }
}

/// An item of `/apps/{app_id}/groups`.
pub fn app_group_record(app_id: &str, ag: AppGroup) -> AppGroupRecord {
    AppGroupRecord {
        app_id: app_id.to_owned(),
        group_id: ag.id,
        priority: ag.priority,
        last_updated: ag.last_updated,
    }
}

/// An item of a list read for its `id` only (`/groups/{id}/users`): the rest of the object
/// is skipped while parsing, never built.
#[derive(serde::Deserialize)]
pub struct IdOnly {
    /// The id.
    pub id: String,
}

/// A System Log event.
pub fn log_event(v: Value) -> Result<LogEvent, SyncError> {
    parse("log event", v)
}

/// The id of the first target of `kind` (`User`, `UserGroup`, `AppInstance`).
pub fn target<'a>(e: &'a LogEvent, kind: &str) -> Option<&'a str> {
    e.target
        .iter()
        .find(|t| t.object_type.as_deref() == Some(kind))
        .and_then(|t| t.id.as_deref())
}

/// A `user.authentication.sso` event reduced to usage: the user is the actor, the app the
/// `AppInstance` target (reference 6.3). `None` when either is missing.
pub fn sso_event(e: &LogEvent) -> Option<SsoEvent> {
    let actor = e.actor.as_ref()?;
    if actor.object_type.as_deref() != Some("User") {
        return None;
    }
    Some(SsoEvent {
        uuid: e.uuid.clone(),
        user_id: actor.id.clone()?,
        app_id: target(e, "AppInstance")?.to_owned(),
        published: e.published,
        success: e.outcome.as_ref().and_then(|o| o.result.as_deref()) == Some("SUCCESS"),
    })
}

/// Okta's timestamp format for filters: RFC 3339 with milliseconds and `Z`.
pub fn okta_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn group_with_stats() {
        let g = group(json!({
            "id": "00g1", "type": "OKTA_GROUP", "lastMembershipUpdated": "2024-01-02T03:04:05.000Z",
            "profile": {"name": "Eng", "description": null},
            "_embedded": {"stats": {"usersCount": 7}}
        }))
        .expect("group");
        assert_eq!((g.name.as_str(), g.users_count), ("Eng", Some(7)));
        assert_eq!(g.description, None);
        assert!(g.last_membership_updated.is_some());
    }

    #[test]
    fn sso_event_reads_actor_and_app_target() {
        let e = log_event(json!({
            "uuid": "u1", "published": "2024-01-02T03:04:05.000Z",
            "eventType": "user.authentication.sso",
            "actor": {"id": "00u1", "type": "User"},
            "target": [{"id": "0ua1", "type": "AppUser"}, {"id": "0oa1", "type": "AppInstance"}],
            "outcome": {"result": "FAILURE"}
        }))
        .expect("event");
        let s = sso_event(&e).expect("sso");
        assert_eq!((s.user_id.as_str(), s.app_id.as_str()), ("00u1", "0oa1"));
        assert!(!s.success);
        let mut e = e;
        e.target
            .retain(|t| t.object_type.as_deref() != Some("AppInstance"));
        assert_eq!(sso_event(&e), None, "no app, no usage");
    }

    #[test]
    fn app_user_scope_and_username() {
        let r = app_user(
            "0oa1",
            json!({"id": "00u1", "scope": "GROUP", "credentials": {"userName": "a@x"}}),
        )
        .expect("app user");
        assert_eq!(r.scope, "GROUP");
        assert_eq!(r.user_name.as_deref(), Some("a@x"));
        assert!(
            user(json!({"status": "ACTIVE"})).is_err(),
            "a user needs an id"
        );
    }
}
