//! Integers beyond 64 bits. serde_json hands an integer that fits neither `i64` nor `u64` to a
//! visitor as the nearest `f64`, which loses its last digits (a 30-digit id, or
//! -9300000000000000000). Such a float is rare and recognisable ([`is_wide`]), so a reader that
//! meets one reads the record's text again afterwards ([`wide_literals`]) to find the literal it
//! came from: an integer literal keeps its exact digits, a float literal (`1e30`) stays a float.

use std::ops::Range;

/// 2^64, the first float above every `u64`.
const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;
/// -2^63, `i64::MIN` as a float.
const MINUS_TWO_TO_63: f64 = -9_223_372_036_854_775_808.0;

/// Whether serde_json may have handed over the integer literal behind `f` as a float: `f` is
/// whole and outside what `i64` and `u64` hold.
pub fn is_wide(f: f64) -> bool {
    f.fract() == 0.0 && (f >= TWO_TO_64 || f <= MINUS_TWO_TO_63)
}

/// A number literal of a JSON text that serde_json reads as a wide float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideLiteral {
    /// Where the literal is in the text.
    pub span: Range<usize>,
    /// Whether it is written as an integer (no fraction, no exponent): then it is an integer
    /// beyond 64 bits; else a float that happens to be whole.
    pub integer: bool,
}

/// The number literals of `text`, a JSON value, that serde_json reads as floats for which
/// [`is_wide`] holds, in the order a reader meets them.
pub fn wide_literals(text: &[u8]) -> Vec<WideLiteral> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => i = string_end(text, i + 1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len()
                    && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                if let Some(literal) = wide(&text[start..i], start) {
                    found.push(literal);
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// The index after the string whose text starts at `i` (after its opening quote).
fn string_end(text: &[u8], mut i: usize) -> usize {
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The literal `token` (at `start`) if serde_json reads it as a wide float.
fn wide(token: &[u8], start: usize) -> Option<WideLiteral> {
    let integer = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    let wide = if integer {
        let (negative, digits) = match token.strip_prefix(b"-") {
            Some(digits) => (true, digits),
            None => (false, token),
        };
        // Past u64::MAX (20 digits) upwards, past i64::MIN (19 digits) downwards.
        let limit: &[u8] = if negative {
            b"9223372036854775808"
        } else {
            b"18446744073709551615"
        };
        digits.len() > limit.len() || (digits.len() == limit.len() && digits > limit)
    } else {
        std::str::from_utf8(token)
            .ok()?
            .parse::<f64>()
            .is_ok_and(is_wide)
    };
    wide.then(|| WideLiteral {
        span: start..start + token.len(),
        integer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{Deserializer, IgnoredAny, Visitor};

    /// The floats serde_json hands a visitor for `text`, in order.
    fn floats_seen(text: &str) -> Vec<f64> {
        struct Floats<'a>(&'a mut Vec<f64>);
        impl<'de> Visitor<'de> for Floats<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("json")
            }
            fn visit_f64<E>(self, v: f64) -> Result<(), E> {
                self.0.push(v);
                Ok(())
            }
            fn visit_i64<E>(self, _: i64) -> Result<(), E> {
                Ok(())
            }
            fn visit_u64<E>(self, _: u64) -> Result<(), E> {
                Ok(())
            }
            fn visit_str<E>(self, _: &str) -> Result<(), E> {
                Ok(())
            }
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_bool<E>(self, _: bool) -> Result<(), E> {
                Ok(())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                while seq.next_element_seed(Seed(&mut *self.0))?.is_some() {}
                Ok(())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value_seed(Seed(&mut *self.0))?;
                }
                Ok(())
            }
        }
        struct Seed<'a>(&'a mut Vec<f64>);
        impl<'de> serde::de::DeserializeSeed<'de> for Seed<'_> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
                de.deserialize_any(Floats(self.0))
            }
        }
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_any(Floats(&mut out)).unwrap();
        out
    }

    #[test]
    fn finds_the_literals_serde_json_reads_as_wide_floats() {
        let text = r#"{"a": 18446744073709551615, "b": 18446744073709551616, "s": "-99999999999999999999 \" 1e30",
            "c": [-9223372036854775808, -9223372036854775809, 1e30, 2.5, 123456789012345678901234567890, 2e19, 1e19]}"#;
        let found = wide_literals(text.as_bytes());
        let literals: Vec<(&str, bool)> = found
            .iter()
            .map(|l| (&text[l.span.clone()], l.integer))
            .collect();
        assert_eq!(
            literals,
            [
                ("18446744073709551616", true),
                ("-9223372036854775809", true),
                ("1e30", false),
                ("123456789012345678901234567890", true),
                ("2e19", false),
            ]
        );
        // The same numbers, in the same order, as serde_json's wide floats.
        let wide: Vec<f64> = floats_seen(text)
            .into_iter()
            .filter(|f| is_wide(*f))
            .collect();
        assert_eq!(wide.len(), found.len());
        assert!(!is_wide(1e19) && !is_wide(2.5) && is_wide(-9.3e18));
    }
}
