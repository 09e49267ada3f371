//! dlt's data types and its rules for them: which type a JSON value has (ISO-8601 strings are
//! timestamps), and whether a value fits a column of another type (`coerce`). A value that does
//! not fit goes to a variant column, never into the column as garbage.

use std::borrow::Cow;

pub use crate::hints::{DECIMAL_DIGITS, DECIMAL_SCALE, DltType, WEI_DIGITS};
pub use time::parse_iso_timestamp;
use time::*;

#[cfg(test)]
mod tests;
mod time;

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
pub(super) fn parse_date(s: &str) -> Option<i32> {
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

/// An integer as dlt's `int()` coercion reads it: trimmed, decimal or `0x` hex.
fn parse_int(t: &str) -> Option<i64> {
    let t = t.trim();
    match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}
