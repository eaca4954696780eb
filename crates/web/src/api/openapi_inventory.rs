//! The inventory part of the OpenAPI document (paths and schemas), merged into
//! [`super::openapi::document`].

use serde_json::{Map, Value, json};

/// A `$ref` to a schema (shared with the other parts of the document).
pub(super) fn r(s: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{s}")})
}

fn ok(description: &str, schema: Value) -> Value {
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": r("Error")}}});
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "401": err("Not authenticated"),
        "403": err("The role does not allow this"),
        "404": err("No such object, or no connection yet")
    })
}

/// An optional query parameter.
pub(super) fn q(name: &str, ty: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}, "description": description})
}

fn path(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

fn page_of(item: &str) -> Value {
    json!({"type": "object", "properties": {
        "connection": {"type": "string"},
        "page": {"type": "object", "properties": {
            "items": {"type": "array", "items": r(item)},
            "total": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"}}}}})
}

/// `(paths, schemas)` of the inventory API.
pub fn parts() -> (Map<String, Value>, Map<String, Value>) {
    let conn = q(
        "connection",
        "string",
        "Connection name (default: the first)",
    );
    let page = q("page", "integer", "Page, from 0");
    let size = q("page_size", "integer", "Rows per page (1-1000)");
    let search = q("search", "string", "Case-insensitive prefix");
    let paths = json!({
        "/api/v1/users": {"get": {
            "summary": "Users: prefix search on login, email, name; filters (viewer)", "operationId": "listUsers",
            "parameters": [search, q("status", "string", "Exact status, e.g. ACTIVE"),
                q("department", "string", "Exact department"), page, size, conn],
            "responses": ok("A page of users", page_of("UserSummary"))}},
        "/api/v1/users/{id}": {"get": {
            "summary": "A user with groups and apps (how each is assigned, last SSO) (viewer)",
            "operationId": "getUser", "parameters": [path("id"), conn],
            "responses": ok("The user", r("UserDetail"))}},
        "/api/v1/groups": {"get": {
            "summary": "Groups with member and app counts (viewer)", "operationId": "listGroups",
            "parameters": [search, page, size, conn],
            "responses": ok("A page of groups", page_of("GroupSummary"))}},
        "/api/v1/groups/{id}": {"get": {
            "summary": "A group with a page of members and its apps (viewer)", "operationId": "getGroup",
            "parameters": [path("id"), page, size, conn],
            "responses": ok("The group", json!({"type": "object"}))}},
        "/api/v1/apps": {"get": {
            "summary": "Apps with assignments and usage (active 30/90 days, never used) (viewer)",
            "operationId": "listApps", "parameters": [search, page, size, conn],
            "responses": ok("A page of apps", page_of("AppSummary"))}},
        "/api/v1/apps/{id}": {"get": {
            "summary": "An app with a page of assignees (with usage) and its groups (viewer)",
            "operationId": "getApp", "parameters": [path("id"), page, size, conn],
            "responses": ok("The app", json!({"type": "object"}))}},
        "/api/v1/sync-runs": {"get": {
            "summary": "The newest 50 sync runs (viewer)", "operationId": "listSyncRuns",
            "parameters": [conn],
            "responses": ok("Runs", json!({"type": "object", "properties": {"runs": {"type": "array", "items": r("SyncRun")}}}))}},
        "/api/v1/connections/{name}/sync": {
            "get": {
                "summary": "Live sync progress, last run, next scheduled sync (viewer)",
                "operationId": "getSyncStatus", "parameters": [path("name")],
                "responses": ok("Status", json!({"type": "object", "properties": {
                    "live": {"type": ["object", "null"]}, "last_run": {"oneOf": [r("SyncRun"), {"type": "null"}]},
                    "next_scheduled": {"type": "string", "format": "date-time"}, "counts": {"type": "object"}}}))
            },
            "post": {
                "summary": "Sync now (admin): 202 started, 409 one is already running", "operationId": "startSync",
                "parameters": [path("name")],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"kind": {"type": "string", "enum": ["incremental", "full", "reconcile"]}}}}}},
                "responses": {
                    "202": {"description": "Started"},
                    "409": {"description": "A sync of this connection is running"},
                    "401": {"description": "Not authenticated"}, "403": {"description": "Not an admin, or no CSRF token"},
                    "404": {"description": "No such connection"}}
            }
        }
    });
    let t = |ty: &str| json!({"type": ty});
    let nt = |ty: &str| json!({"type": [ty, "null"]});
    let schemas = json!({
        "UserSummary": {"type": "object", "properties": {
            "id": t("string"), "login": t("string"), "email": nt("string"), "first_name": nt("string"),
            "last_name": nt("string"), "status": t("string"), "department": nt("string"),
            "title": nt("string"), "last_login": nt("string"), "removed_at": nt("string")}},
        "UserDetail": {"type": "object", "properties": {
            "user": t("object"), "removed_at": nt("string"),
            "groups": {"type": "array", "items": {"type": "object", "properties": {
                "id": t("string"), "name": t("string"), "group_type": t("string")}}},
            "apps": {"type": "array", "items": {"type": "object", "properties": {
                "app_id": t("string"), "label": t("string"), "status": t("string"),
                "scope": {"type": ["string", "null"], "description": "USER (direct) or GROUP"},
                "via_groups": {"type": "array", "items": t("string")},
                "last_sso_at": nt("string"), "sso_count_30d": t("integer"), "sso_count_90d": t("integer")}}}}},
        "GroupSummary": {"type": "object", "properties": {
            "id": t("string"), "name": t("string"), "group_type": t("string"),
            "description": nt("string"), "members": t("integer"), "apps": t("integer")}},
        "AppSummary": {"type": "object", "properties": {
            "id": t("string"), "label": t("string"), "name": t("string"), "status": t("string"),
            "sign_on_mode": nt("string"), "assigned_users": t("integer"), "assigned_groups": t("integer"),
            "active_30d": t("integer"), "active_90d": t("integer"), "never_used": t("integer")}},
        "SyncRun": {"type": "object", "properties": {
            "id": t("integer"), "kind": {"type": "string", "enum": ["full", "incremental", "reconcile"]},
            "status": t("string"), "started_at": t("string"), "finished_at": nt("string"),
            "stats": {"type": "object", "properties": {"requests": t("integer"), "rate_limited": t("integer"),
                "errors": t("integer"), "items": t("object")}}, "error": nt("string")}}
    });
    let as_map = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    (as_map(paths), as_map(schemas))
}
