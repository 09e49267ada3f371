//! Picks the records out of a response body: by the configured `data_selector`, or by dlt's
//! detection (a top-level list, else the least nested list, preferring record-like keys).
//! Records are normally located as byte ranges of the body, left unparsed for the normaliser
//! to read in one pass; only the rest of the body (totals, cursors) is parsed.

use std::fmt;
use std::ops::Range;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json::{DeepValue, Leaf, slice_reader};
use crate::source::json_path;

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

/// Why records could not be located in a body.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// The body is not JSON.
    #[error(transparent)]
    NotJson(#[from] serde_json::Error),
    /// The configured selector matched nothing.
    #[error(transparent)]
    NothingSelected(#[from] NothingSelected),
}

/// Records located in a body without parsing them.
#[derive(Debug)]
pub struct Located {
    /// The body without the records (metadata such as cursors and totals), for the paginator.
    pub rest: Value,
    /// Where each record is in the body.
    pub spans: Vec<Range<usize>>,
    /// The keys leading to the records (empty: the body is the list).
    pub path: Vec<String>,
}

/// Finds the records of `body` as `take_records` would, without parsing them. `Ok(None)`
/// when `selector` is a JSONPath that needs the parsed body (filters, wildcards): use
/// `take_records` then.
pub fn locate_records(body: &[u8], selector: Option<&str>) -> Result<Option<Located>, LocateError> {
    let path = match selector {
        None => {
            // Detection looks at keys and at where lists are, never inside them.
            let shape = Shape { depth: 0 }.deserialize(&mut slice_reader(body))?;
            detect(&shape).unwrap_or_default()
        }
        Some(path) if matches!(path.trim(), "$" | "") => Vec::new(),
        Some(path) => match simple_keys(path) {
            Some(keys) => keys,
            None => return Ok(None),
        },
    };
    let (rest, selected) = if path.is_empty() {
        (
            Value::Null,
            Some(serde_json::from_slice::<&RawValue>(body)?),
        )
    } else {
        let mut de = slice_reader(body);
        let found = Envelope { path: &path }.deserialize(&mut de)?;
        de.end()?;
        found
    };
    let Some(selected) = selected else {
        return Err(NothingSelected {
            selector: selector.unwrap_or_default().to_string(),
            keys: top_level_keys(&rest),
        }
        .into());
    };
    let offset = |raw: &RawValue| {
        let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
        start..start + raw.get().len()
    };
    let text = selected.get();
    let spans = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(text)?
            .into_iter()
            .map(offset)
            .collect(),
        Some(b'n') => Vec::new(),
        _ => vec![offset(selected)],
    };
    Ok(Some(Located { rest, spans, path }))
}

/// Parses a body with every list left empty and objects only as deep as [`detect`] looks:
/// enough for it, and cheap however deep the body nests.
#[derive(Clone, Copy)]
struct Shape {
    depth: usize,
}

/// Levels of objects [`collect_lists`] looks into.
const SHAPE_DEPTH: usize = 3;

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        if self.depth > SHAPE_DEPTH {
            de.deserialize_ignored_any(IgnoredAny)?;
            return Ok(Value::Null);
        }
        de.deserialize_any(ShapeVisitor(self.depth))
    }
}

/// The visitor of [`Shape`]: scalars and objects as parsed, lists skipped.
struct ShapeVisitor(usize);

impl ShapeVisitor {
    fn scalar<E>(self, leaf: Leaf<'_>) -> Result<Value, E> {
        Ok(leaf.into_value())
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    crate::json::visit_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let inner = Shape { depth: self.0 + 1 };
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses a body except the value at `path`, which is returned as text (with the body, where
/// it was, holding null); `None` if the body has no such path.
struct Envelope<'p> {
    path: &'p [String],
}

impl<'de> DeserializeSeed<'de> for Envelope<'_> {
    type Value = (Value, Option<&'de RawValue>);

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl Envelope<'_> {
    fn scalar<'de, E>(self, leaf: Leaf<'_>) -> Result<(Value, Option<&'de RawValue>), E> {
        Ok((leaf.into_value(), None))
    }
}

impl<'de> Visitor<'de> for Envelope<'_> {
    type Value = (Value, Option<&'de RawValue>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    crate::json::visit_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok((DeepValue { depth: 0 }.visit_seq(seq)?, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        let mut selected = None;
        while let Some(key) = map.next_key::<String>()? {
            let value = match self.path.split_first() {
                Some((first, [])) if *first == key => {
                    selected = Some(map.next_value::<&RawValue>()?);
                    Value::Null
                }
                Some((first, deeper)) if *first == key => {
                    let (value, found) = map.next_value_seed(Envelope { path: deeper })?;
                    selected = found.or(selected);
                    value
                }
                _ => map.next_value_seed(DeepValue { depth: 0 })?,
            };
            out.insert(key, value);
        }
        Ok((Value::Object(out), selected))
    }
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
            // A key holding null is there, with no records (as when located as text).
            Some(keys) if has_path(body, &keys) => take_path(body, &keys),
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
pub fn simple_keys(path: &str) -> Option<Vec<String>> {
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

/// The value at `keys` (see [`simple_keys`]) of the JSON in `text`, read without building the
/// rest of it; `None` if there is none or it is null, as [`json_path::find`] has it.
pub fn value_at(text: &[u8], keys: &[String]) -> Result<Option<Value>, serde_json::Error> {
    let mut de = slice_reader(text);
    let found = Pick { keys }.deserialize(&mut de)?;
    de.end()?;
    Ok(found.filter(|v| !v.is_null()))
}

/// Reads the value at `keys` and skips everything else.
struct Pick<'k> {
    keys: &'k [String],
}

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<Value>, D::Error> {
        de.deserialize_any(self)
    }
}

impl Pick<'_> {
    fn scalar<E>(self, _: Leaf<'_>) -> Result<Option<Value>, E> {
        Ok(None)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    crate::json::visit_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let Some((first, deeper)) = self.keys.split_first() else {
            return Ok(None);
        };
        // A repeated key: the last one counts, as in a parsed object.
        let mut found = None;
        while let Some(is_first) = map.next_key_seed(KeyIs(first))? {
            match (is_first, deeper) {
                (true, []) => found = Some(map.next_value_seed(DeepValue { depth: 0 })?),
                (true, _) => found = map.next_value_seed(Pick { keys: deeper })?,
                (false, _) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Reads an object key as whether it is the given one, without keeping it.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
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

fn has_path(value: &Value, path: &[String]) -> bool {
    path.iter()
        .try_fold(value, |current, key| current.get(key.as_str()))
        .is_some()
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

    /// Records located as text, parsed, with the rest of the body; `None` if nothing matched.
    fn located(body: &Value, selector: Option<&str>) -> Option<(Vec<Value>, Value)> {
        let text = serde_json::to_vec(body).unwrap();
        let Located { rest, spans, .. } = match locate_records(&text, selector) {
            Ok(found) => found.expect("plain paths are located"),
            Err(LocateError::NothingSelected(_)) => return None,
            Err(e) => panic!("{e}"),
        };
        let records = spans
            .into_iter()
            .map(|span| serde_json::from_slice(&text[span]).unwrap())
            .collect();
        Some((records, rest))
    }

    #[test]
    fn located_records_are_the_taken_ones() {
        let bodies = [
            json!([{"id": 1}, {"id": 2}]),
            json!({"links": [1], "meta": {"x": 1}, "results": [{"id": 1}], "total": 3}),
            json!({"payload": {"items": [{"id": 7}], "next": "b"}, "items": [{"id": 8}]}),
            json!({"id": 1, "name": "x"}),
            json!({"data": null, "meta": {}}),
            json!({"data": {"id": 4}}),
            json!({"data": [], "data2": [{"id": 5}]}),
        ];
        for body in bodies {
            for selector in [
                None,
                Some("$"),
                Some("data"),
                Some("$.payload.items"),
                Some("items"),
            ] {
                let mut taken_body = body.clone();
                let taken = take_records(&mut taken_body, selector)
                    .ok()
                    .map(|records| (records, taken_body));
                assert_eq!(located(&body, selector), taken, "{body} {selector:?}");
            }
        }
    }

    #[test]
    fn located_selector_mismatch_lists_keys_and_filters_need_the_tree() {
        let text = br#"{"data": [], "meta": {}}"#;
        match locate_records(text, Some("results")) {
            Err(LocateError::NothingSelected(e)) => assert_eq!(e.keys, "data, meta"),
            other => panic!("expected NothingSelected, got {other:?}"),
        }
        assert!(
            locate_records(text, Some("$.data[?(@.id)]"))
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            locate_records(b"<html>", Some("data")),
            Err(LocateError::NotJson(_))
        ));
        assert!(matches!(
            locate_records(br#"{"data": [1, }"#, None),
            Err(LocateError::NotJson(_))
        ));
    }

    #[test]
    fn a_value_read_from_the_text_is_the_one_the_json_path_finds() {
        let records = [
            json!({"at": "2024-01-02", "id": 1}),
            json!({"id": 1, "meta": {"at": 5, "x": [1, {"at": 0}]}}),
            json!({"meta": {"at": null}}),
            json!({"meta": "flat"}),
            json!([{"at": 1}]),
            json!(7),
        ];
        let paths = ["at", "$.at", "meta.at", "$.meta.x", "missing"];
        for record in &records {
            let text = serde_json::to_vec(record).unwrap();
            for path in paths {
                let keys = simple_keys(path).unwrap();
                let found = value_at(&text, &keys).unwrap();
                assert_eq!(
                    found.as_ref(),
                    json_path::find(record, path),
                    "{path} in {record}"
                );
            }
        }
        // A repeated key: the last one counts, as when parsed.
        let keys = simple_keys("at").unwrap();
        let repeated = value_at(br#"{"at": 1, "z": {"at": 3}, "at": 2}"#, &keys).unwrap();
        assert_eq!(repeated, Some(json!(2)));
        assert!(value_at(br#"{"at": "#, &keys).is_err());
        // Keys with `-`, which dlt's JSONPath reads as plain names (the JSONPath crate does not).
        let dashed = simple_keys("a-b.c_d").unwrap();
        let found = value_at(br#"{"a-b": {"c_d": true}}"#, &dashed).unwrap();
        assert_eq!(found, Some(json!(true)));
    }
}
