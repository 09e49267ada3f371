//! Compact JSON text written straight from a reader, byte for byte what parsing into a
//! `serde_json::Value` and printing it gives (a repeated key keeps its first place and its last
//! value, numbers print as serde_json prints them), without building the tree: nested data kept
//! whole beyond `max_table_nesting` costs no allocation per node, and any depth fits the stack.

use std::fmt::{self, Write};
use std::hash::BuildHasher;
use std::ops::Range;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Leaf, deeper, numbers};

/// Writes the value it reads to `out` as compact JSON.
pub struct Compact<'o> {
    out: &'o mut String,
    /// Counts integers beyond 64 bits that arrive as floats (see [`numbers`]).
    wide: &'o mut usize,
}

impl<'o> Compact<'o> {
    /// A writer appending to `out`, counting wide integers in `wide`.
    pub fn new(out: &'o mut String, wide: &'o mut usize) -> Self {
        Self { out, wide }
    }

    fn scalar<E>(self, leaf: Leaf<'_>) -> Result<(), E> {
        let out = self.out;
        match leaf {
            Leaf::Null => out.push_str("null"),
            Leaf::Bool(b) => out.push_str(if b { "true" } else { "false" }),
            Leaf::I64(i) => out.push_str(itoa::Buffer::new().format(i)),
            Leaf::U64(u) => out.push_str(itoa::Buffer::new().format(u)),
            Leaf::F64(f) => {
                *self.wide += usize::from(numbers::is_wide(f));
                match serde_json::Number::from_f64(f) {
                    Some(n) => {
                        let _ = write!(out, "{n}");
                    }
                    None => out.push_str("null"),
                }
            }
            Leaf::Str(s) => escape(out, s),
            Leaf::String(s) => escape(out, &s),
        }
        Ok(())
    }

    /// Writes the object `map` is reading.
    pub fn map<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Self { out, wide } = self;
        deeper(|| {
            out.push('{');
            let start = out.len();
            let mut members: Vec<Member> = Vec::new();
            let mut repeated = false;
            let hasher = foldhash::fast::FixedState::with_seed(0);
            loop {
                let comma = out.len();
                if !members.is_empty() {
                    out.push(',');
                }
                let key_start = out.len();
                if map.next_key_seed(Key(&mut *out))?.is_none() {
                    out.truncate(comma);
                    break;
                }
                let key = key_start..out.len();
                out.push(':');
                let value_start = out.len();
                map.next_value_seed(Compact {
                    out: &mut *out,
                    wide: &mut *wide,
                })?;
                let hash = hasher.hash_one(&out[key.clone()]);
                repeated |= members
                    .iter()
                    .any(|m| m.hash == hash && out[m.key.clone()] == out[key.clone()]);
                members.push(Member {
                    hash,
                    key,
                    value: value_start..out.len(),
                });
            }
            if repeated {
                keep_last_values(out, start, &members);
            }
            out.push('}');
            Ok(())
        })
    }

    /// Writes the list `seq` is reading.
    pub fn seq<'de, A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Self { out, wide } = self;
        deeper(|| {
            out.push('[');
            let mut first = true;
            loop {
                let comma = out.len();
                if !first {
                    out.push(',');
                }
                let item = Compact {
                    out: &mut *out,
                    wide: &mut *wide,
                };
                if seq.next_element_seed(item)?.is_none() {
                    out.truncate(comma);
                    break;
                }
                first = false;
            }
            out.push(']');
            Ok(())
        })
    }
}

/// Where one member of an object was written.
struct Member {
    hash: u64,
    key: Range<usize>,
    value: Range<usize>,
}

/// Rewrites the members written from `start` so each key appears once, in its first place,
/// with its last value, as a parsed object has it.
fn keep_last_values(out: &mut String, start: usize, members: &[Member]) {
    let text = out[start..].to_string();
    let at = |r: &Range<usize>| &text[r.start - start..r.end - start];
    let mut kept = String::with_capacity(text.len());
    for (i, member) in members.iter().enumerate() {
        let key = at(&member.key);
        if members[..i].iter().any(|m| at(&m.key) == key) {
            continue;
        }
        let last = members.iter().rev().find(|m| at(&m.key) == key);
        if !kept.is_empty() {
            kept.push(',');
        }
        kept.push_str(key);
        kept.push(':');
        kept.push_str(at(&last.unwrap_or(member).value));
    }
    out.truncate(start);
    out.push_str(&kept);
}

impl<'de> DeserializeSeed<'de> for Compact<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Compact<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    super::visit_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.seq(seq)
    }
}

/// Writes an object key as a JSON string.
struct Key<'o>(&'o mut String);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<(), E> {
        escape(self.0, key);
        Ok(())
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it: `"`, `\` and control
/// characters only.
pub fn escape(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        plain = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// `text`, a JSON value, as compact JSON.
pub fn to_compact(text: &[u8]) -> Result<String, serde_json::Error> {
    let (mut out, mut wide) = (String::with_capacity(text.len()), 0);
    let mut de = super::slice_reader(text);
    Compact::new(&mut out, &mut wide).deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn writes_what_a_parsed_value_prints() {
        let texts = [
            r#"{"a": 1, "b": [true, null, -2, 1.5, 1e30, 18446744073709551615, 1.0]}"#,
            r#"{"x": 1, "y": {"x": 2, "x": 3}, "x": 4, "z": [], "w": {}}"#,
            r#"["caf\u00e9", "tab\there", "quote\"back\\slash", "\u0001\u001f\u007f", "/"]"#,
            r#"{"": "", "k\"ey": [[[]]], "n": 123456789012345678901234567890}"#,
            r#"  [ 1 , { "a" : [ { } ] } ]  "#,
            "-0",
            "0.1",
            "\"\\ud83d\\ude00\"",
        ];
        for text in texts {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                to_compact(text.as_bytes()).unwrap(),
                value.to_string(),
                "{text}"
            );
        }
        assert!(to_compact(b"[1, 2").is_err());
    }

    #[test]
    fn any_depth_fits_the_stack() {
        let depth = 200_000;
        let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(to_compact(text.as_bytes()).unwrap(), text);
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert_eq!(to_compact(objects.as_bytes()).unwrap(), objects);
    }
}
