//! What a resource's records say about loading them: the primary key, and the incremental
//! cursor a date-time query parameter and a record field make together.

use super::document::{Description, Node};
use super::json_schema::{self, is};
use super::model::Param;
use crate::normalize::naming::normalize_identifier;

/// Words around a date parameter's subject: `updated_since` is about `updated`.
const SINCE_WORDS: [&str; 12] = [
    "since",
    "after",
    "from",
    "min",
    "gt",
    "gte",
    "start",
    "begin",
    "starting",
    "newer",
    "than",
    "modified_since",
];
/// Words a date field's name ends with: `updated_at` is about `updated`.
const AT_WORDS: [&str; 5] = ["at", "on", "time", "date", "timestamp"];
/// Subjects a bare `since` means, most likely first.
const CHANGE_WORDS: [&str; 4] = ["updated", "modified", "last_modified", "changed"];

/// A choice and why it was made.
#[derive(Debug, Clone)]
pub struct Choice<T> {
    /// What was chosen.
    pub value: T,
    /// Why, for the written comment.
    pub why: String,
    /// Whether the description leaves no doubt.
    pub sure: bool,
}

/// An incremental cursor: the query parameter that takes it and the record field it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The record field.
    pub field: String,
    /// The query parameter.
    pub param: String,
}

/// The primary key of records of schema `item` in resource `resource`.
pub fn primary_key(
    desc: &Description,
    item: Option<Node<'_>>,
    resource: &str,
) -> Option<Choice<String>> {
    let item = item?;
    let props = json_schema::properties(desc, item);
    if props.iter().any(|(n, _)| *n == "id") {
        return Some(Choice {
            value: "id".into(),
            why: "the records' `id`".into(),
            sure: true,
        });
    }
    if let Some((name, _)) = props
        .iter()
        .find(|(_, node)| json_schema::format(desc, *node) == Some("uuid"))
    {
        return Some(Choice {
            value: (*name).to_string(),
            why: format!("`{name}` is the records' uuid-format field"),
            sure: true,
        });
    }
    let singular = resource.trim_end_matches('s');
    let own_id = [format!("{singular}_id"), "uuid".into(), "key".into()];
    props
        .iter()
        .find(|(n, _)| own_id.contains(&normalize_identifier(n)))
        .map(|(name, _)| Choice {
            value: (*name).to_string(),
            why: format!("`{name}` looks like the records' identifier (unconfirmed)"),
            sure: false,
        })
}

/// A query parameter taking a date (or date-time) paired with the record field it filters on:
/// `updated_since` with `updated_at`.
pub fn cursor(
    desc: &Description,
    params: &[&Param<'_>],
    item: Option<Node<'_>>,
) -> Option<Choice<Cursor>> {
    let item = item?;
    let fields: Vec<(String, &str)> = json_schema::properties(desc, item)
        .into_iter()
        .filter(|(_, node)| is_time(desc, *node))
        .map(|(name, _)| (subject(name, &AT_WORDS), name))
        .collect();
    for p in params {
        // A date-time format, or a string its description calls a timestamp (GitHub's `since`).
        let dated = p.schema.is_some_and(|s| {
            is_time(desc, s) || (is(desc, s, "string") && described_as_time(&p.description))
        });
        let stem = subject(&p.name, &SINCE_WORDS);
        let words = normalize_identifier(&p.name);
        let sinceish = words.split('_').any(|w| SINCE_WORDS.contains(&w));
        if !(dated && sinceish) {
            continue;
        }
        if let Some((_, field)) = fields.iter().find(|(s, _)| !stem.is_empty() && *s == stem) {
            return Some(Choice {
                value: Cursor {
                    field: (*field).to_string(),
                    param: p.name.clone(),
                },
                why: format!(
                    "query `{}` takes a date-time, the records' `{field}` matches it",
                    p.name
                ),
                sure: true,
            });
        }
        if stem.is_empty() {
            let field = CHANGE_WORDS
                .iter()
                .find_map(|w| fields.iter().find(|(s, _)| s == w));
            if let Some((_, field)) = field {
                return Some(Choice {
                    value: Cursor {
                        field: (*field).to_string(),
                        param: p.name.clone(),
                    },
                    why: format!(
                        "query `{}` takes a date-time and names no field: `{field}` assumed",
                        p.name
                    ),
                    sure: false,
                });
            }
        }
    }
    None
}

/// Whether a parameter's description says it takes a timestamp.
fn described_as_time(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["iso 8601", "iso8601", "timestamp", "date-time", "datetime"]
        .iter()
        .any(|w| text.contains(w))
}

/// Whether a schema holds a date or a date-time.
fn is_time(desc: &Description, schema: Node<'_>) -> bool {
    is(desc, schema, "string")
        && matches!(
            json_schema::format(desc, schema),
            Some("date-time" | "date")
        )
}

/// A name's words without the ones in `drop`: `updated_since` → `updated`.
fn subject(name: &str, drop: &[&str]) -> String {
    normalize_identifier(name)
        .split('_')
        .filter(|w| !w.is_empty() && !drop.contains(w))
        .collect::<Vec<_>>()
        .join("_")
}
