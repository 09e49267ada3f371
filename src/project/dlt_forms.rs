//! dlt's shorthand forms, expanded on the raw YAML before it is typed, so that both vocabularies
//! parse to one model: bare-string resources, `resource_defaults`, bare-string paginators, and
//! `auth` mappings without a `type` (which dlt reads as bearer).

use serde_json::{Map, Value};

/// Keys whose value is a paginator, at the source and resource levels.
const PAGINATOR_KEYS: [&str; 2] = ["paginator", "pagination"];

/// A resource entry with dlt's forms expanded and `defaults` merged in as dlt merges them:
/// shallow, except that `endpoint`, and its `params` and `json`, are merged one level deeper.
pub fn expand_resource(raw: Value, defaults: Option<&Value>) -> Value {
    let mut resource = match raw {
        Value::String(name) => Map::from_iter([("name".to_string(), Value::String(name))]),
        Value::Object(map) => map,
        other => return other,
    };
    if let Some(Value::Object(defaults)) = defaults {
        let mut merged = defaults.clone();
        let default_ep = endpoint_map(merged.remove("endpoint"));
        let own_ep = endpoint_map(resource.remove("endpoint"));
        merged.extend(resource);
        if default_ep.is_some() || own_ep.is_some() {
            let mut ep = default_ep.unwrap_or_default();
            let own = own_ep.unwrap_or_default();
            for (key, value) in own {
                match (key.as_str(), ep.get_mut(&key), value) {
                    ("params" | "json", Some(Value::Object(base)), Value::Object(over)) => {
                        base.extend(over)
                    }
                    (_, _, value) => {
                        ep.insert(key, value);
                    }
                }
            }
            merged.insert("endpoint".into(), Value::Object(ep));
        }
        resource = merged;
    }
    if let Some(Value::Object(ep)) = resource.get_mut("endpoint") {
        expand_paginators(ep);
        expand_auth(ep);
    }
    expand_paginators(&mut resource);
    Value::Object(resource)
}

/// An endpoint as a mapping (a bare path becomes `{path: ...}`).
fn endpoint_map(endpoint: Option<Value>) -> Option<Map<String, Value>> {
    match endpoint? {
        Value::String(path) => Some(Map::from_iter([("path".to_string(), Value::String(path))])),
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Expands the source-level forms of a `rest_api` block (and its `client`).
pub fn expand_rest_api(rest: &mut Map<String, Value>) {
    expand_paginators(rest);
    expand_auth(rest);
    if let Some(Value::Object(client)) = rest.get_mut("client") {
        expand_paginators(client);
        expand_auth(client);
    }
}

/// Secret fields of each auth type, which dlt resolves from its secrets when not given.
const AUTH_SECRETS: [(&str, &[&str]); 4] = [
    ("bearer", &["token"]),
    ("api_key", &["api_key"]),
    ("http_basic", &["username", "password"]),
    ("oauth2_client_credentials", &["client_id", "client_secret"]),
];

/// Fills the secret fields an `auth` block leaves out from `lookup(field)`, as dlt fills
/// `dlt.secrets.value` arguments (e.g. `[sources.<source>] token = ...` in secrets.toml).
pub fn fill_auth_secrets(rest: &mut Map<String, Value>, lookup: &dyn Fn(&str) -> Option<String>) {
    for auth in auth_blocks(rest) {
        let kind = auth
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("bearer")
            .to_string();
        let fields = AUTH_SECRETS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, f)| *f)
            .unwrap_or(&[]);
        for field in fields {
            let missing = auth
                .get(*field)
                .is_none_or(|v| v.as_str().is_some_and(str::is_empty));
            if missing && let Some(value) = lookup(field) {
                auth.insert(field.to_string(), Value::String(value));
            }
        }
    }
}

/// The `auth` blocks of a `rest_api` block: its own and its `client`'s.
fn auth_blocks(rest: &mut Map<String, Value>) -> Vec<&mut Map<String, Value>> {
    let mut blocks = Vec::new();
    for (key, value) in rest.iter_mut() {
        match (key.as_str(), value) {
            ("auth", Value::Object(a)) => blocks.push(a),
            ("client", Value::Object(c)) => {
                blocks.extend(c.get_mut("auth").and_then(Value::as_object_mut));
            }
            _ => {}
        }
    }
    blocks
}

/// `paginator: header_link` → `paginator: {type: header_link}`.
fn expand_paginators(map: &mut Map<String, Value>) {
    for key in PAGINATOR_KEYS {
        if let Some(value) = map.get_mut(key)
            && let Value::String(kind) = value
        {
            *value = Value::Object(Map::from_iter([(
                "type".to_string(),
                Value::String(kind.clone()),
            )]));
        }
    }
}

/// `auth: {token: ...}` → `auth: {type: bearer, token: ...}`; `auth: bearer` is left to fail
/// with a clear error, since a bare type has no credential.
fn expand_auth(map: &mut Map<String, Value>) {
    if let Some(Value::Object(auth)) = map.get_mut("auth")
        && !auth.contains_key("type")
    {
        auth.insert("type".into(), Value::String("bearer".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_strings_become_resources() {
        assert_eq!(
            expand_resource(json!("posts"), None),
            json!({"name": "posts"})
        );
    }

    #[test]
    fn defaults_merge_like_dlt() {
        let defaults = json!({
            "primary_key": "id",
            "write_disposition": "merge",
            "endpoint": {"params": {"per_page": 100, "state": "open"}, "paginator": "header_link"}
        });
        let resource = json!({
            "name": "issues",
            "write_disposition": "append",
            "endpoint": {"path": "issues", "params": {"state": "all"}}
        });
        let merged = expand_resource(resource, Some(&defaults));
        assert_eq!(
            merged,
            json!({
                "primary_key": "id",
                "write_disposition": "append",
                "name": "issues",
                "endpoint": {
                    "params": {"per_page": 100, "state": "all"},
                    "paginator": {"type": "header_link"},
                    "path": "issues"
                }
            })
        );
    }

    #[test]
    fn auth_without_type_is_bearer() {
        let mut rest = json!({"auth": {"token": "x"}}).as_object().unwrap().clone();
        expand_rest_api(&mut rest);
        assert_eq!(rest["auth"], json!({"token": "x", "type": "bearer"}));
    }
}
