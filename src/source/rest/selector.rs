//! Picks the records out of a response body: by the configured `data_selector`, or by dlt's
//! detection (a top-level list, else the least nested list, preferring record-like keys).

use serde_json::Value;

use super::json_path;

/// Keys that usually hold the records (dlt's `RECORD_KEY_PATTERNS`).
const RECORD_KEYS: [&str; 11] = [
    "data", "items", "results", "entries", "records", "rows", "entities", "payload", "content",
    "objects", "values",
];
/// Keys that usually hold metadata, never records (dlt's `NON_RECORD_KEY_PATTERNS`).
const NON_RECORD_KEYS: [&str; 6] = [
    "meta",
    "metadata",
    "pagination",
    "links",
    "extras",
    "headers",
];

/// The configured selector matched nothing in a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data_selector `{selector}` matched nothing; the response's top-level keys are: {keys}")]
pub struct NothingSelected {
    /// The selector as configured.
    pub selector: String,
    /// The keys that were there, comma-separated.
    pub keys: String,
}

/// Moves the records out of `body`: each element of the selected list, or the selected object
/// alone. What remains of `body` (metadata such as cursors and totals) is left for the paginator.
pub fn take_records(
    body: &mut Value,
    selector: Option<&str>,
) -> Result<Vec<Value>, NothingSelected> {
    let selected = match selector {
        None => match detect(body) {
            Some(path) => take_path(body, &path),
            None => body.take(),
        },
        Some(path) if matches!(path.trim(), "$" | "") => body.take(),
        Some(path) => match simple_keys(path) {
            Some(keys) if json_path::find(body, path).is_some() => take_path(body, &keys),
            // Filters, wildcards and the like: copy what they select.
            _ => match json_path::find(body, path) {
                Some(v) => v.clone(),
                None => {
                    return Err(NothingSelected {
                        selector: path.to_string(),
                        keys: top_level_keys(body),
                    });
                }
            },
        },
    };
    Ok(match selected {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

/// The keys of a plain dotted path (`data.items`, `$.payload.items`), if it is one.
fn simple_keys(path: &str) -> Option<Vec<String>> {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    let keys: Vec<String> = path.split('.').map(str::to_string).collect();
    let plain = |k: &String| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    };
    keys.iter().all(plain).then_some(keys)
}

fn top_level_keys(body: &Value) -> String {
    match body {
        Value::Object(map) if !map.is_empty() => map.keys().cloned().collect::<Vec<_>>().join(", "),
        Value::Object(_) => "(an empty object)".into(),
        Value::Array(_) => "(none: the body is a list; use `$` or omit data_selector)".into(),
        _ => "(none: the body is not an object)".into(),
    }
}

/// dlt's `find_response_page_data`: the path of the records list, looking two levels deep and
/// preferring record-like keys; `None` means the body itself.
fn detect(body: &Value) -> Option<Vec<String>> {
    let Value::Object(_) = body else {
        return None;
    };
    let mut lists: Vec<Vec<String>> = Vec::new();
    collect_lists(body, &mut Vec::new(), &mut lists);
    let preferred = lists.iter().position(|path| {
        let last = path.last().map(String::as_str).unwrap_or_default();
        RECORD_KEYS.contains(&last) && !NON_RECORD_KEYS.contains(&last)
    });
    let index = preferred.or(if lists.is_empty() { None } else { Some(0) })?;
    Some(lists.swap_remove(index))
}

fn collect_lists(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if path.len() > 2 {
        return;
    }
    if let Value::Object(map) = value {
        for (k, v) in map {
            path.push(k.clone());
            match v {
                Value::Array(_) => out.push(path.clone()),
                Value::Object(_) => collect_lists(v, path, out),
                _ => {}
            }
            path.pop();
        }
    }
}

fn take_path(value: &mut Value, path: &[String]) -> Value {
    let mut current = value;
    for key in path {
        match current.get_mut(key.as_str()) {
            Some(next) => current = next,
            None => return Value::Null,
        }
    }
    current.take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_level_list_is_the_records() {
        let recs = take_records(&mut json!([{"id": 1}, {"id": 2}]), None).unwrap();
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn record_keys_win_over_earlier_lists() {
        let body = json!({"links": [1], "meta": {"x": 1}, "results": [{"id": 1}]});
        assert_eq!(
            take_records(&mut body.clone(), None).unwrap(),
            vec![json!({"id": 1})]
        );
    }

    #[test]
    fn nested_lists_are_found() {
        let body = json!({"payload": {"items": [{"id": 7}]}});
        assert_eq!(
            take_records(&mut body.clone(), None).unwrap(),
            vec![json!({"id": 7})]
        );
        assert_eq!(
            take_records(&mut body.clone(), Some("$.payload.items")).unwrap(),
            vec![json!({"id": 7})]
        );
    }

    #[test]
    fn object_without_lists_is_one_record() {
        let body = json!({"id": 1, "name": "x"});
        assert_eq!(take_records(&mut body.clone(), None).unwrap(), vec![body]);
    }

    #[test]
    fn selector_mismatch_lists_keys() {
        let err = take_records(&mut json!({"data": [], "meta": {}}), Some("results")).unwrap_err();
        assert_eq!(err.keys, "data, meta");
    }
}
