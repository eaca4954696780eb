//! Okta's JSON shapes for each object (reference 5.3 and 6.3), built on demand from the
//! compact model. `base` is the org's base URL, used in `_links`.

use crate::clock::okta_time;
use crate::model::*;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::borrow::Cow;

mod app;
pub use app::app;

fn t(v: DateTime<Utc>) -> Value {
    Value::String(okta_time(v))
}
fn ot(v: Option<DateTime<Utc>>) -> Value {
    v.map_or(Value::Null, t)
}

/// A user as `/api/v1/users` returns it.
pub fn user(org: &Org, u: &User, base: &str) -> Value {
    let p = &u.profile;
    let mut profile = json!({
        "firstName": p.first_name,
        "lastName": p.last_name,
        "mobilePhone": null,
        "secondEmail": null,
        "login": p.login,
        "email": p.email,
    });
    if let Some(map) = profile.as_object_mut() {
        for (k, v) in [
            ("department", &p.department),
            ("title", &p.title),
            ("managerId", &p.manager_id),
            ("manager", &p.manager),
            ("employeeNumber", &p.employee_number),
        ] {
            if let Some(v) = v {
                map.insert(k.into(), Value::String(v.clone()));
            }
        }
        for (k, v) in &p.extra {
            map.insert(k.clone(), v.clone());
        }
    }
    let self_href = format!("{base}/api/v1/users/{}", u.id);
    json!({
        "id": u.id,
        "status": u.status.as_str(),
        "created": t(u.created),
        "activated": ot(u.activated),
        "statusChanged": ot(u.status_changed),
        "lastLogin": ot(u.last_login),
        "lastUpdated": t(u.last_updated),
        "passwordChanged": ot(u.password_changed),
        "type": {"id": org.user_type_id},
        "profile": profile,
        "credentials": {
            "password": {},
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": {"self": {"href": self_href}}
    })
}

/// A group as `/api/v1/groups` returns it; `stats` adds `_embedded.stats` (`expand=stats`).
pub fn group(org: &Org, g: &Group, base: &str, stats: bool) -> Value {
    let mut profile = json!({"name": g.name, "description": g.description});
    let object_class = match g.kind {
        GroupType::AppGroup => "okta:windows_security_principal",
        _ => "okta:user_group",
    };
    if g.kind == GroupType::AppGroup
        && let Some(map) = profile.as_object_mut()
    {
        let sam = g.name.replace(' ', "_");
        map.insert("samAccountName".into(), Value::String(sam.clone()));
        map.insert(
            "dn".into(),
            Value::String(format!("CN={},OU=Groups,DC=corp,DC=example,DC=com", g.name)),
        );
        map.insert(
            "windowsDomainQualifiedName".into(),
            Value::String(format!("CORP\\{sam}")),
        );
        map.insert("groupType".into(), Value::String("Security".into()));
        map.insert("groupScope".into(), Value::String("Global".into()));
    }
    let mut links = json!({
        "logo": [
            {"name": "medium", "href": format!("{base}/assets/img/logos/groups/okta-medium.png"), "type": "image/png"},
            {"name": "large", "href": format!("{base}/assets/img/logos/groups/okta-large.png"), "type": "image/png"}
        ],
        "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
        "apps": {"href": format!("{base}/api/v1/groups/{}/apps", g.id)}
    });
    if let (Some(src), Some(map)) = (g.source_app, links.as_object_mut()) {
        let app = &org.apps[src as usize];
        map.insert(
            "source".into(),
            json!({"href": format!("{base}/api/v1/apps/{}", app.id)}),
        );
    }
    let mut v = json!({
        "id": g.id,
        "created": t(g.created),
        "lastUpdated": t(g.last_updated),
        "lastMembershipUpdated": t(g.last_membership_updated),
        "objectClass": [object_class],
        "type": g.kind.as_str(),
        "profile": profile,
        "_links": links
    });
    if let (true, Some(map)) = (stats, v.as_object_mut()) {
        let apps = org
            .apps
            .iter()
            .filter(|a| !a.deleted && a.groups.contains_key(&index_of_group(org, g)))
            .count();
        map.insert(
            "_embedded".into(),
            json!({"stats": {
                "usersCount": g.members.len(),
                "appsCount": apps,
                "groupPushMappingsCount": 0,
                "hasAdminPrivilege": false,
                "_links": {"self": {"href": format!("{base}/api/v1/groups/{}/stats", g.id)}}
            }}),
        );
    }
    v
}

fn index_of_group(org: &Org, g: &Group) -> GroupIdx {
    org.group_by_id.get(&g.id).copied().unwrap_or(u32::MAX)
}

/// An entry of `/api/v1/apps/{id}/users`; `embed_user` adds `_embedded.user` (`expand=user`).
pub fn app_user(
    org: &Org,
    a: &App,
    u: UserIdx,
    au: &AppUser,
    base: &str,
    embed_user: bool,
) -> Value {
    let user_obj = &org.users[u as usize];
    let mut v = json!({
        "id": user_obj.id,
        "externalId": null,
        "created": t(au.created),
        "lastUpdated": t(au.last_updated),
        "scope": au.scope.as_str(),
        "status": au.status,
        "statusChanged": t(au.last_updated),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": {"userName": au.user_name},
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", a.id)},
            "user": {"href": format!("{base}/api/v1/users/{}", user_obj.id)}
        }
    });
    if let (true, Some(map)) = (embed_user, v.as_object_mut()) {
        map.insert(
            "_embedded".into(),
            json!({"user": user(org, user_obj, base)}),
        );
    }
    v
}

/// An entry of `/api/v1/apps/{id}/groups`.
pub fn app_group(org: &Org, a: &App, g: GroupIdx, ag: &AppGroup, base: &str) -> Value {
    let group_obj = &org.groups[g as usize];
    json!({
        "id": group_obj.id,
        "lastUpdated": t(ag.last_updated),
        "priority": ag.priority,
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", a.id)},
            "self": {"href": format!("{base}/api/v1/apps/{}/groups/{}", a.id, group_obj.id)},
            "group": {"href": format!("{base}/api/v1/groups/{}", group_obj.id)}
        }
    })
}

/// An entry of `/api/v1/users/{id}/appLinks`.
pub fn app_link(a: &App, au: &AppUser, user_id: &str, sort_order: usize, base: &str) -> Value {
    json!({
        "id": user_id,
        "label": a.label,
        "linkUrl": format!("{base}/home/{}/{}/{}", a.name, a.id, 72),
        "logoUrl": format!("{base}/assets/img/logos/default.png"),
        "appName": a.name,
        "appInstanceId": a.id,
        "appAssignmentId": au.assignment_id,
        "credentialsSetup": false,
        "hidden": false,
        "sortOrder": sort_order
    })
}

/// The `id`, `type`, `alternateId` and `displayName` of a System Log actor or target, as
/// rendered (the `/api/v1/logs` filter and keyword search read the same values).
pub fn log_ref_parts<'a>(org: &'a Org, r: &'a LogRef) -> [Cow<'a, str>; 4] {
    let b = Cow::Borrowed;
    match r {
        LogRef::User(u) => {
            let user = &org.users[*u as usize];
            [
                b(&user.id),
                b("User"),
                b(&user.profile.login),
                format!("{} {}", user.profile.first_name, user.profile.last_name).into(),
            ]
        }
        LogRef::Group(g) => {
            let group = &org.groups[*g as usize];
            [b(&group.id), b("UserGroup"), b("unknown"), b(&group.name)]
        }
        LogRef::App(a) => {
            let app = &org.apps[*a as usize];
            [b(&app.id), b("AppInstance"), b(&app.label), b(&app.label)]
        }
        LogRef::AppUser(a, u) => {
            let app = &org.apps[*a as usize];
            let user = &org.users[*u as usize];
            let id = app.users.get(u).map_or_else(
                || Cow::Owned(format!("0ua{}", user.id.get(3..).unwrap_or_default())),
                |au| b(&au.assignment_id),
            );
            [
                id,
                b("AppUser"),
                b(&user.profile.login),
                format!("{} {}", user.profile.first_name, user.profile.last_name).into(),
            ]
        }
        LogRef::Client(c) => [b(c), b("PublicClientApp"), b(c), b(c)],
        LogRef::System => [
            b("0oa1system"),
            b("SystemPrincipal"),
            b("system@okta.com"),
            b("Okta System"),
        ],
    }
}

fn log_ref(org: &Org, r: &LogRef) -> Value {
    let [id, kind, alternate_id, display_name] = log_ref_parts(org, r);
    let detail = match r {
        LogRef::App(a) => json!({"signOnModeType": org.apps[*a as usize].sign_on_mode}),
        _ => Value::Null,
    };
    json!({"id": id, "type": kind, "alternateId": alternate_id, "displayName": display_name, "detailEntry": detail})
}

/// `client.ipAddress` of an event.
pub fn log_ip(e: &LogEvent) -> String {
    format!("{}.{}.{}.{}", e.ip[0], e.ip[1], e.ip[2], e.ip[3])
}

/// `severity` of an event.
pub fn log_severity(e: &LogEvent) -> &'static str {
    if e.result == "SUCCESS" {
        "INFO"
    } else {
        "WARN"
    }
}

/// The display message Okta uses for an event type.
pub fn display_message(event_type: &str) -> &'static str {
    match event_type {
        "user.authentication.sso" => "User single sign on to app",
        "user.session.start" => "User login to Okta",
        "group.user_membership.add" => "Add user to group membership",
        "group.user_membership.remove" => "Remove user from group membership",
        "group.lifecycle.create" => "Create Okta group",
        "group.lifecycle.delete" => "Delete Okta group",
        "group.profile.update" => "Update group profile",
        "group.application_assignment.add" => "Add assigned application to group",
        "group.application_assignment.remove" => "Remove assigned application from group",
        "application.user_membership.add" => "Add user to application membership",
        "application.user_membership.remove" => "Remove user from application membership",
        "application.user_membership.update" => "Update user's application membership",
        "application.lifecycle.create" => "Create application",
        "application.lifecycle.update" => "Update application",
        "application.lifecycle.activate" => "Activate application",
        "application.lifecycle.deactivate" => "Deactivate application",
        "application.lifecycle.delete" => "Delete application",
        "user.lifecycle.create" => "Create okta user",
        "user.lifecycle.activate" => "Activate Okta user",
        "user.lifecycle.deactivate" => "Deactivate Okta user",
        "user.lifecycle.reactivate" => "Reactivate Okta user",
        "user.lifecycle.suspend" => "Suspend Okta user",
        "user.lifecycle.unsuspend" => "Unsuspend Okta user",
        "user.lifecycle.delete.completed" => "Delete Okta user completed",
        "user.account.update_profile" => "Update user profile for Okta",
        "user.account.lock" => "Max sign in attempts exceeded",
        "user.account.unlock" => "Unlock user account",
        "app.oauth2.token.grant" | "app.oauth2.token.grant.access_token" => {
            "OAuth2 access token is granted"
        }
        _ => "Okta event",
    }
}

/// A System Log event (reference 6.3).
pub fn log_event(org: &Org, e: &LogEvent) -> Value {
    let ip = log_ip(e);
    json!({
        "uuid": e.uuid.to_string(),
        "published": t(e.published),
        "eventType": e.event_type,
        "version": "0",
        "severity": log_severity(e),
        "legacyEventType": if e.event_type == "user.authentication.sso" { Value::String("app.auth.sso".into()) } else { Value::Null },
        "displayMessage": display_message(e.event_type),
        "actor": log_ref(org, &e.actor),
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15", "os": "Mac OS X", "browser": "SAFARI"},
            "zone": "null",
            "device": "Computer",
            "id": null,
            "ipAddress": ip,
            "geographicalContext": {"city": "San Francisco", "state": "California", "country": "United States", "postalCode": "94107",
                                     "geolocation": {"lat": 37.7697, "lon": -122.3933}}
        },
        "authenticationContext": {"authenticationProvider": null, "credentialProvider": null, "credentialType": null,
                                   "issuer": null, "externalSessionId": format!("102{}", &e.uuid.simple().to_string()[..20]),
                                   "interface": null, "authenticationStep": 0},
        "outcome": {"result": e.result, "reason": e.reason},
        "target": e.targets.iter().map(|r| log_ref(org, r)).collect::<Vec<_>>(),
        "transaction": {"type": "WEB", "id": e.uuid.simple().to_string()[..20].to_string(), "detail": {}},
        "debugContext": {"debugData": {}},
        "request": {"ipChain": [{"ip": ip, "version": "V4", "source": null, "geographicalContext": null}]},
        "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": false}
    })
}
