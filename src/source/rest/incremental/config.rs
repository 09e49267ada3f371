//! `incremental:` of a resource or its endpoint, in dlt's vocabulary, with its own checks.

use serde::Deserialize;
use serde_json::Value;

use crate::source::config_problem::{Problem, is_blank, keys};
use crate::source::json_path;

/// `incremental:` of a resource or its endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncrementalConfig {
    /// JSONPath of the cursor field in each record. Example: `cursor_path: updated_at`
    pub cursor_path: String,
    /// Where the first sync starts. Example: `initial_value: "2024-01-01T00:00:00Z"`
    #[serde(default)]
    pub initial_value: Option<Value>,
    /// Records at or past this value are not loaded. Example: `end_value: "2025-01-01T00:00:00Z"`
    #[serde(default)]
    pub end_value: Option<Value>,
    /// `max` (newer is larger, the default) or `min`. Example: `last_value_func: max`
    #[serde(default)]
    pub last_value_func: LastValueFunc,
    /// Query parameter that gets the start value. Example: `start_param: updated_after`
    #[serde(default)]
    pub start_param: Option<String>,
    /// Query parameter that gets the end value. Example: `end_param: updated_before`
    #[serde(default)]
    pub end_param: Option<String>,
    /// Whether records exactly at the start value load: `closed` (the default; those the last
    /// sync loaded are recognised and skipped) or `open` (none do). Example: `range_start: open`
    #[serde(default = "RangeBound::closed")]
    pub range_start: RangeBound,
    /// Whether records exactly at `end_value` load: `open` (the default: they do not) or
    /// `closed`. Example: `range_end: closed`
    #[serde(default = "RangeBound::open")]
    pub range_end: RangeBound,
    /// What a record without a cursor value (no field, or null) does: `raise` (the default:
    /// the sync fails), `include` (it loads) or `exclude` (it is dropped).
    /// Example: `on_cursor_value_missing: include`
    #[serde(default)]
    pub on_cursor_value_missing: OnCursorValueMissing,
    /// How the API orders records by the cursor: `asc` or `desc`. Pagination then stops at the
    /// first record past the range (after `end_value` for `asc`, before the start for `desc`),
    /// and pages are fetched one at a time. Example: `row_order: asc`
    #[serde(default)]
    pub row_order: Option<RowOrder>,
    /// Re-read this much before the saved cursor on each sync, for records that arrive late:
    /// seconds for a date-time cursor, days for a date, units for a number. Records at the
    /// start are then loaded again, so give the resource a primary key and `merge`. Ignored
    /// with `end_value`, as dlt does. Example: `lag: 3600`
    #[serde(default)]
    pub lag: Option<f64>,
}

/// The order the API returns records in, by the cursor (dlt's `row_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// Whether a range's bound is part of it (dlt's `range_start` / `range_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RangeBound {
    /// Records at the bound are in the range.
    Closed,
    /// Records at the bound are not.
    Open,
}

impl RangeBound {
    /// `range_start`'s default.
    pub fn closed() -> Self {
        Self::Closed
    }

    /// `range_end`'s default.
    pub fn open() -> Self {
        Self::Open
    }
}

/// What a record without a cursor value does (dlt's `on_cursor_value_missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnCursorValueMissing {
    /// The sync fails, naming the cursor path.
    #[default]
    Raise,
    /// The record loads; it does not move the cursor.
    Include,
    /// The record is dropped.
    Exclude,
}

impl IncrementalConfig {
    /// Cursor `cursor_path` from `initial_value`, every other setting dlt's default.
    pub fn on(cursor_path: &str, initial_value: Option<Value>) -> Self {
        Self {
            cursor_path: cursor_path.to_string(),
            initial_value,
            end_value: None,
            last_value_func: LastValueFunc::default(),
            start_param: None,
            end_param: None,
            range_start: RangeBound::closed(),
            range_end: RangeBound::open(),
            on_cursor_value_missing: OnCursorValueMissing::default(),
            row_order: None,
            lag: None,
        }
    }

    /// Its problems, at paths under the `incremental:` block: a cursor path that is empty or
    /// not JSONPath (else every sync would fail on its first page), an empty query parameter.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if is_blank(&self.cursor_path) {
            out.push(
                Problem::at(&["cursor_path"], "is empty")
                    .hint("name the record field that grows, e.g. `cursor_path: updated_at`"),
            );
        } else if let Some(p) = json_path::problem(&self.cursor_path) {
            out.push(p.under(&keys(&["cursor_path"])));
        }
        if self.lag.is_some_and(|lag| !lag.is_finite() || lag < 0.0) {
            out.push(
                Problem::at(&["lag"], "is not a length of time").hint(
                    "give seconds (date-time cursor), days (date) or units, e.g. `lag: 3600`",
                ),
            );
        }
        for (name, param) in [
            ("start_param", &self.start_param),
            ("end_param", &self.end_param),
        ] {
            if param.as_deref().is_some_and(is_blank) {
                out.push(
                    Problem::at(&[name], "is empty")
                        .hint("name the query parameter, or leave the key out"),
                );
            }
        }
        out
    }
}

/// Which direction is "newer".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LastValueFunc {
    /// Larger values are newer.
    #[default]
    Max,
    /// Smaller values are newer.
    Min,
}
