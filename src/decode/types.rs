//! dlt's data types and its rules for them: which type a JSON value has (ISO-8601 strings are
//! timestamps), and whether a value fits a column of another type (`coerce`). A value that does
//! not fit goes to a variant column, never into the column as garbage.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime};
use regex::Regex;

pub use crate::hints::{DECIMAL_DIGITS, DECIMAL_SCALE, DltType, WEI_DIGITS};

/// A non-null value ready for a column, in its own type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// true / false
    Bool(bool),
    /// An integer that fits i64.
    BigInt(i64),
    /// Any other number.
    Double(f64),
    /// A string that is not a timestamp.
    Text(&'a str),
    /// An ISO-8601 datetime: microseconds since the epoch, UTC, and the text it came from.
    Timestamp(i64, &'a str),
    /// An object or list kept whole, as JSON text (also the text of a number or bool bound for a
    /// text column).
    Json(Cow<'a, str>),
    /// An integer that does not fit i64, of at most [`WEI_DIGITS`] digits.
    Wei(i128),
    /// A decimal, scaled by 10^[`DECIMAL_SCALE`], and the text it came from.
    Decimal(i128, &'a str),
    /// A date: days since 1970-01-01, and the text it came from.
    Date(i32, &'a str),
    /// A time of day in microseconds, and the text it came from (declared `time` columns).
    Time(i64, &'a str),
    /// Bytes (declared `binary` columns, from base64 text).
    Bytes(Vec<u8>),
}

impl Scalar<'_> {
    /// The type of this value.
    pub fn dlt_type(&self) -> DltType {
        match self {
            Self::Bool(_) => DltType::Bool,
            Self::BigInt(_) => DltType::BigInt,
            Self::Double(_) => DltType::Double,
            Self::Text(_) => DltType::Text,
            Self::Timestamp(..) => DltType::Timestamp,
            Self::Json(_) => DltType::Json,
            Self::Wei(_) => DltType::Wei,
            Self::Decimal(..) => DltType::Decimal,
            Self::Date(..) => DltType::Date,
            Self::Time(..) => DltType::Time,
            Self::Bytes(_) => DltType::Binary,
        }
    }
}

/// The scalar of an integer beyond 64 bits, given as decimal digits: `wei` if DECIMAL(38,0)
/// holds it, else text (as dlt's `large_integer` detection has it).
pub fn classify_wide(digits: &str) -> Scalar<'_> {
    match parse_wei(digits) {
        Some(v) => Scalar::Wei(v),
        None => Scalar::Text(digits),
    }
}

/// `digits` as an integer that fits DECIMAL(38,0).
fn parse_wei(digits: &str) -> Option<i128> {
    let digits = digits.trim();
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || unsigned.len() > usize::from(WEI_DIGITS) {
        return None;
    }
    digits.parse().ok()
}

/// The scalar of a decimal's text (dlt's typed JSON): a `decimal` if DECIMAL(38,9) holds
/// it, else text.
pub fn classify_decimal(s: &str) -> Scalar<'_> {
    match parse_decimal(s) {
        Some(v) => Scalar::Decimal(v, s),
        None => Scalar::Text(s),
    }
}

/// The scalar of a date's text (`YYYY-MM-DD`, dlt's typed JSON), else text.
pub fn classify_date(s: &str) -> Scalar<'_> {
    match parse_date(s) {
        Some(days) => Scalar::Date(days, s),
        None => Scalar::Text(s),
    }
}

/// Days since 1970-01-01 of an ISO date, of the years Python's `date` holds (1 to 9999),
/// as dlt reads dates.
fn parse_date(s: &str) -> Option<i32> {
    let date = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    if !(1..=9999).contains(&chrono::Datelike::year(&date)) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// A decimal's text (`-12.5`, `1E+3`) scaled by 10^[`DECIMAL_SCALE`], rounded half away from
/// zero as DuckDB casts; `None` if it is not a number or does not fit DECIMAL(38,9).
fn parse_decimal(s: &str) -> Option<i128> {
    parse_decimal_at(s, DECIMAL_DIGITS, DECIMAL_SCALE.unsigned_abs())
}

/// A decimal's text scaled by 10^`scale`, rounded half away from zero; `None` if it is not a
/// number or has more than `digits` digits.
fn parse_decimal_at(s: &str, precision: u8, scale: u8) -> Option<i128> {
    let s = s.trim();
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // The digits as one integer, and where the point is after applying the exponent.
    let all: String = whole.chars().chain(fraction.chars()).collect();
    let all = all.trim_start_matches('0');
    let point = i32::try_from(fraction.len()).ok()? - exponent;
    let shift = i32::from(scale) - point;
    let limit = 10i128.checked_pow(u32::from(precision))?;
    let mut value: i128 = if all.is_empty() { 0 } else { all.parse().ok()? };
    if shift >= 0 {
        value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
    } else {
        let divisor = 10i128
            .checked_pow(shift.unsigned_abs())
            .unwrap_or(i128::MAX);
        let (q, r) = (value / divisor, value % divisor);
        value = q + i128::from(r * 2 >= divisor);
    }
    (value < limit).then_some(if negative { -value } else { value })
}

/// The scalar form of a string: a timestamp if it reads as an ISO-8601 date-time, else text.
pub fn classify_str(s: &str) -> Scalar<'_> {
    match parse_iso_timestamp(s) {
        Some(micros) => Scalar::Timestamp(micros, s),
        None => Scalar::Text(s),
    }
}

/// `value` converted to a column of type `to`, or `None` if it does not fit (→ variant column).
/// The rules are dlt's `coerce_value` for the types Dango infers.
pub fn coerce<'a>(value: Scalar<'a>, to: DltType) -> Option<Scalar<'a>> {
    use Scalar as S;
    if value.dlt_type() == to {
        return Some(value);
    }
    Some(match (value, to) {
        // Text columns take anything, written as dlt writes it (Python's str(), JSON for nested).
        (S::Timestamp(_, text), DltType::Text) => S::Text(text),
        (S::Json(j), DltType::Text) => S::Json(j),
        (S::BigInt(i), DltType::Text) => S::Json(i.to_string().into()),
        (S::Double(f), DltType::Text) => S::Json(f.to_string().into()),
        (S::Bool(b), DltType::Text) => S::Json(if b { "True" } else { "False" }.into()),
        (S::BigInt(i), DltType::Double) => S::Double(i as f64),
        (S::Wei(v), DltType::Double) => S::Double(v as f64),
        (S::Wei(v), DltType::Text) => S::Json(v.to_string().into()),
        (S::Wei(v), DltType::BigInt) => S::BigInt(i64::try_from(v).ok()?),
        (S::BigInt(i), DltType::Wei) => S::Wei(i128::from(i)),
        (S::Double(f), DltType::Wei) if f.fract() == 0.0 && f.abs() < 1e38 => S::Wei(f as i128),
        (S::Text(t), DltType::Wei) => S::Wei(parse_wei(t)?),
        (S::Double(f), DltType::BigInt)
            if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 =>
        {
            S::BigInt(f as i64)
        }
        (S::Text(t), DltType::BigInt) => S::BigInt(parse_int(t)?),
        (S::Text(t), DltType::Double) => match parse_int(t) {
            Some(i) if t.trim().starts_with("0x") => S::Double(i as f64),
            _ => S::Double(t.trim().parse().ok().filter(|f: &f64| f.is_finite())?),
        },
        (S::BigInt(i), DltType::Bool) => S::Bool(i != 0),
        (S::Double(f), DltType::Bool) => S::Bool(f != 0.0),
        (S::Text(t), DltType::Bool) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "t" | "y" | "1" => S::Bool(true),
            "false" | "no" | "f" | "n" | "0" => S::Bool(false),
            _ => return None,
        },
        (S::BigInt(i), DltType::Timestamp) => S::Timestamp(micros_of_seconds(i)?, ""),
        (S::Double(f), DltType::Timestamp) => S::Timestamp(micros_of_float_seconds(f)?, ""),
        (S::Text(t), DltType::Timestamp) => S::Timestamp(parse_loose_timestamp(t)?, t),
        (S::Decimal(_, t) | S::Date(_, t), DltType::Text) => S::Text(t),
        (S::Decimal(v, _), DltType::Double) => S::Double(v as f64 / 1e9),
        (S::Decimal(v, _), DltType::BigInt) if v % 1_000_000_000 == 0 => {
            S::BigInt(i64::try_from(v / 1_000_000_000).ok()?)
        }
        (S::BigInt(i), DltType::Decimal) => S::Decimal(i128::from(i) * 1_000_000_000, ""),
        (S::Wei(v), DltType::Decimal) => {
            let scaled = v.checked_mul(1_000_000_000)?;
            // DECIMAL(38,9) holds 29 digits before the point; Arrow would not check.
            (scaled.unsigned_abs() < 10u128.pow(u32::from(DECIMAL_DIGITS))).then_some(())?;
            S::Decimal(scaled, "")
        }
        (S::Double(f), DltType::Decimal) if f.is_finite() && f.abs() < 1e28 => {
            S::Decimal((f * 1e9).round() as i128, "")
        }
        (S::Text(t), DltType::Decimal) => S::Decimal(parse_decimal(t)?, t),
        (S::Date(days, t), DltType::Timestamp) => {
            S::Timestamp(i64::from(days).checked_mul(86_400_000_000)?, t)
        }
        // As dlt: a date, else a date-time or Unix seconds, whose (UTC) day it keeps.
        (S::Text(t), DltType::Date) => match parse_date(t) {
            Some(days) => S::Date(days, t),
            None => S::Date(day_of(parse_loose_timestamp(t)?)?, t),
        },
        // Declared types: a naive timestamp is read as any timestamp (and kept as UTC); one
        // in nanoseconds holds only the years 1677 to 2262, and a value beyond them goes to a
        // variant rather than to Arrow's cast, which would make it NULL.
        (value, DltType::NaiveTimestamp(digits)) => match coerce(value, DltType::Timestamp)? {
            S::Timestamp(micros, t) if digits <= 6 || micros.checked_mul(1_000).is_some() => {
                S::Timestamp(micros, t)
            }
            _ => return None,
        },
        (value, DltType::SmallInt(bits)) => match coerce(value, DltType::BigInt)? {
            S::BigInt(i) if fits_bits(i, bits) => S::BigInt(i),
            _ => return None,
        },
        (value, DltType::Numeric(digits, scale)) => {
            let text = decimal_text(&value)?;
            S::Decimal(parse_decimal_at(&text, digits, scale)?, "")
        }
        (S::Text(t), DltType::Time) => S::Time(parse_time(t)?, t),
        (S::Text(t), DltType::Binary) => {
            use base64::Engine;
            S::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(t.trim())
                    .ok()?,
            )
        }
        // dlt keeps a datetime's day (UTC), and reads a number as Unix seconds.
        (S::Timestamp(micros, t), DltType::Date) => S::Date(day_of(micros)?, t),
        (S::BigInt(secs), DltType::Date) => S::Date(day_of(micros_of_seconds(secs)?)?, ""),
        (S::Double(secs), DltType::Date) => S::Date(day_of(micros_of_float_seconds(secs)?)?, ""),
        _ => return None,
    })
}

/// The first instant Python's `datetime` holds, 0001-01-01T00:00:00Z, in microseconds since
/// the epoch. dlt coerces a value into a timestamp or date through `datetime`, so one outside
/// its years (1 to 9999) goes to a variant column there; here too, and never to a number that
/// DuckDB would read as `infinity` (`i64::MAX` microseconds) or a wrapped one.
const FIRST_MICROS: i64 = -62_135_596_800_000_000;

/// The last instant Python's `datetime` holds, 9999-12-31T23:59:59.999999Z (see
/// [`FIRST_MICROS`]).
const LAST_MICROS: i64 = 253_402_300_799_999_999;

/// `micros` if Python's `datetime` holds that instant (see [`FIRST_MICROS`]).
fn in_datetime_range(micros: i64) -> Option<i64> {
    (FIRST_MICROS..=LAST_MICROS)
        .contains(&micros)
        .then_some(micros)
}

/// Microseconds since the epoch of `secs` Unix seconds, if a `datetime` holds them.
fn micros_of_seconds(secs: i64) -> Option<i64> {
    in_datetime_range(secs.checked_mul(1_000_000)?)
}

/// Microseconds since the epoch of `secs` Unix seconds (with a fraction), if a `datetime`
/// holds them. The cast to an integer saturates (`1e23` seconds would become `i64::MAX`,
/// DuckDB's `infinity`), so only a float within `i64` is cast; the range is then checked
/// exactly, which a float near 9999-12-31 is not.
fn micros_of_float_seconds(secs: f64) -> Option<i64> {
    let micros = secs * 1e6;
    (micros.abs() < i64::MAX as f64)
        .then_some(micros as i64)
        .and_then(in_datetime_range)
}

/// Days since 1970-01-01 of the (UTC) day of `micros`.
fn day_of(micros: i64) -> Option<i32> {
    i32::try_from(micros.div_euclid(86_400_000_000)).ok()
}

/// Whether `i` fits a signed integer of `bits` bits.
fn fits_bits(i: i64, bits: u8) -> bool {
    let bits = u32::from(bits.clamp(1, 64));
    bits == 64 || (-(1i64 << (bits - 1))..(1i64 << (bits - 1))).contains(&i)
}

/// A number's decimal text, for a declared decimal column: exact for integers, decimals and
/// text, the shortest round-trip form for a double (so `1.005` is 1.005, as dlt reads it).
fn decimal_text(value: &Scalar<'_>) -> Option<String> {
    Some(match value {
        Scalar::BigInt(i) => i.to_string(),
        Scalar::Wei(v) => v.to_string(),
        Scalar::Double(f) if f.is_finite() => format!("{f}"),
        Scalar::Text(t) => t.to_string(),
        Scalar::Decimal(_, t) if !t.is_empty() => t.to_string(),
        Scalar::Decimal(v, _) => {
            let (sign, v) = if *v < 0 { ("-", -v) } else { ("", *v) };
            let scale = 10i128.pow(u32::from(DECIMAL_SCALE.unsigned_abs()));
            format!("{sign}{}.{:09}", v / scale, v % scale)
        }
        _ => return None,
    })
}

/// Microseconds since midnight of `HH:MM[:SS[.ffffff]]`.
fn parse_time(t: &str) -> Option<i64> {
    let t = t.trim();
    let time = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(t, "%H:%M"))
        .ok()?;
    let since = time - chrono::NaiveTime::MIN;
    since.num_microseconds()
}

/// An integer as dlt's `int()` coercion reads it: trimmed, decimal or `0x` hex.
fn parse_int(t: &str) -> Option<i64> {
    let t = t.trim();
    match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// A string going into an existing timestamp column: any ISO date-time, a date (midnight UTC)
/// or Unix seconds.
fn parse_loose_timestamp(t: &str) -> Option<i64> {
    if let Some(micros) = parse_iso_timestamp(t) {
        return Some(micros);
    }
    if let Some(days) = parse_date(t) {
        return i64::from(days).checked_mul(86_400_000_000);
    }
    micros_of_float_seconds(t.trim().parse().ok()?)
}

static ISO_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?|\d{8}[Tt]\d{2}(\d{2}(\d{2}(\.\d{1,9})?)?)?)([Zz]|[+-]\d{2}(:?\d{2})?)?$",
    )
    .expect("valid regex")
});

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
fn full_utc_timestamp(s: &str) -> Option<i64> {
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
fn any_iso_timestamp(s: &str) -> Option<i64> {
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
fn could_be_iso(s: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    s.len() >= 11 && digits(0..4) && (s[4] == b'-' || (digits(4..8) && matches!(s[8], b'T' | b't')))
}

fn expand_compact_time(t: &str) -> String {
    let (hms, frac) = t.split_at(t.find('.').unwrap_or(t.len()));
    let parts: Vec<&str> = [0, 2, 4]
        .iter()
        .filter_map(|&i| hms.get(i..i + 2))
        .collect();
    format!("{}{frac}", parts.join(":"))
}

/// Splits a trailing `Z`/`+HH:MM`/`+HHMM`/`+HH` off; returns the rest and the offset in seconds.
fn split_offset(s: &str) -> Option<(&str, i64)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_timestamps_as_dlt_does() {
        // The left column was checked against dlt's `is_iso_timestamp`.
        let yes = [
            "2024-01-01T10:00:00Z",
            "2024-01-01 10:00:00",
            "2024-01-01T10:00:00.123+02:00",
            "2024-01-01T10:00",
            "20240115T101010Z",
            "2024-01-01T10:00:00+0200",
            "2024-01-01T10Z",
        ];
        let no = [
            "2024-01-01",
            "2024",
            "2024/01/15",
            "20240115",
            "10:00",
            "abc",
            "1",
            "2024-13-01T00:00:00Z",
            "2024-W01",
            "2024-1-1T10:00:00",
        ];
        for s in yes {
            assert!(
                parse_iso_timestamp(s).is_some(),
                "{s} should be a timestamp"
            );
        }
        for s in no {
            assert!(parse_iso_timestamp(s).is_none(), "{s} should be text");
        }
    }

    #[test]
    fn the_common_form_reads_as_the_general_reader_reads_it() {
        let forms = [
            "2024-01-01T10:00:00Z",
            "2024-01-01t10:00:00z",
            "2024-01-01 10:00:00",
            "2024-02-29T23:59:59.5Z",
            "2024-01-01T10:00:00.123456789Z",
            "1969-12-31T23:59:59.999999Z",
            "2023-02-29T10:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:60Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00.1234567890Z",
            "2024-01-01T10:00:0xZ",
            "2024-01-01X10:00:00Z",
        ];
        for s in forms {
            if let Some(micros) = full_utc_timestamp(s) {
                assert_eq!(Some(micros), any_iso_timestamp(s), "{s}");
            }
        }
        assert_eq!(
            full_utc_timestamp("2024-02-29T23:59:59.5Z"),
            Some(1_709_251_199_500_000)
        );
        assert_eq!(full_utc_timestamp("2023-02-29T10:00:00Z"), None);
        assert_eq!(full_utc_timestamp("2024-01-01T10:00:00+02:00"), None);
    }

    #[test]
    fn offsets_are_applied() {
        let utc = parse_iso_timestamp("2024-01-01T10:00:00Z").unwrap();
        assert_eq!(parse_iso_timestamp("2024-01-01T12:00:00+02:00"), Some(utc));
        assert_eq!(parse_iso_timestamp("2024-01-01 10:00:00"), Some(utc));
        assert_eq!(utc, 1_704_103_200_000_000);
    }

    #[test]
    fn strings_classify_as_timestamps_or_text() {
        assert_eq!(classify_str("x"), Scalar::Text("x"));
        let ts = "2024-01-01T10:00:00Z";
        assert_eq!(
            classify_str(ts),
            Scalar::Timestamp(1_704_103_200_000_000, ts)
        );
    }

    #[test]
    fn wide_integers_are_wei_up_to_38_digits_then_text() {
        assert_eq!(
            classify_wide("18446744073709551615"),
            Scalar::Wei(18446744073709551615)
        );
        assert_eq!(
            classify_wide("-9300000000000000000"),
            Scalar::Wei(-9300000000000000000)
        );
        let nines = "9".repeat(38);
        assert_eq!(classify_wide(&nines), Scalar::Wei(nines.parse().unwrap()));
        let long = "1".repeat(39);
        assert_eq!(classify_wide(&long), Scalar::Text(long.as_str()));
        assert_eq!(
            coerce(Scalar::BigInt(7), DltType::Wei),
            Some(Scalar::Wei(7))
        );
        assert_eq!(coerce(Scalar::Double(2.5), DltType::Wei), None);
        assert_eq!(
            coerce(Scalar::Wei(1 << 70), DltType::Text),
            Some(Scalar::Json("1180591620717411303424".into()))
        );
        assert_eq!(DltType::from_duckdb("DECIMAL(38,0)"), Some(DltType::Wei));
    }

    #[test]
    fn decimals_and_dates_of_typed_json_keep_their_types() {
        assert_eq!(
            classify_decimal("12.50"),
            Scalar::Decimal(12_500_000_000, "12.50")
        );
        assert_eq!(
            classify_decimal("-1E+2"),
            Scalar::Decimal(-100_000_000_000, "-1E+2")
        );
        assert_eq!(
            classify_decimal("0.0000000005"),
            Scalar::Decimal(1, "0.0000000005")
        );
        assert_eq!(classify_decimal("NaN"), Scalar::Text("NaN"));
        assert_eq!(
            classify_decimal(&"9".repeat(30)),
            Scalar::Text(&"9".repeat(30))
        );
        assert_eq!(classify_date("1970-01-02"), Scalar::Date(1, "1970-01-02"));
        assert_eq!(classify_date("2024-13-01"), Scalar::Text("2024-13-01"));
        assert_eq!(
            coerce(Scalar::Date(1, "1970-01-02"), DltType::Text),
            Some(Scalar::Text("1970-01-02"))
        );
        assert_eq!(
            coerce(Scalar::BigInt(3), DltType::Decimal),
            Some(Scalar::Decimal(3_000_000_000, ""))
        );
        assert_eq!(coerce(Scalar::Text("x"), DltType::Date), None);
        // As dlt: a datetime keeps its (UTC) day, an integer is Unix seconds.
        let evening = parse_iso_timestamp("2024-03-01T22:30:00Z").unwrap();
        let day = coerce(Scalar::Timestamp(evening, "t"), DltType::Date);
        assert_eq!(day, Some(Scalar::Date(19783, "t")));
        let day = coerce(Scalar::BigInt(1_709_251_200), DltType::Date);
        assert_eq!(day, Some(Scalar::Date(19783, "")));
    }

    #[test]
    fn declared_types_coerce_as_dlt_coerces_into_them() {
        let price = DltType::Numeric(12, 2);
        // dlt's examples: 1 → 1.00, 1.005 → 1.01, "3.14" → 3.14, "abc" and 1e20 do not fit.
        assert_eq!(
            coerce(Scalar::BigInt(1), price),
            Some(Scalar::Decimal(100, ""))
        );
        assert_eq!(
            coerce(Scalar::Double(1.005), price),
            Some(Scalar::Decimal(101, ""))
        );
        assert_eq!(
            coerce(Scalar::Text("3.14"), price),
            Some(Scalar::Decimal(314, ""))
        );
        assert_eq!(coerce(Scalar::Text("abc"), price), None);
        assert_eq!(coerce(Scalar::Double(1e20), price), None);
        let nine = classify_decimal("2.125");
        assert_eq!(coerce(nine, price), Some(Scalar::Decimal(213, "")));
        let tiny = DltType::SmallInt(8);
        assert_eq!(coerce(Scalar::BigInt(127), tiny), Some(Scalar::BigInt(127)));
        assert_eq!(coerce(Scalar::BigInt(300), tiny), None);
        assert_eq!(coerce(Scalar::Text("42"), tiny), Some(Scalar::BigInt(42)));
        let at = coerce(Scalar::Text("10:11:12.5"), DltType::Time);
        assert_eq!(at, Some(Scalar::Time(36_672_500_000, "10:11:12.5")));
        assert_eq!(coerce(Scalar::BigInt(3600), DltType::Time), None);
        let bytes = coerce(Scalar::Text("aGVsbG8="), DltType::Binary);
        assert_eq!(bytes, Some(Scalar::Bytes(b"hello".to_vec())));
        assert_eq!(coerce(Scalar::Text("hello"), DltType::Binary), None);
        let naive = coerce(
            Scalar::Text("2024-03-01T10:00:00+02:00"),
            DltType::NaiveTimestamp(3),
        );
        let utc = parse_iso_timestamp("2024-03-01T08:00:00Z").unwrap();
        assert!(
            matches!(naive, Some(Scalar::Timestamp(m, _)) if m == utc),
            "{naive:?}"
        );
    }

    #[test]
    fn values_beyond_a_type_go_to_a_variant_never_to_infinity_or_a_wrapped_number() {
        // Each case was loaded with dlt 1.31 under the same column hint: it keeps the value in
        // a variant column (timestamps and dates: beyond Python's years 1 to 9999).
        let ts = DltType::Timestamp;
        for value in [
            Scalar::Text("12345678901234.5678"),
            Scalar::Text("253402300800"),
            Scalar::Text("10000-01-01"),
            Scalar::Double(1e23),
            Scalar::Double(-1e20),
            Scalar::Double(f64::INFINITY),
            Scalar::BigInt(12_345_678_901_234),
            Scalar::BigInt(253_402_300_800),
            Scalar::BigInt(-62_135_596_801),
            Scalar::BigInt(i64::MAX),
        ] {
            assert_eq!(coerce(value.clone(), ts), None, "{value:?}");
        }
        // The first and last seconds `datetime` holds fit; so does a fraction.
        let last = coerce(Scalar::BigInt(253_402_300_799), ts);
        assert_eq!(last, Some(Scalar::Timestamp(253_402_300_799_000_000, "")));
        let first = coerce(Scalar::BigInt(-62_135_596_800), ts);
        assert_eq!(first, Some(Scalar::Timestamp(FIRST_MICROS, "")));
        let text = coerce(Scalar::Text("1700000000.5"), ts);
        assert_eq!(
            text,
            Some(Scalar::Timestamp(1_700_000_000_500_000, "1700000000.5"))
        );
        // dlt reads these as text: year 0, and a time zone that carries 9999 into 10000.
        for s in ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00"] {
            assert_eq!(classify_str(s), Scalar::Text(s));
        }
        assert!(parse_iso_timestamp("9999-12-31T23:59:59.999999Z").is_some());

        let date = DltType::Date;
        for value in [
            Scalar::BigInt(12_345_678_901_234),
            Scalar::BigInt(253_402_300_800),
            Scalar::Double(1e23),
            Scalar::Text("99999-01-01"),
            Scalar::Text("0000-01-01"),
            Scalar::Text("12345678901234"),
        ] {
            assert_eq!(coerce(value.clone(), date), None, "{value:?}");
        }
        // As dlt: a float or a text of Unix seconds is read as its (UTC) day.
        let day = parse_date("2023-11-14");
        assert_eq!(
            coerce(Scalar::Double(1.7e9), date),
            Some(Scalar::Date(19675, ""))
        );
        assert_eq!(day, Some(19675));
        let text = coerce(Scalar::Text("1700000000"), date);
        assert_eq!(text, Some(Scalar::Date(19675, "1700000000")));

        // Nanoseconds hold the years 1677 to 2262 only: not NULL through Arrow's cast.
        let far = classify_str("2500-01-01T00:00:00Z");
        assert_eq!(coerce(far.clone(), DltType::NaiveTimestamp(9)), None);
        assert!(coerce(far, DltType::NaiveTimestamp(6)).is_some());
        let near = classify_str("2200-01-01T00:00:00Z");
        assert!(coerce(near, DltType::NaiveTimestamp(9)).is_some());

        // DECIMAL(38,9) holds 29 digits before the point.
        let widest = 10i128.pow(29) - 1;
        let fits = coerce(Scalar::Wei(widest), DltType::Decimal);
        assert_eq!(fits, Some(Scalar::Decimal(widest * 1_000_000_000, "")));
        assert_eq!(coerce(Scalar::Wei(widest + 1), DltType::Decimal), None);
        assert_eq!(coerce(Scalar::Wei(-widest - 1), DltType::Decimal), None);

        // Integers narrower than the value (dlt fails the load on these; see the README).
        assert_eq!(coerce(Scalar::Double(1e23), DltType::BigInt), None);
        assert_eq!(
            coerce(Scalar::Text("99999999999999999999"), DltType::BigInt),
            None
        );
        assert_eq!(coerce(Scalar::Wei(1 << 70), DltType::BigInt), None);
        for (bits, value) in [(8, 128), (8, -129), (16, 32_768), (32, 2_147_483_648)] {
            let narrow = DltType::SmallInt(bits);
            assert_eq!(
                coerce(Scalar::BigInt(value), narrow),
                None,
                "{bits}: {value}"
            );
            let edge = if value < 0 { value + 1 } else { value - 1 };
            let fitted = coerce(Scalar::BigInt(edge), narrow);
            assert_eq!(fitted, Some(Scalar::BigInt(edge)), "{bits}: {edge}");
        }
        assert_eq!(coerce(Scalar::Wei(1 << 70), DltType::SmallInt(32)), None);
        assert_eq!(coerce(Scalar::Double(1e23), DltType::SmallInt(16)), None);

        // Times, as dlt: a time of day only.
        assert_eq!(coerce(Scalar::Text("25:00:00"), DltType::Time), None);
        assert_eq!(coerce(Scalar::Double(1e23), DltType::Time), None);
        assert_eq!(coerce(Scalar::BigInt(3600), DltType::Time), None);
    }

    #[test]
    fn coercion_keeps_exact_values_and_refuses_lossy_ones() {
        assert_eq!(
            coerce(Scalar::Double(2.0), DltType::BigInt),
            Some(Scalar::BigInt(2))
        );
        assert_eq!(coerce(Scalar::Double(1.7), DltType::BigInt), None);
        assert_eq!(
            coerce(Scalar::BigInt(3), DltType::Double),
            Some(Scalar::Double(3.0))
        );
        assert_eq!(coerce(Scalar::Text("abc"), DltType::BigInt), None);
        assert_eq!(
            coerce(Scalar::Timestamp(0, "1970-01-01T00:00:00Z"), DltType::Text),
            Some(Scalar::Text("1970-01-01T00:00:00Z"))
        );
        assert_eq!(coerce(Scalar::Bool(true), DltType::BigInt), None);
        assert_eq!(
            coerce(Scalar::Text(" 7 "), DltType::BigInt),
            Some(Scalar::BigInt(7))
        );
        assert_eq!(
            coerce(Scalar::Text("0x1F"), DltType::BigInt),
            Some(Scalar::BigInt(31))
        );
        assert_eq!(
            coerce(Scalar::Text("yes"), DltType::Bool),
            Some(Scalar::Bool(true))
        );
        assert_eq!(coerce(Scalar::Text("maybe"), DltType::Bool), None);
        assert_eq!(
            coerce(Scalar::BigInt(0), DltType::Bool),
            Some(Scalar::Bool(false))
        );
        assert_eq!(
            coerce(Scalar::Text("2024-02-02"), DltType::Timestamp),
            Some(Scalar::Timestamp(1_706_832_000_000_000, "2024-02-02"))
        );
        assert_eq!(coerce(Scalar::Text("not a date"), DltType::Timestamp), None);
    }
}
