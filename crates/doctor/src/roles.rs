//! Checks 8 and 9: the admin roles, seen through what the API lets the app do.
//!
//! Scopes say what a token may ask for, admin roles what the app may see and change
//! (reference 4). A missing role shows as `403 E0000006`, or, on `/api/v1/users` and
//! `/api/v1/apps`, as `200 []` (reference 3.3), which is why empty lists are cross-checked.

use okta_client::{OktaClient, OktaError};
use serde_json::Value;

use crate::report::Check;
use crate::steps::SetupStep;

pub(crate) fn read_only_check() -> Check {
    Check::new(
        "role:read_only_admin",
        "Read-only Administrator role",
        SetupStep::AdminRoles,
    )
}

pub(crate) fn membership_check() -> Check {
    Check::new(
        "role:group_membership_admin",
        "Group Membership Administrator role",
        SetupStep::AdminRoles,
    )
}

fn read_only_fix() -> String {
    format!(
        "In the app's Admin roles tab > Edit assignments, add Read-only Administrator ({}).",
        SetupStep::AdminRoles
    )
}

fn membership_fix() -> String {
    format!(
        "In the app's Admin roles tab > Edit assignments, add Group Membership Administrator \
         for all groups, or at least those Steward manages ({}).",
        SetupStep::AdminRoles
    )
}

/// What the reads returned, for the membership probe.
#[derive(Default)]
pub(crate) struct Seen {
    users: Vec<Value>,
    groups: Vec<Value>,
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn members_of(group: &Value) -> u64 {
    group
        .pointer("/_embedded/stats/usersCount")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

async fn list(client: &OktaClient, path: &str) -> Result<Vec<Value>, OktaError> {
    client.get_json::<Vec<Value>>(path).await
}

/// Check 8: reads of users, groups, apps and the System Log.
pub(crate) async fn read_only(client: &OktaClient, granted: &[String]) -> (Check, Seen) {
    let has = |s: &str| granted.iter().any(|g| g == s);
    let mut seen = Seen::default();
    let mut ok = Vec::new();
    let mut missing_role = Vec::new();
    let mut unverified = Vec::new();
    let mut errors: Vec<(String, OktaError)> = Vec::new();

    const GROUPS: &str = "/api/v1/groups?expand=stats&limit=200";
    if has("okta.groups.read") || has("okta.groups.manage") {
        match list(client, GROUPS).await {
            Ok(g) if g.is_empty() => missing_role.push(format!(
                "GET {GROUPS} → 200 [] (not even the Everyone group)"
            )),
            Ok(g) => {
                ok.push(format!("groups ({})", g.len()));
                seen.groups = g;
            }
            Err(OktaError::MissingAdminRole { .. }) => {
                missing_role.push(format!("GET {GROUPS} → 403 E0000006"))
            }
            Err(e) => errors.push((format!("GET {GROUPS}"), e)),
        }
    } else {
        unverified.push("groups (okta.groups.read not granted)".to_owned());
    }

    const USERS: &str = "/api/v1/users?limit=25";
    if has("okta.users.read") {
        match list(client, USERS).await {
            Ok(u) if u.is_empty() => match seen.groups.iter().find(|g| members_of(g) > 0) {
                Some(g) => missing_role.push(format!(
                    "GET {USERS} → 200 [] although group \"{}\" has {} members (Okta \
                         answers an empty list when the role does not cover users)",
                    str_of(g, "/profile/name"),
                    members_of(g)
                )),
                None => unverified.push(
                    "users (the list is empty and no group shows members, so the org may \
                         have none)"
                        .to_owned(),
                ),
            },
            Ok(u) => {
                ok.push("users".to_owned());
                seen.users = u;
            }
            Err(OktaError::MissingAdminRole { .. }) => {
                missing_role.push(format!("GET {USERS} → 403 E0000006"))
            }
            Err(e) => errors.push((format!("GET {USERS}"), e)),
        }
    } else {
        unverified.push("users (okta.users.read not granted)".to_owned());
    }

    const APPS: &str = "/api/v1/apps?limit=20";
    if has("okta.apps.read") {
        match list(client, APPS).await {
            // This API Services app itself is an app of the org: an empty list means the
            // role hides apps, not that there are none.
            Ok(a) if a.is_empty() => missing_role.push(format!(
                "GET {APPS} → 200 [] (not even this API Services app: Okta answers an empty \
                 list when the role does not cover apps)"
            )),
            Ok(_) => ok.push("apps".to_owned()),
            Err(OktaError::MissingAdminRole { .. }) => {
                missing_role.push(format!("GET {APPS} → 403 E0000006"))
            }
            Err(e) => errors.push((format!("GET {APPS}"), e)),
        }
    } else {
        unverified.push("apps (okta.apps.read not granted)".to_owned());
    }

    const LOGS: &str = "/api/v1/logs?limit=1";
    if has("okta.logs.read") {
        match list(client, LOGS).await {
            Ok(_) => ok.push("System Log".to_owned()),
            Err(OktaError::MissingAdminRole { .. }) => {
                missing_role.push(format!("GET {LOGS} → 403 E0000006"))
            }
            Err(e) => errors.push((format!("GET {LOGS}"), e)),
        }
    } else {
        unverified.push("System Log (okta.logs.read not granted)".to_owned());
    }

    let c = read_only_check();
    let check = if !missing_role.is_empty() {
        c.fail(
            format!(
                "the app's admin roles do not cover Read-only Administrator: {}",
                missing_role.join("; ")
            ),
            read_only_fix(),
        )
    } else if let Some((_, e)) = errors.first() {
        let detail = errors
            .iter()
            .map(|(w, e)| format!("{w} failed: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        c.fail(detail, e.fix())
    } else if ok.is_empty() {
        c.skip("no read scope is granted (see the scope checks)")
    } else if !unverified.is_empty() {
        c.warn(
            format!(
                "reads allowed: {}; not verified: {}",
                ok.join(", "),
                unverified.join(", ")
            ),
            "Fix the scopes reported above, then run the doctor again.",
        )
    } else {
        c.pass(format!(
            "the app may read {} (GET requests only)",
            ok.join(", ")
        ))
    };
    (check, seen)
}

/// Check 9: may the app change group memberships?
///
/// The probe must change nothing. It is `DELETE /api/v1/groups/{g}/users/{u}` for an
/// `OKTA_GROUP` `g` and a user `u` who, as read just before, is **not** a member of `g`:
/// Okta checks the role first (403 `E0000006` without it) and then answers 204 for a removal
/// that has nothing to remove (idempotent, reference 5.2). Removing a non-member is chosen
/// over re-adding an existing member because, if a membership changed in the instant between
/// the read and the probe, the worst case is withdrawing a just-granted access rather than
/// re-granting a just-revoked one. Without an `OKTA_GROUP` and a non-member user, no safe
/// probe exists and the check warns instead of changing anything.
pub(crate) async fn group_membership(
    client: &OktaClient,
    granted: &[String],
    seen: &Seen,
) -> Check {
    let c = membership_check();
    if !granted.iter().any(|g| g == "okta.groups.manage") {
        return c.skip("needs the okta.groups.manage scope (see scope:okta.groups.manage)");
    }
    let cannot = |why: &str| {
        c.clone().warn(
            format!("can't be verified without a change: {why}"),
            format!(
                "Check by hand that the app's Admin roles tab lists Group Membership \
                 Administrator ({}).",
                SetupStep::AdminRoles
            ),
        )
    };
    let okta_groups: Vec<&Value> = seen
        .groups
        .iter()
        .filter(|g| str_of(g, "/type") == "OKTA_GROUP")
        .collect();
    if okta_groups.is_empty() {
        return cannot("no OKTA_GROUP group is visible to probe with");
    }
    if seen.users.is_empty() {
        return cannot("no user is visible to probe with");
    }
    for user in seen.users.iter().take(5) {
        let uid = str_of(user, "/id");
        let their: Vec<Value> = match list(client, &format!("/api/v1/users/{uid}/groups")).await {
            Ok(g) => g,
            Err(_) => continue,
        };
        let Some(group) = okta_groups
            .iter()
            .find(|g| !their.iter().any(|t| str_of(t, "/id") == str_of(g, "/id")))
        else {
            continue;
        };
        let gid = str_of(group, "/id");
        let name = str_of(group, "/profile/name");
        let login = str_of(user, "/profile/login");
        let what = format!(
            "DELETE /api/v1/groups/{gid}/users/{uid} (group \"{name}\", user {login}, who is \
             not a member, so nothing changes)"
        );
        return match client.remove_group_member(gid, uid).await {
            Ok(()) => c.pass(format!(
                "{what} → 204: the app may change memberships of \"{name}\" (if the role is \
                 limited to some groups, only this one was checked)"
            )),
            Err(OktaError::MissingAdminRole { .. }) => c.fail(
                format!("{what} → 403 E0000006: the app may not change group memberships"),
                membership_fix(),
            ),
            Err(e) => {
                let fix = e.fix();
                c.fail(format!("{what} failed: {e}"), fix)
            }
        };
    }
    cannot("no user could be found who is outside an OKTA_GROUP group")
}
