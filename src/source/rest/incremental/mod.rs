//! Incremental loading, dlt's way: the cursor field of each record (`cursor_path`) is compared
//! with where the last sync stopped; older records are dropped, records exactly at the boundary
//! are dropped if they were loaded before, and the new boundary is handed to the commit.
//! `{incremental.start_value}` (and `last_value`, `initial_value`, `end_value`) can be used in
//! the request, so the API is asked only for newer records. The `incremental:` block a user
//! writes is in `config.rs`.

mod config;
mod lag;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;
use serde_json::Value;

pub use config::{IncrementalConfig, LastValueFunc, OnCursorValueMissing, RangeBound, RowOrder};

use super::selector::{simple_keys, value_at};
use crate::hints::CursorState;
use crate::json::compact::to_compact;
use crate::normalize::relational::digest128;
use crate::source::json_path;
use crate::source::{CursorKind, CursorWindow, Span};

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
    /// The ranges backfills loaded, carried into the state it saves.
    #[serde(default)]
    backfilled: Vec<Span>,
    /// With `lag`, the saved value the state never goes back behind.
    #[serde(default)]
    floor: Option<Value>,
}

impl IncrementalPosition {
    /// The newest cursor value the run has loaded, and the hashes of its records at it.
    pub fn newest(&self) -> Option<(&Value, &[String])> {
        self.last.as_ref().map(|v| (v, self.last_hashes.as_slice()))
    }

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
    /// The ranges `--window` backfills loaded, kept in the state it saves.
    backfilled: Vec<Span>,
    /// With `lag`, the saved value: the run starts before it, and the state it saves never
    /// goes back behind it.
    floor: Option<Value>,
}

impl Incremental {
    /// Starts from `saved` (the last committed state) or the configured initial value.
    pub fn new(config: IncrementalConfig, saved: Option<&CursorState>) -> Self {
        let saved_state = saved;
        let saved =
            saved.filter(|s| s.cursor_path == config.cursor_path && !s.last_value.is_null());
        // dlt turns lag off when the range has an end.
        let lag = config.lag.filter(|_| config.end_value.is_none());
        let lagged = match (lag, saved) {
            (Some(lag), Some(s)) => lag::lagged(
                lag,
                &s.last_value,
                config.initial_value.as_ref(),
                config.last_value_func,
                compare,
            ),
            _ => None,
        };
        let floor = lagged.as_ref().and(saved.map(|s| s.last_value.clone()));
        let start = lagged
            .or_else(|| saved.map(|s| s.last_value.clone()))
            .or_else(|| config.initial_value.clone());
        // Re-read records are not told apart by hash, as in dlt: the destination's key does.
        let boundary = match lag {
            Some(_) => HashSet::new(),
            None => saved
                .map(|s| s.boundary.iter().cloned().collect())
                .unwrap_or_default(),
        };
        let backfilled = saved_state
            .filter(|s| s.cursor_path == config.cursor_path)
            .map(|s| s.backfilled.clone())
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
            backfilled,
            floor,
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
            backfilled: self.backfilled.clone(),
            floor: self.floor.clone(),
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
            backfilled: at.backfilled,
            floor: at.floor,
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
        let (last_value, boundary) = match &self.floor {
            // With lag the cursor only moves forward, and keeps no boundary (as in dlt).
            Some(floor) => match self.newer(floor, &last_value) {
                Some(Ordering::Greater) => (floor.clone(), Vec::new()),
                _ => (last_value, Vec::new()),
            },
            None => (last_value, boundary),
        };
        Some(CursorState {
            resource: resource.to_string(),
            cursor_path: self.config.cursor_path.clone(),
            last_value,
            boundary,
            native: None,
            backfilled: self.backfilled.clone(),
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
mod tests;
