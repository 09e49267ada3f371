//! dlt's date-time rules: which strings are ISO-8601 timestamps (and dates and times), how
//! numbers of seconds become timestamps, and the range DuckDB's timestamps hold.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime};
use regex::Regex;

use super::parse_date;

/// The first instant Python's `datetime` holds, 0001-01-01T00:00:00Z, in microseconds since
/// the epoch. dlt coerces a value into a timestamp or date through `datetime`, so one outside
/// its years (1 to 9999) goes to a variant column there; here too, and never to a number that
/// DuckDB would read as `infinity` (`i64::MAX` microseconds) or a wrapped one.
pub(super) const FIRST_MICROS: i64 = -62_135_596_800_000_000;

/// The last instant Python's `datetime` holds, 9999-12-31T23:59:59.999999Z (see
/// [`FIRST_MICROS`]).
pub(super) const LAST_MICROS: i64 = 253_402_300_799_999_999;

/// `micros` if Python's `datetime` holds that instant (see [`FIRST_MICROS`]).
pub(super) fn in_datetime_range(micros: i64) -> Option<i64> {
    (FIRST_MICROS..=LAST_MICROS)
        .contains(&micros)
        .then_some(micros)
}

/// Microseconds since the epoch of `secs` Unix seconds, if a `datetime` holds them.
pub(super) fn micros_of_seconds(secs: i64) -> Option<i64> {
    in_datetime_range(secs.checked_mul(1_000_000)?)
}

/// Microseconds since the epoch of `secs` Unix seconds (with a fraction), if a `datetime`
/// holds them. The cast to an integer saturates (`1e23` seconds would become `i64::MAX`,
/// DuckDB's `infinity`), so only a float within `i64` is cast; the range is then checked
/// exactly, which a float near 9999-12-31 is not.
pub(super) fn micros_of_float_seconds(secs: f64) -> Option<i64> {
    let micros = secs * 1e6;
    (micros.abs() < i64::MAX as f64)
        .then_some(micros as i64)
        .and_then(in_datetime_range)
}

/// Days since 1970-01-01 of the (UTC) day of `micros`.
pub(super) fn day_of(micros: i64) -> Option<i32> {
    i32::try_from(micros.div_euclid(86_400_000_000)).ok()
}

/// Microseconds since midnight of `HH:MM[:SS[.ffffff]]`.
pub(super) fn parse_time(t: &str) -> Option<i64> {
    let t = t.trim();
    let time = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M"))
        .ok()?;
    let since = time - chrono::NaiveTime::MIN;
    since.num_microseconds()
}

/// A string going into an existing timestamp column: any ISO date-time, a date (midnight UTC)
/// or Unix seconds.
pub(super) fn parse_loose_timestamp(t: &str) -> Option<i64> {
    if let Some(micros) = parse_iso_timestamp(t) {
        return Some(micros);
    }
    if let Some(days) = parse_date(t) {
        return i64::from(days).checked_mul(86_400_000_000);
    }
    micros_of_float_seconds(t.trim().parse().ok()?)
}

/// Microseconds since the epoch of an ISO-8601 date-time string, as dlt's `iso_timestamp`
/// detection accepts them (a date and a time; naive times are UTC). Dates alone are text.
pub fn parse_iso_timestamp(s: &str) -> Option<i64> {
    // Year 0, or an offset that carries 9999-12-31 into year 10000, is beyond `datetime`:
    // text to dlt.
    full_utc_timestamp(s)
        .or_else(|| any_iso_timestamp(s))
        .and_then(in_datetime_range)
}

/// The common case of [`parse_iso_timestamp`] without a regex or an intermediate string:
/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction, and `Z` or nothing. `None` for anything else,
/// which the general reader then takes.
pub(super) fn full_utc_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let body = b
        .strip_suffix(b"Z")
        .or_else(|| b.strip_suffix(b"z"))
        .unwrap_or(b);
    let (whole, fraction) = body.split_at_checked(19)?;
    let number = |r: std::ops::Range<usize>| -> Option<u32> {
        let digits = whole.get(r)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if !separators.iter().all(|&(i, c)| whole[i] == c) || !matches!(whole[10], b'T' | b't' | b' ') {
        return None;
    }
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let value = digits.iter().try_fold(0u32, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?;
    let time = date.and_hms_nano_opt(number(11..13)?, number(14..16)?, number(17..19)?, nanos)?;
    DateTime::from_timestamp_micros(time.and_utc().timestamp_micros()).map(|d| d.timestamp_micros())
}

/// [`parse_iso_timestamp`] for every form dlt accepts.
pub(super) fn any_iso_timestamp(s: &str) -> Option<i64> {
    if s.len() > 40 || !could_be_iso(s.as_bytes()) || !ISO_SHAPE.is_match(s) {
        return None;
    }

    let (body, offset_secs) = split_offset(s)?;
    let compact = body
        .as_bytes()
        .get(8)
        .is_some_and(|c| *c == b'T' || *c == b't');
    let normal: String = if compact {
        // 20240115T101010 → 2024-01-15T10:10:10
        let (date, time) = body.split_at(8);
        format!(
            "{}-{}-{}T{}",
            &date[..4],
            &date[4..6],
            &date[6..8],
            expand_compact_time(&time[1..])
        )
    } else {
        let mut b = body.to_string();
        b.replace_range(10..11, "T");
        b
    };
    let with_minutes = match normal.len() {
        13 => format!("{normal}:00:00"),
        16 => format!("{normal}:00"),
        _ => normal,
    };
    // `FromStr` is `%Y-%m-%dT%H:%M:%S%.f` with its items prebuilt: no format string to parse.
    let naive: NaiveDateTime = with_minutes.parse().ok()?;
    let utc = naive.and_utc().timestamp_micros() - offset_secs * 1_000_000;
    DateTime::from_timestamp_micros(utc).map(|d| d.timestamp_micros())
}

/// A cheap necessary condition for [`ISO_SHAPE`]: four digits and `-`, or eight digits and `T`.
/// Most strings fail it at the first byte, so the regex only sees likely timestamps.
pub(super) fn could_be_iso(s: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    s.len() >= 11 && digits(0..4) && (s[4] == b'-' || (digits(4..8) && matches!(s[8], b'T' | b't')))
}

pub(super) fn expand_compact_time(t: &str) -> String {
    let (hms, frac) = t.split_at(t.find('.').unwrap_or(t.len()));
    let parts: Vec<&str> = [0, 2, 4]
        .iter()
        .filter_map(|&i| hms.get(i..i + 2))
        .collect();
    format!("{}{frac}", parts.join(":"))
}

/// Splits a trailing `Z`/`+HH:MM`/`+HHMM`/`+HH` off; returns the rest and the offset in seconds.
pub(super) fn split_offset(s: &str) -> Option<(&str, i64)> {
    if let Some(body) = s.strip_suffix(['Z', 'z']) {
        return Some((body, 0));
    }
    // The date part has '-' at positions 4 and 7 (or none, compact), so search after it.
    let sign_at = s[10..].rfind(['+', '-']).map(|i| i + 10);
    let Some(at) = sign_at else {
        return Some((s, 0));
    };
    let (body, tz) = s.split_at(at);
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits: String = tz[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i64 = digits.get(0..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((body, sign * (hours * 3600 + minutes * 60)))
}

/// The shape of an ISO-8601 date-time, with or without separators and offset.
static ISO_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?|\d{8}[Tt]\d{2}(\d{2}(\d{2}(\.\d{1,9})?)?)?)([Zz]|[+-]\d{2}(:?\d{2})?)?$",
    )
    .expect("valid regex")
});
