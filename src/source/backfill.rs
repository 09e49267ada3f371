//! `--window`: a backfill's range cut into windows that each load as a unit. Boundaries fall
//! on multiples of the window's length counted from 1970-01-01 UTC (from 0 for an integer
//! cursor), so a rerun of the same command cuts the same windows; the ranges a resource has
//! already loaded this way ([`CursorState::backfilled`]) are left out of the plan.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

use super::window::{CursorKind, WindowError};
use crate::hints::CursorState;

/// A range of cursor values, from the first (included) to the second (excluded).
pub type Span = (Value, Value);

/// How long each window of `--window` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowStep {
    /// Seconds of a date or date-time cursor (`12h`, `7d`, `2w`, `1m`).
    Seconds(i64),
    /// Values of an integer cursor (`10000`).
    Count(i64),
}

impl std::fmt::Display for WindowStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Seconds(s) if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            Self::Seconds(s) => write!(f, "{}h", s / 3_600),
            Self::Count(n) => write!(f, "{n}"),
        }
    }
}

/// `--window` and `--parallel`: how a range is cut, and how many windows of one resource load
/// at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSplit {
    /// Each window's length.
    pub step: WindowStep,
    /// Windows of one resource fetched at the same time.
    pub parallel: usize,
}

/// At most this many windows in one plan: a typo (`--window 1h` over ten years) is refused
/// rather than planned.
const MAX_WINDOWS: i64 = 100_000;

/// `--window 12h|7d|2w|1m` (a month is 30 days) or `--window 10000` (integer cursors).
pub fn parse_step(text: &str) -> Result<WindowStep, WindowError> {
    let bad = || WindowError::BadWindow(text.to_string());
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return (n > 0).then_some(WindowStep::Count(n)).ok_or_else(bad);
    }
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let per = match unit {
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "m" => 30 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(per)
        .filter(|s| (3_600..=36_600 * 86_400).contains(s))
        .map(WindowStep::Seconds)
        .ok_or_else(bad)
}

/// The windows of `[since, until)` cut by `step`, in order, without what `done` already
/// covers. Refuses a step of the wrong kind for the bounds (a period for an integer cursor).
pub fn plan(
    since: &Value,
    until: &Value,
    step: WindowStep,
    done: &[Span],
) -> Result<Vec<Span>, WindowError> {
    let kind = CursorKind::of(since).unwrap_or(CursorKind::DateTime);
    let size = match (step, kind) {
        (WindowStep::Count(n), CursorKind::Integer) => n,
        (WindowStep::Seconds(s), CursorKind::Date | CursorKind::DateTime) => s,
        _ => {
            return Err(WindowError::WindowKind {
                window: step.to_string(),
                since: since.to_string(),
                kind,
            });
        }
    };
    let (Some(start), Some(end)) = (scalar(since), scalar(until)) else {
        return Ok(Vec::new());
    };
    let first_edge = start
        .div_euclid(size)
        .saturating_add(1)
        .saturating_mul(size);
    if end.saturating_sub(first_edge) / size > MAX_WINDOWS {
        return Err(WindowError::TooManyWindows {
            window: step.to_string(),
            max: MAX_WINDOWS,
        });
    }
    let mut edges = vec![start];
    edges.extend(
        (0..)
            .map(|i| first_edge + i * size)
            .take_while(|&e| e < end),
    );
    edges.push(end);
    let done: Vec<(i64, i64)> = done
        .iter()
        .filter_map(|(a, b)| Some((scalar(a)?, scalar(b)?)))
        .collect();
    // The flags' own bounds are kept as given (a fraction of a second, an offset); the edges
    // in between are written as the since bound is.
    let value = |at: i64| match at {
        _ if at == start => since.clone(),
        _ if at == end => until.clone(),
        _ => written_as(kind, at),
    };
    let mut windows = Vec::new();
    for pair in edges.windows(2) {
        for (a, b) in subtract((pair[0], pair[1]), &done) {
            windows.push((value(a), value(b)));
        }
    }
    Ok(windows)
}

/// Adds `span` to the ranges loaded, merging the ones that touch.
pub fn record(done: &mut Vec<Span>, span: Span) {
    done.push(span);
    done.sort_by(|a, b| order(&a.0, &b.0));
    let mut merged: Vec<Span> = Vec::new();
    for (a, b) in done.drain(..) {
        match merged.last_mut() {
            Some(last) if order(&a, &last.1) != Ordering::Greater => {
                if order(&b, &last.1) == Ordering::Greater {
                    last.1 = b;
                }
            }
            _ => merged.push((a, b)),
        }
    }
    *done = merged;
}

/// Whether the loaded ranges `done` hold the cursor's place (`reference`: the saved value,
/// else the initial value): then moving the cursor to what they loaded leaves no gap behind.
/// Never without a reference: the next sync would load from the beginning anyway.
pub fn holds_cursor(done: &[Span], reference: Option<&Value>) -> bool {
    let Some(at) = reference.filter(|v| !v.is_null()) else {
        return false;
    };
    done.iter()
        .any(|(a, b)| order(a, at) != Ordering::Greater && order(at, b) == Ordering::Less)
}

/// The newest cursor value a backfill loaded, with the hashes of its records at that value
/// (so the next sync, which starts there, does not load them twice).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Newest {
    /// The value; `None` before any record.
    pub value: Option<Value>,
    /// Hashes of the records at it.
    pub hashes: Vec<String>,
}

impl Newest {
    /// Takes in a window's newest value and its hashes.
    pub fn see(&mut self, value: &Value, hashes: &[String]) {
        match self.value.as_ref().map(|v| order(value, v)) {
            Some(Ordering::Less) => {}
            Some(Ordering::Equal) => {
                self.hashes.extend(hashes.iter().cloned());
                self.hashes.sort();
                self.hashes.dedup();
            }
            _ => {
                self.value = Some(value.clone());
                self.hashes = hashes.to_vec();
            }
        }
    }
}

/// The state a completed backfill of `span` leaves: `saved` (or a new state) with the span
/// recorded; when the loaded ranges hold the cursor's place, the cursor moves forward to the
/// `newest` record loaded (not to the span's end: records past it that appear later, or a
/// range reaching into the future, must not be skipped).
pub fn completed(
    saved: Option<&CursorState>,
    resource: &str,
    cursor_path: &str,
    initial_value: Option<&Value>,
    span: Span,
    newest: &Newest,
) -> CursorState {
    let mut state = saved
        .filter(|s| s.cursor_path == cursor_path)
        .cloned()
        .unwrap_or_else(|| CursorState {
            resource: resource.to_string(),
            cursor_path: cursor_path.to_string(),
            last_value: Value::Null,
            boundary: Vec::new(),
            native: None,
            backfilled: Vec::new(),
        });
    record(&mut state.backfilled, span);
    let reference = Some(&state.last_value)
        .filter(|v| !v.is_null())
        .or(initial_value)
        .cloned();
    let forward = match (&newest.value, state.last_value.is_null()) {
        (Some(v), true) => Some(v),
        (Some(v), false) => (order(v, &state.last_value) == Ordering::Greater).then_some(v),
        (None, _) => None,
    };
    if let Some(value) = forward
        && holds_cursor(&state.backfilled, reference.as_ref())
    {
        state.last_value = value.clone();
        state.boundary = newest.hashes.clone();
    }
    state
}

/// Orders two bounds: numbers as numbers, dates and date-times by the instant they name.
fn order(a: &Value, b: &Value) -> Ordering {
    match (scalar(a), scalar(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// A bound as one number: itself, or Unix seconds.
fn scalar(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            if let Ok(at) = DateTime::parse_from_rfc3339(s) {
                return Some(at.timestamp());
            }
            if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
            }
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc().timestamp())
        }
        _ => None,
    }
}

/// An edge between windows written as the since bound's kind: a date when it falls on
/// midnight of a date cursor, else an RFC 3339 date-time in UTC, as APIs commonly write them.
fn written_as(kind: CursorKind, at: i64) -> Value {
    match kind {
        CursorKind::Integer => Value::from(at),
        CursorKind::Date if at % 86_400 == 0 => DateTime::<Utc>::from_timestamp(at, 0)
            .map(|t| Value::String(t.format("%Y-%m-%d").to_string()))
            .unwrap_or(Value::Null),
        _ => DateTime::<Utc>::from_timestamp(at, 0)
            .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true)))
            .unwrap_or(Value::Null),
    }
}

/// `span` without the parts `done` covers.
fn subtract(span: (i64, i64), done: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut left = vec![span];
    for &(a, b) in done {
        left = left
            .into_iter()
            .flat_map(|(s, e)| {
                let mut pieces = Vec::new();
                if a >= e || b <= s {
                    pieces.push((s, e));
                } else {
                    if s < a {
                        pieces.push((s, a));
                    }
                    if b < e {
                        pieces.push((b, e));
                    }
                }
                pieces
            })
            .collect();
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn days(n: i64) -> WindowStep {
        WindowStep::Seconds(n * 86_400)
    }

    #[test]
    fn window_lengths_are_read_or_refused() {
        assert_eq!(parse_step("7d").unwrap(), days(7));
        assert_eq!(parse_step("12h").unwrap(), WindowStep::Seconds(43_200));
        assert_eq!(parse_step("2w").unwrap(), days(14));
        assert_eq!(parse_step("1m").unwrap(), days(30));
        assert_eq!(parse_step("5000").unwrap(), WindowStep::Count(5000));
        for bad in ["0", "-5", "0d", "7x", "d", "", "999999999999w", "1.5d"] {
            assert!(parse_step(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_fall_on_the_grid_and_keep_the_given_bounds() {
        let w = plan(
            &json!("2024-01-03T10:30:00Z"),
            &json!("2024-01-20T00:00:00Z"),
            days(7),
            &[],
        )
        .unwrap();
        // 1970-01-01 was a Thursday: seven-day windows start on Thursdays.
        assert_eq!(
            w,
            vec![
                (json!("2024-01-03T10:30:00Z"), json!("2024-01-04T00:00:00Z")),
                (json!("2024-01-04T00:00:00Z"), json!("2024-01-11T00:00:00Z")),
                (json!("2024-01-11T00:00:00Z"), json!("2024-01-18T00:00:00Z")),
                (json!("2024-01-18T00:00:00Z"), json!("2024-01-20T00:00:00Z")),
            ]
        );
        let dates = plan(&json!("2024-01-01"), &json!("2024-01-03"), days(1), &[]).unwrap();
        assert_eq!(
            dates,
            vec![
                (json!("2024-01-01"), json!("2024-01-02")),
                (json!("2024-01-02"), json!("2024-01-03")),
            ]
        );
        let ints = plan(&json!(5), &json!(25), WindowStep::Count(10), &[]).unwrap();
        assert_eq!(
            ints,
            vec![
                (json!(5), json!(10)),
                (json!(10), json!(20)),
                (json!(20), json!(25))
            ]
        );
    }

    #[test]
    fn ranges_already_loaded_are_left_out() {
        let done = vec![(json!("2024-01-02T00:00:00Z"), json!("2024-01-04T12:00:00Z"))];
        let w = plan(
            &json!("2024-01-01T00:00:00Z"),
            &json!("2024-01-06T00:00:00Z"),
            days(2),
            &done,
        )
        .unwrap();
        // Two-day windows from the epoch start on 2024-01-02, 01-04 and 01-06.
        assert_eq!(
            w,
            vec![
                (json!("2024-01-01T00:00:00Z"), json!("2024-01-02T00:00:00Z")),
                (json!("2024-01-04T12:00:00Z"), json!("2024-01-06T00:00:00Z")),
            ]
        );
        let all = vec![(json!("2023-01-01T00:00:00Z"), json!("2025-01-01T00:00:00Z"))];
        let none = plan(
            &json!("2024-01-01T00:00:00Z"),
            &json!("2024-01-06T00:00:00Z"),
            days(1),
            &all,
        )
        .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_wrong_kind_or_a_plan_too_long_is_refused() {
        assert!(matches!(
            plan(&json!(5), &json!(10), days(1), &[]),
            Err(WindowError::WindowKind { .. })
        ));
        assert!(matches!(
            plan(
                &json!("2024-01-01"),
                &json!("2024-02-01"),
                WindowStep::Count(3),
                &[]
            ),
            Err(WindowError::WindowKind { .. })
        ));
        assert!(matches!(
            plan(&json!(0), &json!(i64::MAX), WindowStep::Count(1), &[]),
            Err(WindowError::TooManyWindows { .. })
        ));
    }

    #[test]
    fn loaded_ranges_merge_and_hold_the_cursor_only_without_a_gap() {
        let mut done = Vec::new();
        record(&mut done, (json!(20), json!(30)));
        record(&mut done, (json!(0), json!(10)));
        assert!(!holds_cursor(&done, Some(&json!(15))), "a gap at 10..20");
        record(&mut done, (json!(10), json!(20)));
        assert_eq!(done, vec![(json!(0), json!(30))]);
        assert!(holds_cursor(&done, Some(&json!(15))));
        assert!(holds_cursor(&done, Some(&json!(0))));
        assert!(!holds_cursor(&done, Some(&json!(30))), "already past");
        assert!(!holds_cursor(&done, None));
    }

    #[test]
    fn the_newest_value_keeps_the_hashes_of_every_window_at_it() {
        let mut newest = Newest::default();
        newest.see(&json!(5), &["a".into()]);
        newest.see(&json!(3), &["b".into()]);
        newest.see(&json!(5), &["c".into()]);
        assert_eq!(newest.value, Some(json!(5)));
        assert_eq!(newest.hashes, ["a", "c"]);
        newest.see(&json!(9), &["d".into()]);
        assert_eq!(newest.hashes, ["d"]);
    }

    #[test]
    fn a_completed_backfill_keeps_the_state_it_does_not_reach() {
        let saved = CursorState {
            resource: "orders".into(),
            cursor_path: "updatedAt".into(),
            last_value: json!("2024-03-01T00:00:00Z"),
            boundary: vec!["h1".into()],
            native: None,
            backfilled: Vec::new(),
        };
        let seen = |at: &str| Newest {
            value: Some(json!(at)),
            hashes: vec!["h2".into()],
        };
        let before = (json!("2024-01-01T00:00:00Z"), json!("2024-02-01T00:00:00Z"));
        let newest = seen("2024-01-31T23:00:00Z");
        let kept = completed(
            Some(&saved),
            "orders",
            "updatedAt",
            None,
            before.clone(),
            &newest,
        );
        assert_eq!(kept.last_value, saved.last_value);
        assert_eq!(kept.boundary, saved.boundary);
        assert_eq!(kept.backfilled, vec![before]);
        // Reaching the cursor, it moves to the newest record, not to the range's end.
        let over = (json!("2024-02-01T00:00:00Z"), json!("2030-01-01T00:00:00Z"));
        let newest = seen("2024-03-20T00:00:00Z");
        let moved = completed(
            Some(&kept),
            "orders",
            "updatedAt",
            None,
            over.clone(),
            &newest,
        );
        assert_eq!(moved.last_value, json!("2024-03-20T00:00:00Z"));
        assert_eq!(moved.boundary, ["h2"]);
        // Never back: nothing newer than the saved cursor was found.
        let older = seen("2024-02-10T00:00:00Z");
        let kept = completed(Some(&kept), "orders", "updatedAt", None, over, &older);
        assert_eq!(kept.last_value, saved.last_value);
        let fresh = completed(
            None,
            "orders",
            "updatedAt",
            Some(&json!("2024-01-15T00:00:00Z")),
            (json!("2024-01-01T00:00:00Z"), json!("2024-02-01T00:00:00Z")),
            &seen("2024-01-31T23:00:00Z"),
        );
        assert_eq!(fresh.last_value, json!("2024-01-31T23:00:00Z"));
        let none = Newest::default();
        let empty = completed(
            None,
            "orders",
            "updatedAt",
            None,
            (json!(1), json!(9)),
            &none,
        );
        assert!(empty.last_value.is_null());
    }
}
