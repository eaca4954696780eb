//! The OpenAPI 3.1 document served at `/api/openapi.json`, maintained by hand (lighter than
//! a derive framework for a handful of routes). A unit test checks that it lists exactly
//! [`super::ROUTES`]; an integration test calls every operation it lists.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn name_param() -> Value {
    json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}})
}

/// The document.
pub fn document() -> Value {
    let r = |s: &str| json!({"$ref": format!("#/components/schemas/{s}")});
    let common = json!({
        "401": error_response("Not authenticated (no or invalid token/session)"),
        "403": error_response("The role does not allow this, or the CSRF token is missing"),
    });
    let with = |mut extra: Value| {
        if let (Some(e), Some(c)) = (extra.as_object_mut(), common.as_object()) {
            for (k, v) in c {
                e.insert(k.clone(), v.clone());
            }
        }
        extra
    };
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Steward API",
            "version": "1",
            "description": "Authenticate with `Authorization: Bearer stw_…` (an API token created by an admin). Responses never contain private keys."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/me": {"get": {
                "summary": "The caller", "operationId": "me",
                "responses": with(json!({"200": ok_json("The caller", r("Me"))}))
            }},
            "/api/v1/connections": {
                "get": {
                    "summary": "List Okta connections (viewer)", "operationId": "listConnections",
                    "responses": with(json!({"200": ok_json("Connections", json!({"type": "object", "properties": {"connections": {"type": "array", "items": r("Connection")}}}))}))
                },
                "post": {
                    "summary": "Test and save an Okta connection (admin)",
                    "description": "Runs the connection test (doctor). The connection is saved only when every check passes.",
                    "operationId": "createConnection",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": r("NewConnection")}}},
                    "responses": with(json!({
                        "201": ok_json("Saved", r("ConnectionOutcome")),
                        "422": ok_json("A check failed; nothing saved", r("ConnectionOutcome")),
                        "400": error_response("Malformed request"),
                        "409": error_response("The name is taken")
                    }))
                }
            },
            "/api/v1/connections/{name}/test": {"post": {
                "summary": "Run the connection test on a saved connection (admin)", "operationId": "testConnection",
                "parameters": [name_param()],
                "responses": with(json!({"200": ok_json("The report", r("Report")), "404": error_response("No such connection")}))
            }},
            "/api/v1/connections/{name}": {"delete": {
                "summary": "Disconnect: delete the connection and its key (admin)", "operationId": "deleteConnection",
                "parameters": [name_param()],
                "responses": with(json!({"204": {"description": "Deleted"}, "404": error_response("No such connection")}))
            }},
            "/api/v1/tokens": {"post": {
                "summary": "Create an API token (admin); the token is returned only here", "operationId": "createToken",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "role"],
                    "properties": {"name": {"type": "string"}, "role": r("Role")}}}}},
                "responses": with(json!({"201": ok_json("The token", r("CreatedToken")), "400": error_response("Malformed request")}))
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Role": {"type": "string", "enum": ["admin", "approver", "viewer"]},
                "Error": {"type": "object", "required": ["error", "request_id"], "properties": {
                    "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
                    "request_id": {"type": "string"}}},
                "Me": {"type": "object", "properties": {
                    "username": {"type": "string"}, "role": r("Role"),
                    "via": {"type": "string", "enum": ["session", "token"]},
                    "token_name": {"type": ["string", "null"]}}},
                "Connection": {"type": "object", "properties": {
                    "name": {"type": "string"}, "domain": {"type": "string"}, "client_id": {"type": "string"},
                    "key_id": {"type": ["string", "null"]}, "dpop": {"type": "string", "enum": ["auto", "on", "off"]},
                    "key_thumbprint": {"type": "string"},
                    "created": {"type": "string", "format": "date-time"},
                    "key_created": {"type": "string", "format": "date-time"}}},
                "NewConnection": {"type": "object", "required": ["name", "domain", "client_id", "private_key"], "properties": {
                    "name": {"type": "string"}, "domain": {"type": "string"}, "client_id": {"type": "string"},
                    "private_key": {"type": "string", "description": "JWK or PEM; stored encrypted, never returned"},
                    "key_id": {"type": "string"}, "dpop": {"type": "string", "enum": ["auto", "on", "off"]}}},
                "Check": {"type": "object", "properties": {
                    "id": {"type": "string"}, "step": {"type": ["integer", "string"]},
                    "status": {"type": "string", "enum": ["pass", "warn", "fail", "skip"]},
                    "detail": {"type": "string"}, "fix": {"type": ["string", "null"]}}},
                "Report": {"type": "object", "properties": {
                    "ok": {"type": "boolean"}, "dpop": {"type": "boolean"},
                    "granted_scopes": {"type": "array", "items": {"type": "string"}},
                    "checks": {"type": "array", "items": r("Check")}}},
                "ConnectionOutcome": {"type": "object", "properties": {
                    "saved": {"type": "boolean"},
                    "connection": {"oneOf": [r("Connection"), {"type": "null"}]},
                    "report": r("Report")}},
                "CreatedToken": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "role": r("Role"),
                    "created": {"type": "string", "format": "date-time"},
                    "token": {"type": "string", "description": "stw_…; shown once"}}}
            }
        }
    });
    for (paths, schemas) in [
        super::openapi_inventory::parts(),
        super::openapi_audit::parts(),
    ] {
        if let Some(p) = doc["paths"].as_object_mut() {
            p.extend(paths);
        }
        if let Some(s) = doc["components"]["schemas"].as_object_mut() {
            s.extend(schemas);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_exactly_the_routes() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        let mut listed: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, ops)| {
                ops.as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .map(move |m| (m.clone(), p.clone()))
            })
            .collect();
        listed.sort();
        let mut routes: Vec<(String, String)> = super::super::ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        routes.sort();
        assert_eq!(listed, routes);
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(doc["components"]["schemas"].get(&name).is_some(), "{name}");
        }
    }
}
