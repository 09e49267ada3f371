//! `GET /openapi.json`: the mock API's own OpenAPI 3.0 description (every pagination style,
//! the auth it is configured with, a parent/child pair, and endpoints that are not
//! collections), for `dango source add --openapi` to be tested against a live API.

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};

use super::{AppState, MockAuth};

/// The description, with the security scheme of the configured auth.
pub(super) async fn description(State(s): State<Arc<AppState>>) -> axum::Json<Value> {
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "Dango Mock API", "version": "1.0"},
        "servers": [{"url": "/"}],
        "paths": {
            "/users": get(
                [param("page", "integer", None), limit("per_page", 100)],
                json!({"type": "object", "properties": {
                    "data": list("User"),
                    "meta": {"type": "object", "properties": {
                        "page": {"type": "integer"}, "total_pages": {"type": "integer"}}}}}),
            ),
            "/orders": get(
                [
                    param("offset", "integer", None),
                    limit("limit", 50),
                    param("status", "string", None),
                    param("updated_after", "string", Some("date-time")),
                    param("updated_before", "string", Some("date-time")),
                ],
                json!({"type": "object", "properties": {
                    "items": list("Order"), "total": {"type": "integer"}}}),
            ),
            "/events": get(
                [param("cursor", "string", None)],
                json!({"type": "object", "properties": {
                    "events": list("Event"),
                    "next_cursor": {"type": "string", "nullable": true}}}),
            ),
            "/posts": get(
                [param("page", "integer", None)],
                json!({"type": "object", "properties": {
                    "results": list("Post"),
                    "next_page_url": {"type": "string", "format": "uri", "nullable": true}}}),
            ),
            "/products": {"get": {"parameters": [param("page", "integer", None)], "responses": {"200": {
                "description": "A page of products; the next page is in the Link header.",
                "headers": {"Link": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": list("Product")}}}}}},
            "/tags": get([], list("Tag")),
            "/v1/customers": get(
                [limit("limit", 10), param("starting_after", "string", None)],
                json!({"type": "object", "properties": {
                    "object": {"type": "string"}, "data": list("Customer"),
                    "has_more": {"type": "boolean"}, "url": {"type": "string"}}}),
            ),
            "/posts/{id}/comments": get(
                [json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}})],
                list("Comment"),
            ),
            "/search": {"post": {"responses": {"200": {"description": "Orders matching a body."}}}},
            "/html": {"get": {"responses": {"200": {"description": "A page.",
                "content": {"text/html": {"schema": {"type": "string"}}}}}}},
            "/gone": {"get": {"responses": {"404": {"description": "Always gone."}}}},
        },
        "components": {"schemas": schemas()},
    });
    if let Some((name, scheme)) = security_scheme(&s.config.auth) {
        let mut schemes = serde_json::Map::new();
        schemes.insert(name.to_string(), scheme);
        let mut requirement = serde_json::Map::new();
        requirement.insert(name.to_string(), json!([]));
        doc["components"]["securitySchemes"] = Value::Object(schemes);
        doc["security"] = json!([requirement]);
    }
    axum::Json(doc)
}

/// A GET with `params` answering `schema`.
fn get<const N: usize>(params: [Value; N], schema: Value) -> Value {
    json!({"get": {"parameters": params.to_vec(), "responses": {
        "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}}})
}

/// An optional query parameter.
fn param(name: &str, kind: &str, format: Option<&str>) -> Value {
    let mut schema = json!({"type": kind});
    if let Some(f) = format {
        schema["format"] = json!(f);
    }
    json!({"name": name, "in": "query", "schema": schema})
}

/// A page size parameter with its maximum.
fn limit(name: &str, maximum: u64) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": maximum}})
}

/// An array of `schema`.
fn list(schema: &str) -> Value {
    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}})
}

/// The records' schemas, as `data.rs` and the handlers build them.
fn schemas() -> Value {
    let int = json!({"type": "integer"});
    let text = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "User": {"type": "object", "properties": {
            "id": int, "name": text, "email": text, "isActive": {"type": "boolean"},
            "signupDate": time,
            "profile": {"type": "object", "properties": {"age": int, "country": text}}}},
        "Order": {"type": "object", "properties": {
            "id": int, "orderNumber": text, "status": text, "total": {"type": "number"},
            "createdAt": time, "updatedAt": time,
            "customer": {"type": "object", "properties": {"id": int, "name": text}},
            "lineItems": {"type": "array", "items": {"type": "object", "properties": {
                "sku": text, "quantity": int, "unitPrice": {"type": "number"}}}},
            "tags": {"type": "array", "items": text}}},
        "Event": {"type": "object", "properties": {"id": int, "type": text, "occurredAt": time}},
        "Post": {"type": "object", "properties": {"id": int, "userId": int, "title": text}},
        "Product": {"type": "object", "properties": {"id": int, "name": text, "price": {"type": "number"}}},
        "Tag": {"type": "object", "properties": {"id": int, "name": text}},
        "Customer": {"type": "object", "properties": {
            "id": text, "object": text, "email": text, "name": text}},
        "Comment": {"type": "object", "properties": {"id": int, "postId": int, "body": text}},
    })
}

/// The security scheme describing `auth`, by name.
fn security_scheme(auth: &MockAuth) -> Option<(&'static str, Value)> {
    Some(match auth {
        MockAuth::None => return None,
        MockAuth::Bearer(_) => ("bearerAuth", json!({"type": "http", "scheme": "bearer"})),
        MockAuth::ApiKeyHeader(name, _) => (
            "apiKey",
            json!({"type": "apiKey", "in": "header", "name": name}),
        ),
        MockAuth::ApiKeyQuery(name, _) => (
            "apiKey",
            json!({"type": "apiKey", "in": "query", "name": name}),
        ),
        MockAuth::Basic(..) => ("basicAuth", json!({"type": "http", "scheme": "basic"})),
        MockAuth::OAuth2 { .. } => (
            "oauth",
            json!({"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/oauth/token", "scopes": {"read": "Read everything"}}}}),
        ),
    })
}
