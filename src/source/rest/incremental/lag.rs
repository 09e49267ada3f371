//! dlt's `lag`: where a sync starts when it re-reads the last stretch before the saved cursor,
//! as dlt 1.31 works it out (`dlt/extract/incremental/lag.py`): seconds off a date-time, days
//! off a date, units off a number, towards older values, never past the initial value.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::Value;

use super::LastValueFunc;

/// `last` moved `lag` towards older values (down for `max`, up for `min`), but not past
/// `initial`; `None` when `last` is no number, date or date-time (then no lag applies).
pub fn lagged(
    lag: f64,
    last: &Value,
    initial: Option<&Value>,
    func: LastValueFunc,
    compare: impl Fn(&Value, &Value) -> Option<Ordering>,
) -> Option<Value> {
    let sign = match func {
        LastValueFunc::Max => -1.0,
        LastValueFunc::Min => 1.0,
    };
    let moved = match last {
        Value::Number(n) => match n.as_i64() {
            // dlt keeps an integer cursor an integer, cutting the fraction off.
            Some(i) => Value::from((i as f64 + sign * lag) as i64),
            None => Value::from(n.as_f64()? + sign * lag),
        },
        Value::String(s) => Value::String(moved_text(s, sign * lag)?),
        _ => return None,
    };
    // The initial value wins when it is newer than the lagged one.
    let newer_initial = initial.filter(|i| {
        let ord = compare(i, &moved);
        match func {
            LastValueFunc::Max => ord == Some(Ordering::Greater),
            LastValueFunc::Min => ord == Some(Ordering::Less),
        }
    });
    Some(newer_initial.cloned().unwrap_or(moved))
}

/// A date or date-time text moved by `by` (seconds, or days for a date), written as it was.
fn moved_text(s: &str, by: f64) -> Option<String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let days = Duration::try_days(by as i64)?;
        return Some(d.checked_add_signed(days)?.format("%Y-%m-%d").to_string());
    }
    let by = Duration::try_milliseconds((by * 1000.0).round() as i64)?;
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        let moved = at.checked_add_signed(by)?;
        return Some(moved.to_rfc3339_opts(SecondsFormat::AutoSi, s.ends_with('Z')));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| {
            let at = NaiveDateTime::parse_from_str(s, f).ok()?;
            let text = match f.contains('T') {
                true => "%Y-%m-%dT%H:%M:%S%.f",
                false => "%Y-%m-%d %H:%M:%S%.f",
            };
            Some(at.checked_add_signed(by)?.format(text).to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lag(lag: f64, last: Value, initial: Option<Value>, func: LastValueFunc) -> Option<Value> {
        lagged(lag, &last, initial.as_ref(), func, super::super::compare)
    }

    #[test]
    fn lag_moves_each_kind_of_cursor_towards_older_values() {
        let max = LastValueFunc::Max;
        assert_eq!(
            lag(7200.0, json!("2024-01-07T00:00:00Z"), None, max),
            Some(json!("2024-01-06T22:00:00Z"))
        );
        assert_eq!(
            lag(1.5, json!("2024-01-07T00:00:00.250+02:00"), None, max),
            Some(json!("2024-01-06T23:59:58.750+02:00"))
        );
        assert_eq!(
            lag(2.0, json!("2024-01-07"), None, max),
            Some(json!("2024-01-05"))
        );
        assert_eq!(lag(10.0, json!(100), None, max), Some(json!(90)));
        assert_eq!(lag(0.5, json!(100), None, max), Some(json!(99)));
        assert_eq!(lag(0.5, json!(1.0), None, max), Some(json!(0.5)));
        assert_eq!(
            lag(10.0, json!(100), None, LastValueFunc::Min),
            Some(json!(110))
        );
        assert_eq!(lag(10.0, json!("abc"), None, max), None);
    }

    #[test]
    fn lag_never_goes_past_the_initial_value() {
        let max = LastValueFunc::Max;
        assert_eq!(
            lag(
                86_400.0,
                json!("2024-01-01T12:00:00Z"),
                Some(json!("2024-01-01T00:00:00Z")),
                max
            ),
            Some(json!("2024-01-01T00:00:00Z"))
        );
        assert_eq!(lag(10.0, json!(15), Some(json!(8)), max), Some(json!(8)));
        assert_eq!(lag(10.0, json!(25), Some(json!(8)), max), Some(json!(15)));
    }
}
