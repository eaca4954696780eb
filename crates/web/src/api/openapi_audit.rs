//! The audit and jobs part of the OpenAPI document, merged into
//! [`super::openapi::document`].

use serde_json::{Map, Value, json};

use super::openapi_inventory::{q, r};

fn ok(description: &str, schema: Value) -> Value {
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": r("Error")}}});
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "400": err("A filter is malformed"),
        "401": err("Not authenticated"),
        "403": err("Admins only")
    })
}

/// `(paths, schemas)` of the audit and jobs API.
pub fn parts() -> (Map<String, Value>, Map<String, Value>) {
    let paths = json!({
        "/api/v1/audit": {"get": {
            "summary": "Audit events, newest first (admin)", "operationId": "listAudit",
            "parameters": [
                q("actor", "string", "An actor's id or name"),
                q("action", "string", "An action, or a prefix ending in . or *"),
                q("target", "string", "kind:id, or an id"),
                q("since", "string", "At or after (RFC 3339 or YYYY-MM-DD)"),
                q("until", "string", "Before (RFC 3339 or YYYY-MM-DD)"),
                q("before", "integer", "Only events with a smaller sequence number (next page)"),
                q("limit", "integer", "1-1000, default 100")
            ],
            "responses": ok("Events", json!({"type": "object", "properties": {
                "events": {"type": "array", "items": r("AuditEvent")},
                "next_before": {"type": ["integer", "null"]}}}))
        }},
        "/api/v1/audit/verify": {"get": {
            "summary": "Walk the audit hash chain and name the first broken link (admin)",
            "operationId": "verifyAudit",
            "responses": ok("The verification", r("AuditVerification"))
        }},
        "/api/v1/jobs": {"get": {
            "summary": "Durable jobs: pending, running and failed by default (admin)",
            "operationId": "listJobs",
            "parameters": [
                q("state", "string", "pending, running, succeeded or failed"),
                q("limit", "integer", "1-1000, default 100")
            ],
            "responses": ok("Jobs", json!({"type": "object", "properties": {
                "jobs": {"type": "array", "items": r("Job")}}}))
        }}
    });
    let schemas = json!({
        "Actor": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["account", "api_token", "cli", "system", "okta"]},
            "id": {"type": "string"}, "name": {"type": "string"}}},
        "AuditEvent": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "workspace": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"}, "actor": r("Actor"),
            "action": {"type": "string"},
            "target": {"type": "object", "properties": {"kind": {"type": "string"}, "id": {"type": "string"}}},
            "details": {"type": "object"}, "request_id": {"type": ["string", "null"]},
            "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
        "AuditVerification": {"type": "object", "properties": {
            "ok": {"type": "boolean"}, "events": {"type": "integer"}, "workspaces": {"type": "integer"},
            "first_broken": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
                "workspace": {"type": "integer"}, "seq": {"type": "integer"}, "reason": {"type": "string"}}}]}}},
        "Job": {"type": "object", "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"}, "payload": {"type": "object"},
            "run_at": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["pending", "running", "succeeded", "failed"]},
            "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"},
            "last_error": {"type": ["string", "null"]}, "lease_holder": {"type": ["string", "null"]},
            "lease_expires_at": {"type": ["string", "null"], "format": "date-time"},
            "dedup_key": {"type": ["string", "null"]}}}
    });
    let as_map = |v: Value| v.as_object().cloned().unwrap_or_default();
    (as_map(paths), as_map(schemas))
}
