//! Incremental loading, dlt's way: the cursor field of each record (`cursor_path`) is compared
//! with where the last sync stopped; older records are dropped, records exactly at the boundary
//! are dropped if they were loaded before, and the new boundary is handed to the commit.
//! `{incremental.start_value}` (and `last_value`, `initial_value`, `end_value`) can be used in
//! the request, so the API is asked only for newer records.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;
use serde_json::Value;

use super::selector::{simple_keys, value_at};
use crate::hints::CursorState;
use crate::json::compact::to_compact;
use crate::normalize::relational::digest128;
use crate::source::config_problem::{Problem, is_blank, keys};
use crate::source::json_path;
use crate::source::{CursorKind, CursorWindow};

/// `incremental:` of a resource or its endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
}

/// The order the API returns records in, by the cursor (dlt's `row_order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// Whether a range's bound is part of it (dlt's `range_start` / `range_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LastValueFunc {
    /// Larger values are newer.
    #[default]
    Max,
    /// Smaller values are newer.
    Min,
}

/// A `--since`/`--until` bound of another kind than the resource's cursor.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{flag} {bound} cannot be compared with cursor `{cursor_path}`, which holds {cursor_kind} \
     (e.g. {example}): give {flag} as {cursor_kind}"
)]
pub struct WindowMismatch {
    /// `--since` or `--until`.
    pub flag: &'static str,
    /// The bound, as JSON.
    pub bound: String,
    /// The resource's cursor path.
    pub cursor_path: String,
    /// What its values are.
    pub cursor_kind: CursorKind,
    /// A value it holds (the saved or initial one).
    pub example: String,
}

/// A record without a value (or with null) at the cursor path.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "a record has no value at cursor_path `{0}`; fix `incremental.cursor_path` or the data \
     selector, or say what such records do with `on_cursor_value_missing: include` or `exclude`"
)]
pub struct MissingCursor(pub String);

/// Why a page's records could not be filtered.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A record without the cursor field.
    #[error(transparent)]
    MissingCursor(#[from] MissingCursor),
    /// A record's text could not be read (it was located as JSON, so this is a bug).
    #[error("a record could not be read: {0}")]
    Json(#[from] serde_json::Error),
}

/// An incremental run as a checkpoint saves it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct IncrementalPosition {
    /// Where the run started.
    start: Option<Value>,
    /// Where it ends, if it does.
    end: Option<Value>,
    /// Hashes of the records at `start` that the sync before it loaded.
    boundary: Vec<String>,
    /// The newest value seen.
    last: Option<Value>,
    /// Hashes of the records seen at `last`.
    last_hashes: Vec<String>,
    /// Whether it is a `--since`/`--until` range.
    stateless: bool,
}

impl IncrementalPosition {
    /// The same range, rewound to its start: nothing seen yet.
    pub fn rewound(self) -> Self {
        Self {
            last: None,
            last_hashes: Vec::new(),
            ..self
        }
    }
}

/// The incremental state of one resource during one sync.
#[derive(Debug, Clone)]
pub struct Incremental {
    config: IncrementalConfig,
    /// The cursor path as plain keys, when the cursor can be read from a record's text.
    text_keys: Option<Vec<String>>,
    start: Option<Value>,
    boundary: HashSet<String>,
    last: Option<Value>,
    last_hashes: Vec<String>,
    /// A `--since`/`--until` range is loading: the saved state is kept as it is.
    stateless: bool,
    /// With `row_order`, a record past the range was seen: no later page can hold one in it.
    past_range: bool,
}

impl Incremental {
    /// Starts from `saved` (the last committed state) or the configured initial value.
    pub fn new(config: IncrementalConfig, saved: Option<&CursorState>) -> Self {
        let saved =
            saved.filter(|s| s.cursor_path == config.cursor_path && !s.last_value.is_null());
        let start = saved
            .map(|s| s.last_value.clone())
            .or_else(|| config.initial_value.clone());
        let boundary = saved
            .map(|s| s.boundary.iter().cloned().collect())
            .unwrap_or_default();
        Self {
            text_keys: simple_keys(&config.cursor_path),
            config,
            start,
            boundary,
            last: None,
            last_hashes: Vec::new(),
            stateless: false,
            past_range: false,
        }
    }

    /// This run loads `window` instead: from `since` (not the saved cursor) and before `until`.
    /// A range is stateless, as dlt's is: the saved cursor is left exactly as it was, so a
    /// range can neither rewind nor wedge the syncs after it. A bound that cannot compare with
    /// this cursor's values (a date for an integer cursor) is refused.
    pub fn with_window(
        mut self,
        window: &CursorWindow,
        saved: Option<&CursorState>,
    ) -> Result<Self, WindowMismatch> {
        let reference = saved
            .map(|s| &s.last_value)
            .filter(|v| !v.is_null())
            .or(self.config.initial_value.as_ref());
        if let Some(cursor) = reference.and_then(|v| CursorKind::of(v).map(|k| (v, k))) {
            for (flag, bound) in window.bounds() {
                let kind = CursorKind::of(bound);
                if kind.is_some_and(|k| !k.compares_with(cursor.1)) {
                    return Err(WindowMismatch {
                        flag,
                        bound: bound.to_string(),
                        cursor_path: self.config.cursor_path.clone(),
                        cursor_kind: cursor.1,
                        example: cursor.0.to_string(),
                    });
                }
            }
        }
        if let Some(since) = &window.since {
            self.start = Some(since.clone());
            self.boundary.clear();
        }
        if let Some(until) = &window.until {
            self.config.end_value = Some(until.clone());
        }
        self.stateless = true;
        Ok(self)
    }

    /// Where this run stands, for a checkpoint: the range it started with and what it has seen.
    pub fn position(&self) -> IncrementalPosition {
        let mut boundary: Vec<String> = self.boundary.iter().cloned().collect();
        boundary.sort();
        IncrementalPosition {
            start: self.start.clone(),
            end: self.config.end_value.clone(),
            boundary,
            last: self.last.clone(),
            last_hashes: self.last_hashes.clone(),
            stateless: self.stateless,
        }
    }

    /// The run a checkpoint's [`Incremental::position`] describes, going on: the same range,
    /// and the newest value it had seen, so the cursor it saves at the end covers both runs.
    pub fn resumed(mut config: IncrementalConfig, at: IncrementalPosition) -> Self {
        config.end_value = at.end;
        Self {
            text_keys: simple_keys(&config.cursor_path),
            config,
            start: at.start,
            boundary: at.boundary.into_iter().collect(),
            last: at.last,
            last_hashes: at.last_hashes,
            stateless: at.stateless,
            past_range: false,
        }
    }

    /// Whether the API, ordering records by the cursor as `row_order` says, has nothing more in
    /// the range: pagination stops.
    pub fn past_range(&self) -> bool {
        self.past_range
    }

    /// A new pagination starts (a dependent resource's next parent row): its records have not
    /// left the range yet.
    pub fn new_pagination(&mut self) {
        self.past_range = false;
    }

    /// Whether pages may be fetched ahead: not when pagination stops at the range's end.
    pub fn fetches_ahead(&self) -> bool {
        self.config.row_order.is_none()
    }

    /// Where this sync starts: the last committed value, else the initial value.
    pub fn start_value(&self) -> Option<&Value> {
        self.start.as_ref()
    }

    /// The values of `{incremental.*}` placeholders, as (placeholder, value) pairs.
    pub fn placeholders(&self) -> Vec<(String, Value)> {
        let value = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
        vec![
            ("{incremental.start_value}".into(), value(&self.start)),
            ("{incremental.last_value}".into(), value(&self.start)),
            (
                "{incremental.initial_value}".into(),
                value(&self.config.initial_value),
            ),
            (
                "{incremental.end_value}".into(),
                value(&self.config.end_value),
            ),
        ]
    }

    /// Query parameters the config asks for (`start_param`, `end_param`).
    pub fn params(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let (Some(p), Some(v)) = (&self.config.start_param, &self.start) {
            out.push((p.clone(), v.clone()));
        }
        if let (Some(p), Some(v)) = (&self.config.end_param, &self.config.end_value) {
            out.push((p.clone(), v.clone()));
        }
        out
    }

    /// Keeps the records that are new, and moves the boundary along.
    pub fn filter(&mut self, records: Vec<Value>) -> Result<Vec<Value>, FilterError> {
        let path = self.config.cursor_path.clone();
        let cursor = |record: &Value| Ok(json_path::find(record, &path).cloned());
        self.filter_by(records, cursor, |record| Ok(record_hash(record)))
    }

    /// Whether [`Incremental::filter_text`] can read this resource's cursor from the text.
    pub fn reads_text(&self) -> bool {
        self.text_keys.is_some()
    }

    /// [`Incremental::filter`] for records still in their page's text (`spans` of `body`):
    /// only the cursor field of each is read, and a record is parsed only to be recognised at
    /// the boundary. Returns the spans of the records kept.
    pub fn filter_text(
        &mut self,
        body: &[u8],
        spans: Vec<Range<usize>>,
    ) -> Result<Vec<Range<usize>>, FilterError> {
        let keys = self.text_keys.clone().unwrap_or_default();
        let text = |span: &Range<usize>| body.get(span.clone()).unwrap_or_default();
        let cursor = |span: &Range<usize>| value_at(text(span), &keys);
        // The record's compact text is what printing it parsed gives, at any depth.
        let hash = |span: &Range<usize>| {
            to_compact(text(span)).map(|compact| digest128(&[compact.as_bytes()], 12))
        };
        self.filter_by(spans, cursor, hash)
    }

    /// The filter over records of any form: `cursor` reads a record's cursor, `hash` works
    /// out its boundary hash, which is only needed for records at the old or the new boundary.
    fn filter_by<R>(
        &mut self,
        records: Vec<R>,
        cursor: impl Fn(&R) -> Result<Option<Value>, serde_json::Error>,
        hash: impl Fn(&R) -> Result<String, serde_json::Error>,
    ) -> Result<Vec<R>, FilterError> {
        let mut kept = Vec::with_capacity(records.len());
        // Kept records at the newest value so far, hashed once the page is through: on a page
        // sorted by the cursor, that is its last record, not each one in turn.
        let mut at_last = Vec::new();
        for record in records {
            let Some(cursor) = cursor(&record)?.filter(|v| !v.is_null()) else {
                match self.config.on_cursor_value_missing {
                    OnCursorValueMissing::Raise => {
                        return Err(MissingCursor(self.config.cursor_path.clone()).into());
                    }
                    OnCursorValueMissing::Include => kept.push(record),
                    OnCursorValueMissing::Exclude => {}
                }
                continue;
            };
            if let Some(start) = &self.start {
                match (self.newer(&cursor, start), self.config.range_start) {
                    (Some(Ordering::Less), _) => {
                        self.past_range |= self.config.row_order == Some(RowOrder::Desc);
                        continue;
                    }
                    (Some(Ordering::Equal), RangeBound::Open) => continue,
                    (Some(Ordering::Equal), RangeBound::Closed)
                        if self.boundary.contains(&hash(&record)?) =>
                    {
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some(end) = &self.config.end_value {
                let past = match self.config.range_end {
                    RangeBound::Open => Ordering::Less,
                    RangeBound::Closed => Ordering::Equal,
                };
                if self.newer(&cursor, end).is_some_and(|o| o > past) {
                    self.past_range |= self.config.row_order == Some(RowOrder::Asc);
                    continue;
                }
            }
            match self.last.as_ref().map(|last| self.newer(&cursor, last)) {
                None | Some(Some(Ordering::Greater)) => {
                    self.last = Some(cursor);
                    self.last_hashes.clear();
                    at_last.clear();
                    at_last.push(kept.len());
                }
                Some(Some(Ordering::Equal)) => at_last.push(kept.len()),
                _ => {}
            }
            kept.push(record);
        }
        for i in at_last {
            self.last_hashes.push(hash(&kept[i])?);
        }
        Ok(kept)
    }

    /// Compares `a` with `b` in the "newer" direction: `Greater` means `a` is newer.
    fn newer(&self, a: &Value, b: &Value) -> Option<Ordering> {
        let ord = compare(a, b)?;
        Some(match self.config.last_value_func {
            LastValueFunc::Max => ord,
            LastValueFunc::Min => ord.reverse(),
        })
    }

    /// The state to commit with this sync's rows: the newest value seen, or the old one;
    /// `None` (keep the saved state) for a range.
    pub fn state(&self, resource: &str) -> Option<CursorState> {
        match self.stateless {
            true => None,
            false => self.new_state(resource),
        }
    }

    /// The state this run's records alone would save.
    fn new_state(&self, resource: &str) -> Option<CursorState> {
        let (last_value, boundary) = match (&self.last, &self.start) {
            (Some(last), Some(start)) if self.newer(last, start) == Some(Ordering::Equal) => {
                // Still at the old boundary: remember both old and new records there.
                let mut b: Vec<String> = self.boundary.iter().cloned().collect();
                b.extend(self.last_hashes.iter().cloned());
                b.sort();
                b.dedup();
                (last.clone(), b)
            }
            (Some(last), _) => (last.clone(), self.last_hashes.clone()),
            (None, Some(start)) => (start.clone(), self.boundary.iter().cloned().collect()),
            (None, None) => return None,
        };
        Some(CursorState {
            resource: resource.to_string(),
            cursor_path: self.config.cursor_path.clone(),
            last_value,
            boundary,
            native: None,
        })
    }
}

/// Orders two cursor values: numbers numerically, strings as text (ISO dates sort so).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.parse::<f64>().ok()?),
        (Value::String(x), Value::Number(y)) => x.parse::<f64>().ok()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

/// A short digest of a record, to recognise it at the boundary.
fn record_hash(record: &Value) -> String {
    digest128(&[record.to_string().as_bytes()], 12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> IncrementalConfig {
        IncrementalConfig {
            cursor_path: "updated_at".into(),
            initial_value: Some(json!("2024-01-02")),
            end_value: None,
            last_value_func: LastValueFunc::Max,
            start_param: None,
            end_param: None,
            range_start: RangeBound::Closed,
            range_end: RangeBound::Open,
            on_cursor_value_missing: OnCursorValueMissing::Raise,
            row_order: None,
        }
    }

    fn rec(id: u32, at: &str) -> Value {
        json!({"id": id, "updated_at": at})
    }

    /// The ids `filter` keeps of `records` under `config`, the first sync.
    fn kept_ids(config: IncrementalConfig, records: Vec<Value>) -> Vec<u64> {
        let mut inc = Incremental::new(config, None);
        let kept = inc.filter(records).unwrap();
        kept.iter().filter_map(|r| r["id"].as_u64()).collect()
    }

    #[test]
    fn range_start_and_range_end_say_whether_records_at_a_bound_load() {
        let records = || {
            vec![
                rec(1, "2024-01-01"),
                rec(2, "2024-01-02"),
                rec(3, "2024-01-03"),
                rec(4, "2024-01-04"),
            ]
        };
        let ranged = |range_start, range_end| IncrementalConfig {
            end_value: Some(json!("2024-01-04")),
            range_start,
            range_end,
            ..config()
        };
        assert_eq!(
            kept_ids(ranged(RangeBound::Closed, RangeBound::Open), records()),
            [2, 3]
        );
        assert_eq!(
            kept_ids(ranged(RangeBound::Open, RangeBound::Open), records()),
            [3]
        );
        assert_eq!(
            kept_ids(ranged(RangeBound::Closed, RangeBound::Closed), records()),
            [2, 3, 4]
        );
        assert_eq!(
            kept_ids(ranged(RangeBound::Open, RangeBound::Closed), records()),
            [3, 4]
        );
    }

    #[test]
    fn row_order_says_when_no_later_page_can_hold_a_record_in_range() {
        let ordered = |row_order| IncrementalConfig {
            end_value: Some(json!("2024-01-04")),
            row_order: Some(row_order),
            ..config()
        };
        let mut asc = Incremental::new(ordered(RowOrder::Asc), None);
        asc.filter(vec![rec(1, "2024-01-01"), rec(2, "2024-01-03")])
            .unwrap();
        assert!(!asc.past_range(), "records before the start come first");
        asc.filter(vec![rec(3, "2024-01-03"), rec(4, "2024-01-05")])
            .unwrap();
        assert!(asc.past_range());
        let mut desc = Incremental::new(ordered(RowOrder::Desc), None);
        desc.filter(vec![rec(4, "2024-01-05"), rec(3, "2024-01-03")])
            .unwrap();
        assert!(!desc.past_range(), "records after the end come first");
        desc.filter(vec![rec(1, "2024-01-01")]).unwrap();
        assert!(desc.past_range());
        // Without an order, nothing is concluded, and pages may be fetched ahead.
        let mut unordered = Incremental::new(config(), None);
        unordered.filter(vec![rec(1, "2024-01-01")]).unwrap();
        assert!(!unordered.past_range() && unordered.fetches_ahead());
        desc.new_pagination();
        assert!(
            !desc.past_range(),
            "a dependent resource's next parent row starts afresh"
        );
    }

    #[test]
    fn records_without_a_cursor_value_raise_load_or_drop_as_configured() {
        let records = || {
            vec![
                rec(1, "2024-01-03"),
                json!({"id": 2}),
                json!({"id": 3, "updated_at": null}),
            ]
        };
        let missing = |on_cursor_value_missing| IncrementalConfig {
            on_cursor_value_missing,
            ..config()
        };
        let mut raising = Incremental::new(missing(OnCursorValueMissing::Raise), None);
        let err = raising.filter(records()).unwrap_err();
        assert!(err.to_string().contains("on_cursor_value_missing"), "{err}");
        assert_eq!(
            kept_ids(missing(OnCursorValueMissing::Include), records()),
            [1, 2, 3]
        );
        assert_eq!(
            kept_ids(missing(OnCursorValueMissing::Exclude), records()),
            [1]
        );
        // An included record has no say in the cursor.
        let mut including = Incremental::new(missing(OnCursorValueMissing::Include), None);
        including.filter(records()).unwrap();
        assert_eq!(
            including.state("r").map(|s| s.last_value),
            Some(json!("2024-01-03"))
        );
    }

    #[test]
    fn older_records_are_dropped_and_the_boundary_moves() {
        let mut inc = Incremental::new(config(), None);
        let kept = inc
            .filter(vec![
                rec(1, "2024-01-01"),
                rec(2, "2024-01-02"),
                rec(3, "2024-01-03"),
                rec(4, "2024-01-03"),
            ])
            .unwrap();
        assert_eq!(kept.len(), 3);
        let state = inc.state("r").unwrap();
        assert_eq!(state.last_value, json!("2024-01-03"));
        assert_eq!(state.boundary.len(), 2);

        // The next sync gets the boundary records again, plus a new one at the boundary.
        let mut next = Incremental::new(config(), Some(&state));
        assert_eq!(next.placeholders()[0].1, json!("2024-01-03"));
        let kept = next
            .filter(vec![
                rec(3, "2024-01-03"),
                rec(4, "2024-01-03"),
                rec(5, "2024-01-03"),
            ])
            .unwrap();
        assert_eq!(kept, vec![rec(5, "2024-01-03")]);
        assert_eq!(next.state("r").unwrap().boundary.len(), 3);
    }

    #[test]
    fn end_value_and_min_direction() {
        let mut cfg = config();
        cfg.end_value = Some(json!("2024-01-03"));
        let mut inc = Incremental::new(cfg, None);
        assert_eq!(
            inc.filter(vec![rec(1, "2024-01-02"), rec(2, "2024-01-03")])
                .unwrap()
                .len(),
            1
        );

        let mut cfg = config();
        cfg.last_value_func = LastValueFunc::Min;
        let mut inc = Incremental::new(cfg, None);
        let kept = inc
            .filter(vec![rec(1, "2024-01-01"), rec(2, "2024-01-05")])
            .unwrap();
        assert_eq!(kept, vec![rec(1, "2024-01-01")]);
        assert_eq!(inc.state("r").unwrap().last_value, json!("2024-01-01"));
    }

    #[test]
    fn a_record_without_the_cursor_is_an_error() {
        let mut inc = Incremental::new(config(), None);
        assert!(inc.filter(vec![json!({"id": 1})]).is_err());
        let (body, spans) = page(&[json!({"id": 1, "updated_at": null})]);
        assert!(inc.filter_text(&body, spans).is_err());
    }

    /// `records` as a page body (a list, spaced as an API might) and their spans in it.
    fn page(records: &[Value]) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut body = b"[ ".to_vec();
        let mut spans = Vec::new();
        for record in records {
            let start = body.len();
            body.extend(serde_json::to_vec(record).unwrap());
            spans.push(start..body.len());
            body.extend(b" ,\n ");
        }
        (body, spans)
    }

    #[test]
    fn records_read_as_text_are_filtered_as_parsed_ones_are() {
        let mut end = config();
        end.end_value = Some(json!("2024-01-04"));
        let mut min = config();
        min.last_value_func = LastValueFunc::Min;
        let mut nested = config();
        nested.cursor_path = "$.meta.at".into();
        let flat = |id, at: &str| json!({"id": id, "updated_at": at, "meta": {"at": at}});
        let pages = [
            vec![
                flat(1, "2024-01-01"),
                flat(2, "2024-01-03"),
                flat(3, "2024-01-03"),
            ],
            vec![
                flat(3, "2024-01-03"),
                flat(4, "2024-01-04"),
                flat(5, "2024-01-02"),
            ],
        ];
        for cfg in [config(), end, min, nested] {
            let (mut parsed, mut read) = (Incremental::new(cfg.clone(), None), None);
            for records in &pages {
                let kept = parsed.filter(records.clone()).unwrap();
                let text = read.get_or_insert_with(|| Incremental::new(cfg.clone(), None));
                let (body, spans) = page(records);
                let spans = text.filter_text(&body, spans).unwrap();
                let kept_text: Vec<Value> = spans
                    .iter()
                    .map(|s| serde_json::from_slice(&body[s.clone()]).unwrap())
                    .collect();
                assert_eq!(kept, kept_text, "{cfg:?}");
            }
            let (parsed, read) = (parsed.state("r"), read.unwrap().state("r"));
            assert_eq!(
                parsed.as_ref().map(|s| &s.boundary),
                read.as_ref().map(|s| &s.boundary)
            );
            assert_eq!(parsed.map(|s| s.last_value), read.map(|s| s.last_value));
        }
        // The boundary is carried over from a state saved by either path.
        let mut first = Incremental::new(config(), None);
        let (body, spans) = page(&pages[0]);
        first.filter_text(&body, spans).unwrap();
        let saved = first.state("r").unwrap();
        assert_eq!(saved.boundary.len(), 2);
        let mut next = Incremental::new(config(), Some(&saved));
        let (body, spans) = page(&pages[1]);
        let kept = next.filter_text(&body, spans.clone()).unwrap();
        assert_eq!(kept, spans[1..2]);
        let indexed = IncrementalConfig {
            cursor_path: "items[0].at".into(),
            ..config()
        };
        assert!(!Incremental::new(indexed, None).reads_text());
    }
}
