//! JSONPath lookups in response bodies (`data_selector`, `total_path`, `cursor_path`, ...).
//! dlt accepts both `$.data.items` and the bare `data.items`; so do we.

use jsonpath_rust::JsonPath;
use serde_json::Value;

use super::config_problem::Problem;

/// Why a JSONPath could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` is not a valid JSONPath: {reason}")]
pub struct BadJsonPath {
    /// The path as configured.
    pub path: String,
    /// The parser's explanation.
    pub reason: String,
}

/// Normalises a dlt-style path to a full JSONPath expression.
fn full_path(path: &str) -> String {
    let path = path.trim();
    if path.starts_with('$') {
        path.to_string()
    } else if path.starts_with('[') {
        format!("${path}")
    } else {
        format!("$.{path}")
    }
}

/// Checks that `path` parses, so a bad path is reported before the first request.
pub fn validate(path: &str) -> Result<(), BadJsonPath> {
    Value::Null
        .query(&full_path(path))
        .map(|_| ())
        .map_err(|e| BadJsonPath {
            path: path.to_string(),
            reason: e.to_string(),
        })
}

/// A configured `path` that does not parse, as a problem at the field it is written in.
pub fn problem(path: &str) -> Option<Problem> {
    validate(path)
        .err()
        .map(|e| Problem::at(&[], e.to_string()))
}

/// The first value `path` selects in `body`, if any (null counts as absent).
pub fn find<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    let found = body.query(&full_path(path)).ok()?;
    found.into_iter().find(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_and_dollar_paths_agree() {
        let body = json!({"payload": {"items": [1, 2]}, "meta": {"next": null}});
        assert_eq!(find(&body, "payload.items"), Some(&json!([1, 2])));
        assert_eq!(find(&body, "$.payload.items"), Some(&json!([1, 2])));
        assert_eq!(find(&body, "meta.next"), None);
        assert_eq!(find(&body, "missing"), None);
    }

    #[test]
    fn invalid_paths_are_reported() {
        assert!(validate("data[").is_err());
        assert!(validate("data.items").is_ok());
    }
}
