//! Dependent resources, dlt's way: `{resources.<parent>.<field>}` in a child's path, params, JSON
//! body or headers makes the child run once per parent record, with the placeholder replaced by
//! that record's field (a JSONPath into it).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::config::EndpointConfig;

/// One `{resources.<resource>.<field>}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ParentRef {
    /// The parent resource's name.
    pub resource: String,
    /// JSONPath of the field in the parent record.
    pub field: String,
}

/// Every placeholder in `text`.
fn scan(text: &str, out: &mut Vec<ParentRef>) {
    let mut rest = text;
    while let Some(start) = rest.find("{resources.") {
        let after = &rest[start + "{resources.".len()..];
        let Some(end) = after.find('}') else { return };
        if let Some((resource, field)) = after[..end].split_once('.') {
            out.push(ParentRef {
                resource: resource.to_string(),
                field: field.to_string(),
            });
        }
        rest = &after[end + 1..];
    }
}

fn scan_value(value: &Value, out: &mut Vec<ParentRef>) {
    match value {
        Value::String(s) => scan(s, out),
        Value::Array(items) => items.iter().for_each(|v| scan_value(v, out)),
        Value::Object(map) => map.values().for_each(|v| scan_value(v, out)),
        _ => {}
    }
}

/// The parent placeholders an endpoint uses, each once.
pub fn parent_refs(ep: &EndpointConfig) -> Vec<ParentRef> {
    let mut out = Vec::new();
    scan(&ep.path, &mut out);
    ep.params.values().for_each(|v| scan_value(v, &mut out));
    ep.headers.values().for_each(|v| scan(v, &mut out));
    if let Some(json) = &ep.json {
        scan_value(json, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// The (placeholder, value) pairs of one parent record's captured fields.
pub fn parent_pairs(parent: &str, values: &Map<String, Value>) -> Vec<(String, Value)> {
    values
        .iter()
        .map(|(field, v)| (format!("{{resources.{parent}.{field}}}"), v.clone()))
        .collect()
}

/// `text` with each placeholder replaced by its value (strings unquoted).
pub fn fill_text(text: &str, pairs: &[(String, Value)]) -> String {
    let mut out = text.to_string();
    for (placeholder, value) in pairs {
        if out.contains(placeholder.as_str()) {
            out = out.replace(placeholder.as_str(), &super::request::param_text(value));
        }
    }
    out
}

/// Like [`fill_text`] through a JSON value; a string that is exactly one placeholder takes the
/// value with its type (a number stays a number), as in dlt.
pub fn fill_value(value: &Value, pairs: &[(String, Value)]) -> Value {
    match value {
        Value::String(s) => match pairs.iter().find(|(p, _)| p == s) {
            Some((_, v)) => v.clone(),
            None => Value::String(fill_text(s, pairs)),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_value(v, pairs)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_value(v, pairs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The `_<parent>_<field>` columns `include_from_parent` adds to each child record.
pub fn included_fields(
    parent: &str,
    include: &[String],
    values: &Map<String, Value>,
) -> BTreeMap<String, Value> {
    include
        .iter()
        .filter_map(|f| values.get(f).map(|v| (format!("_{parent}_{f}"), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_and_fills_placeholders() {
        let ep = EndpointConfig {
            path: "posts/{resources.posts.id}/comments".into(),
            params: BTreeMap::from([("author".into(), json!("{resources.posts.user.id}"))]),
            json: Some(json!({"post": "{resources.posts.id}"})),
            ..EndpointConfig::default()
        };
        let refs = parent_refs(&ep);
        assert_eq!(refs.len(), 2);
        assert_eq!((&*refs[0].resource, &*refs[0].field), ("posts", "id"));
        let record = json!({"id": 7, "user": {"id": "u1"}, "title": "t"});
        let fields: Vec<String> = refs
            .iter()
            .map(|r| r.field.clone())
            .chain(["title".to_string()])
            .collect();
        let values = crate::source::Records::Parsed(vec![record])
            .capture(&fields)
            .unwrap()
            .remove(0);
        let pairs = parent_pairs("posts", &values);
        assert_eq!(fill_text(&ep.path, &pairs), "posts/7/comments");
        assert_eq!(
            fill_value(ep.json.as_ref().unwrap(), &pairs),
            json!({"post": 7})
        );
        assert_eq!(
            included_fields("posts", &["title".into()], &values),
            BTreeMap::from([("_posts_title".to_string(), json!("t"))])
        );
    }
}
