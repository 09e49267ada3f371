//! The deterministic root ids of dlt's merge strategies: upsert and insert-only hash the
//! primary key's values (`key_hash`), scd2 hashes the whole record (`row_hash`), both as dlt's
//! `get_row_hash` does: `digest128b` of the values serialised as `orjson` writes them with
//! sorted keys. The same record gets the same `_dlt_id` under Dango as under dlt, so a table
//! dlt loaded goes on under Dango without every record looking changed.

use serde_json::Value;

use super::RowId;
use crate::json::typed::{self, Tag};

/// `_dlt_id` of a scd2 record: the hash of every top-level field but dlt's own (`_dlt*`),
/// nested objects and lists included, so a change anywhere in the record is a new version.
pub(super) fn row_hash(record: &Value, typed: bool) -> RowId {
    let mut text = Vec::with_capacity(256);
    match record {
        Value::Object(fields) => {
            let mut kept: Vec<(&String, &Value)> = fields
                .iter()
                .filter(|(k, _)| !k.starts_with("_dlt"))
                .collect();
            kept.sort_by(|a, b| a.0.cmp(b.0));
            write_object(&mut text, kept, typed);
        }
        other => write(&mut text, other, typed),
    }
    RowId::digest(&text)
}

/// `_dlt_id` of an upsert or insert-only record: the hash of `{column: value}` of its primary
/// key's (normalised) columns, found as the flattened row would hold them; `name` normalises a
/// key. A missing column counts as null (the record is refused for it elsewhere).
pub(super) fn key_hash(
    record: &Value,
    key: &[String],
    typed: bool,
    mut name: impl FnMut(&str) -> String,
) -> RowId {
    let mut sorted: Vec<&String> = key.iter().collect();
    sorted.sort();
    let values: Vec<(&String, &Value)> = sorted
        .into_iter()
        .map(|column| {
            (
                column,
                flat_value(record, column, &mut name).unwrap_or(&Value::Null),
            )
        })
        .collect();
    let mut text = Vec::with_capacity(32);
    write_object(&mut text, values, typed);
    RowId::digest(&text)
}

/// The value the flattened row holds in `column` (`a__b` for `{"a": {"b": ...}}`).
fn flat_value<'v>(
    record: &'v Value,
    column: &str,
    name: &mut impl FnMut(&str) -> String,
) -> Option<&'v Value> {
    let Value::Object(fields) = record else {
        return None;
    };
    for (key, value) in fields {
        let normalised = name(key);
        if normalised == column && !value.is_object() {
            return Some(value);
        }
        if let Some(rest) = column
            .strip_prefix(normalised.as_str())
            .and_then(|r| r.strip_prefix("__"))
            && let found @ Some(_) = flat_value(value, rest, name)
        {
            return found;
        }
    }
    None
}

fn write_object(out: &mut Vec<u8>, fields: Vec<(&String, &Value)>, typed: bool) {
    out.push(b'{');
    for (i, (key, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        write(out, value, typed);
    }
    out.push(b'}');
}

/// `value` as `orjson.dumps(..., option=OPT_SORT_KEYS)` writes it; tagged strings of a Python
/// source as the Python values they stand for.
fn write(out: &mut Vec<u8>, value: &Value, typed: bool) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => match typed.then(|| typed::split(s)).flatten() {
            // A Wei is a Python int; the other tagged types serialise as their text.
            Some((Tag::Wei, digits)) => out.extend_from_slice(digits.as_bytes()),
            Some((_, text)) => write_string(out, text),
            None => write_string(out, s),
        },
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, typed);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            let mut sorted: Vec<(&String, &Value)> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            write_object(out, sorted, typed);
        }
    }
}

/// Integers as digits; floats as the shortest text that reads back, with the exponent's sign
/// (`1e+20`), as orjson writes them.
fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly what orjson does: quotes, backslashes, control characters.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(k: &str) -> String {
        crate::normalize::naming::normalize_identifier(k)
    }

    /// Values printed by dlt 1.31 itself (`pipeline.run` into DuckDB) for these records.
    #[test]
    fn ids_match_dlts() {
        for (id, hash) in [
            (1, "z5jIxXIbUnmbKw"),
            (2, "M6/KlLzJ2FeV/w"),
            (5, "k2m2W4pvOwjKag"),
        ] {
            let record = json!({"id": id, "name": "x", "tags": ["a"]});
            let got = key_hash(&record, &["id".to_string()], false, norm);
            assert_eq!(got.as_str(), hash);
        }
        let record = json!({"id": 1, "name": "a", "tags": ["x", "y"], "deleted": false,
            "f": 1.5, "u": "é\n", "o": {"k": [1, 2], "j": null}});
        assert_eq!(row_hash(&record, false).as_str(), "Of4ZvBRuOJ5SFA");
        let record = json!({"id": 2, "name": "b", "tags": [], "deleted": true});
        assert_eq!(row_hash(&record, false).as_str(), "elulNTx/5fnilQ");
        // dlt's own fields do not count.
        let record = json!({"id": 2, "name": "b", "tags": [], "deleted": true, "_dlt_x": 1});
        assert_eq!(row_hash(&record, false).as_str(), "elulNTx/5fnilQ");
    }

    #[test]
    fn floats_and_strings_are_written_as_orjson_writes_them() {
        let mut out = Vec::new();
        let v = json!([
            1e20,
            1.5,
            100.0,
            1e-7,
            0.1,
            1e16,
            "é\u{7f}\u{1}\u{2028}",
            9223372036854775808u64
        ]);
        write(&mut out, &v, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[1e+20,1.5,100.0,1e-7,0.1,1e+16,\"é\u{7f}\\u0001\u{2028}\",9223372036854775808]"
        );
    }

    #[test]
    fn a_nested_key_is_found_where_the_flattened_row_has_it() {
        let record = json!({"Customer": {"ID": 7}, "id": 1});
        let got = flat_value(&record, "customer__id", &mut norm);
        assert_eq!(got, Some(&json!(7)));
        assert_eq!(flat_value(&record, "missing", &mut norm), None);
    }
}
