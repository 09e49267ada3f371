//! `--since`, `--until` and `--backfill`: a range of an incremental cursor to load in one run.
//! Values are read as what a cursor holds (an integer, a date or a date-time) or refused, so a
//! typo can never become a cursor; a resource checks them against its own cursor's kind.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::backfill::{WindowSplit, WindowStep, parse_step, plan};

/// A range of an incremental cursor to load in this run (`--since`, `--until`, `--backfill`):
/// it replaces the cursor's start and end values, and the saved cursor is left as it was
/// (dlt's stateless range), so a range can never wedge or rewind later syncs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CursorWindow {
    /// Load records from this value on, whatever the saved cursor says.
    pub since: Option<Value>,
    /// Load records before this value only.
    pub until: Option<Value>,
    /// `--window`: cut the range into windows that each load as a unit.
    pub split: Option<WindowSplit>,
}

/// What a cursor value is, as far as a range can be compared with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    /// A number: an id, a version or Unix time.
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// An ISO-8601 date and time.
    DateTime,
}

impl std::fmt::Display for CursorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Integer => "an integer",
            Self::Date => "a date",
            Self::DateTime => "a date-time",
        })
    }
}

impl CursorKind {
    /// The kind of a cursor value as records or a saved state hold it; `None` for text that is
    /// no date (an opaque token), which a range cannot be checked against.
    pub fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Number(_) => Some(Self::Integer),
            Value::String(s) => match parse_date_time(s) {
                Some(_) => Some(Self::DateTime),
                None => parse_date(s).map(|_| Self::Date),
            },
            _ => None,
        }
    }

    /// Whether a range bound of kind `self` compares with cursor values of kind `cursor`:
    /// dates and date-times compare (as ISO text), numbers only with numbers.
    pub fn compares_with(self, cursor: Self) -> bool {
        (self == Self::Integer) == (cursor == Self::Integer)
    }
}

/// A range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The value is no integer, date or date-time.
    #[error(
        "{flag} `{value}` is not a cursor value: give an integer (12345), a date (2024-01-31) or \
         a date-time (2024-01-31T12:00:00Z)"
    )]
    NotACursorValue {
        /// `--since` or `--until`.
        flag: &'static str,
        /// What was given.
        value: String,
    },
    /// `--since` is not before `--until`.
    #[error("--since {since} is not before --until {until}: the range would load nothing")]
    Empty {
        /// `--since` as given.
        since: String,
        /// `--until` as given.
        until: String,
    },
    /// The bounds are of kinds that do not compare.
    #[error("--since {since} is {since_kind} but --until {until} is {until_kind}: give both alike")]
    Mixed {
        /// `--since` as given.
        since: String,
        /// Its kind.
        since_kind: CursorKind,
        /// `--until` as given.
        until: String,
        /// Its kind.
        until_kind: CursorKind,
    },
    /// `--backfill` is not a period Dango can count back.
    #[error(
        "--backfill `{0}` is not a period: write it like 7d, 2w or 1m (from 1 day to 100 years)"
    )]
    BadPeriod(String),
    /// `--window` is not a length Dango can cut a range by.
    #[error(
        "--window `{0}` is not a window length: write it like 12h, 7d, 2w or 1m for a date \
         cursor, or as a whole number (10000) for an integer cursor"
    )]
    BadWindow(String),
    /// `--window` of one kind, the range of another.
    #[error(
        "--window {window} does not cut a range starting at {since}, which is {kind}: give a \
         period (7d) for a date or date-time range, a number (10000) for an integer one"
    )]
    WindowKind {
        /// `--window` as read.
        window: String,
        /// The start of the range.
        since: String,
        /// Its kind.
        kind: CursorKind,
    },
    /// The windows would be too many.
    #[error("--window {window} cuts this range into more than {max} windows: give a longer window")]
    TooManyWindows {
        /// `--window` as read.
        window: String,
        /// The most a plan may have.
        max: i64,
    },
    /// `--window` on a cursor that shrinks.
    #[error(
        "--window needs a cursor that grows (`last_value_func: max`); load a `min` cursor's \
         range with --since and --until"
    )]
    MinCursor,
    /// `--window` without a start.
    #[error("--window cuts a range: give its start with --since or --backfill")]
    WindowWithoutStart,
    /// `--window` by count without an end.
    #[error("--window {0} cuts an integer range, which has no natural end: give --until as well")]
    WindowWithoutEnd(String),
}

impl CursorWindow {
    /// The range of `--since` (or the start `--backfill` worked out) and `--until`; `None`
    /// when neither is given.
    pub fn parse(since: Option<&str>, until: Option<&str>) -> Result<Option<Self>, WindowError> {
        let since = since.map(|v| bound("--since", v)).transpose()?;
        let until = until.map(|v| bound("--until", v)).transpose()?;
        if let (Some((s, s_kind, s_text)), Some((u, u_kind, u_text))) = (&since, &until) {
            if !s_kind.compares_with(*u_kind) {
                return Err(WindowError::Mixed {
                    since: s_text.clone(),
                    since_kind: *s_kind,
                    until: u_text.clone(),
                    until_kind: *u_kind,
                });
            }
            if !is_before(s, u) {
                return Err(WindowError::Empty {
                    since: s_text.clone(),
                    until: u_text.clone(),
                });
            }
        }
        Ok((since.is_some() || until.is_some()).then(|| Self {
            since: since.map(|(v, _, _)| v),
            until: until.map(|(v, _, _)| v),
            split: None,
        }))
    }

    /// The range cut by `--window` (`window`), `parallel` windows of a resource at once; a
    /// date range without `--until` ends `now`. Refused without a start, or when the window
    /// is of another kind than the range.
    pub fn split_by(
        mut self,
        window: &str,
        parallel: usize,
        now: DateTime<Utc>,
    ) -> Result<Self, WindowError> {
        let step = parse_step(window)?;
        let since = self.since.clone().ok_or(WindowError::WindowWithoutStart)?;
        let kind = CursorKind::of(&since).unwrap_or(CursorKind::DateTime);
        if matches!(step, WindowStep::Count(_)) != (kind == CursorKind::Integer) {
            return Err(WindowError::WindowKind {
                window: window.to_string(),
                since: since.to_string(),
                kind,
            });
        }
        let until = match (self.until.clone(), step) {
            (Some(until), _) => until,
            (None, WindowStep::Seconds(_)) => {
                Value::String(now.to_rfc3339_opts(SecondsFormat::Secs, true))
            }
            (None, WindowStep::Count(_)) => {
                return Err(WindowError::WindowWithoutEnd(window.to_string()));
            }
        };
        plan(&since, &until, step, &[])?;
        self.until = Some(until);
        self.split = Some(WindowSplit {
            step,
            parallel: parallel.max(1),
        });
        Ok(self)
    }

    /// The bounds given, with their kinds, for checking against a resource's cursor.
    pub fn bounds(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        [("--since", &self.since), ("--until", &self.until)]
            .into_iter()
            .filter_map(|(flag, v)| v.as_ref().map(|v| (flag, v)))
    }
}

/// `--backfill 7d|2w|1m` as the date-time that long before `now`.
pub fn backfill_start(period: &str, now: DateTime<Utc>) -> Result<String, WindowError> {
    let bad = || WindowError::BadPeriod(period.to_string());
    let (n, unit) = period.split_at(period.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let per = match unit {
        "d" => 1,
        "w" => 7,
        "m" => 30,
        _ => return Err(bad()),
    };
    let days = n.checked_mul(per).filter(|d| (1..=36_600).contains(d));
    let since = days
        .and_then(chrono::Duration::try_days)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(bad)?;
    Ok(since.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A bound as the cursor value it stands for, its kind, and the text given. Date-times are
/// written in UTC as APIs commonly write them (`...Z`), so they compare as text with records.
fn bound(flag: &'static str, text: &str) -> Result<(Value, CursorKind, String), WindowError> {
    let given = text.to_string();
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok((Value::from(n), CursorKind::Integer, given));
    }
    if parse_date(t).is_some() {
        return Ok((Value::String(t.to_string()), CursorKind::Date, given));
    }
    match parse_date_time(t) {
        Some(at) => {
            let utc = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            Ok((Value::String(utc), CursorKind::DateTime, given))
        }
        None => Err(WindowError::NotACursorValue { flag, value: given }),
    }
}

/// Whether bound `a` comes before bound `b` (both of comparable kinds).
fn is_before(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_i64() < y.as_i64(),
        (Value::String(x), Value::String(y)) => x < y,
        _ => false,
    }
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// An RFC 3339 date-time, or one without an offset (taken as UTC), with `T` or a space.
fn parse_date_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Option<CursorWindow>, WindowError> {
        CursorWindow::parse(since, until)
    }

    #[test]
    fn values_are_read_as_cursor_kinds_or_refused() {
        let w = parse(Some("2024-01-05"), Some("2024-01-06T10:00:00+02:00"))
            .unwrap()
            .unwrap();
        assert_eq!(w.since, Some(json!("2024-01-05")));
        assert_eq!(w.until, Some(json!("2024-01-06T08:00:00Z")));
        assert_eq!(
            parse(Some("17"), None).unwrap().unwrap().since,
            Some(json!(17))
        );
        for bad in ["garbage", "2024-13-01", "", "1e3", "2024-01-01T25:00:00Z"] {
            assert!(
                matches!(
                    parse(Some(bad), None),
                    Err(WindowError::NotACursorValue { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(parse(None, None), Ok(None));
    }

    #[test]
    fn a_range_must_be_ordered_and_of_one_kind() {
        assert!(matches!(
            parse(Some("2030-01-01"), Some("2024-01-01")),
            Err(WindowError::Empty { .. })
        ));
        assert!(matches!(
            parse(Some("5"), Some("5")),
            Err(WindowError::Empty { .. })
        ));
        assert!(matches!(
            parse(Some("5"), Some("2024-01-01")),
            Err(WindowError::Mixed { .. })
        ));
        assert!(parse(Some("2024-01-01"), Some("2024-01-01T00:00:01Z")).is_ok());
    }

    #[test]
    fn backfill_counts_back_or_refuses() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(backfill_start("7d", now).unwrap(), "2026-11-30T00:00:00Z");
        assert_eq!(backfill_start("2w", now).unwrap(), "2026-11-23T00:00:00Z");
        for bad in [
            "99999999999d",
            "9223372036854775807w",
            "0d",
            "-3d",
            "7x",
            "d",
            "",
        ] {
            assert!(backfill_start(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_of_cursor_values() {
        assert_eq!(CursorKind::of(&json!(5)), Some(CursorKind::Integer));
        assert_eq!(CursorKind::of(&json!("2024-01-01")), Some(CursorKind::Date));
        assert_eq!(
            CursorKind::of(&json!("2024-01-01T00:00:00.000Z")),
            Some(CursorKind::DateTime)
        );
        assert_eq!(CursorKind::of(&json!("abc")), None);
        assert!(CursorKind::Date.compares_with(CursorKind::DateTime));
        assert!(!CursorKind::Integer.compares_with(CursorKind::Date));
    }
}
