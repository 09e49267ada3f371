//! Finding things in a description's JSON: every `$ref`, every schema's `$id`, and what a
//! fragment (a JSON pointer or an `$anchor` name) names.

use serde_json::Value;

/// Every schema in `value` with an `$id`, as (pointer, id).
pub(super) fn collect_ids(value: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("$id") {
                out.push((at.clone(), id.clone()));
            }
            for (key, child) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                collect_ids(child, at, out);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                collect_ids(child, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// The value at `fragment` inside `base`: itself, a JSON pointer, or an `$anchor` name.
pub(super) fn within<'a>(base: &'a Value, fragment: &str) -> Option<&'a Value> {
    match fragment {
        "" => Some(base),
        f if f.starts_with('/') => base.pointer(f),
        name => anchor(base, name),
    }
}

/// The object inside `value` whose `$anchor` (or `$dynamicAnchor`) is `name`, depth first.
pub(super) fn anchor<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => {
            let named = |k: &str| map.get(k).and_then(Value::as_str) == Some(name);
            if named("$anchor") || named("$dynamicAnchor") {
                return Some(value);
            }
            map.values().find_map(|child| anchor(child, name))
        }
        Value::Array(items) => items.iter().find_map(|child| anchor(child, name)),
        _ => None,
    }
}

/// Calls `found(pointer, reference)` for every `$ref` string in `value`.
pub(super) fn collect_refs(value: &Value, at: &mut String, found: &mut impl FnMut(&str, &str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found(at, reference);
            }
            for (key, child) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                collect_refs(child, at, found);
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                collect_refs(child, at, found);
                at.truncate(len);
            }
        }
        _ => {}
    }
}
