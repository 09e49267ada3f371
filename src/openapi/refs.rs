//! Finding things in a description's JSON: every `$ref`, every schema's `$id`, and what a
//! fragment (a JSON pointer or an `$anchor` name) names.

use serde_json::Value;

/// Calls `found(pointer, text)` for every string member named `key` anywhere in `value`: every
/// `$ref` (what to load and check), every `$id` (schemas named for refs to find).
pub(super) fn strings_named(value: &Value, key: &str, found: &mut impl FnMut(&str, &str)) {
    walk(value, key, &mut String::new(), found);
}

fn walk(value: &Value, key: &str, at: &mut String, found: &mut impl FnMut(&str, &str)) {
    if let Some(Value::String(text)) = value.get(key) {
        found(at, text);
    }
    let mut visit = |at: &mut String, step: &str, child: &Value| {
        let len = at.len();
        at.push('/');
        at.push_str(step);
        walk(child, key, at, found);
        at.truncate(len);
    };
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                visit(at, &name.replace('~', "~0").replace('/', "~1"), child);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                visit(at, &i.to_string(), child);
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
