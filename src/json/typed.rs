//! dlt's typed JSON: dlt writes values JSON has no type for (decimals, datetimes, dates, ...)
//! as strings that start with a character of Unicode's private-use area naming the type
//! (`json.typed_dumps`). Pages from Python sources come in this form, so those values keep
//! their types.

/// The type a tagged string carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `Decimal`, as `str(d)`.
    Decimal,
    /// `datetime`, ISO 8601.
    DateTime,
    /// `date`, ISO 8601.
    Date,
    /// `UUID`, as text.
    Uuid,
    /// `HexBytes`, as hex.
    HexBytes,
    /// `bytes`, as base64.
    Base64Bytes,
    /// `Wei` (an integer beyond 64 bits), as digits.
    Wei,
    /// `time`, ISO 8601.
    Time,
}

/// dlt's first tag character (`PUA_START`, U+F026); the tags follow in [`Tag`]'s order.
const FIRST: u32 = 0xF026;

/// The tag of `s` and the value after it, if `s` is a tagged string.
pub fn split(s: &str) -> Option<(Tag, &str)> {
    let first = s.chars().next()?;
    let tag = match u32::from(first).checked_sub(FIRST)? {
        0 => Tag::Decimal,
        1 => Tag::DateTime,
        2 => Tag::Date,
        3 => Tag::Uuid,
        4 => Tag::HexBytes,
        5 => Tag::Base64Bytes,
        6 => Tag::Wei,
        7 => Tag::Time,
        _ => return None,
    };
    Some((tag, &s[first.len_utf8()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_and_plain_strings_are_not() {
        assert_eq!(split("\u{F026}12.50"), Some((Tag::Decimal, "12.50")));
        assert_eq!(split("\u{F028}2024-01-31"), Some((Tag::Date, "2024-01-31")));
        assert_eq!(split("\u{F02D}10:00:00"), Some((Tag::Time, "10:00:00")));
        assert_eq!(split("\u{F02E}x"), None);
        assert_eq!(split("12.50"), None);
        assert_eq!(split(""), None);
    }
}
