//! Shared pieces of the serde visitors that read JSON in one pass (the normaliser, the record
//! selector, the incremental cursor reader): scalars as [`Leaf`]s, readers without serde_json's
//! limit of 128 levels whose visitors grow the stack as they go deeper ([`deeper`]), compact
//! JSON text written straight from a reader ([`compact`]), and the exact digits of integers
//! beyond 64 bits ([`numbers`]).

pub mod compact;
pub mod numbers;
pub mod typed;

use serde::de::DeserializeSeed;
use serde_json::Value;
use serde_json::de::{SliceRead, StrRead};

/// A JSON scalar as a visitor receives it, before it is turned into anything.
#[derive(Debug)]
pub enum Leaf<'s> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A negative integer, or any that fits `i64`.
    I64(i64),
    /// A non-negative integer.
    U64(u64),
    /// A number with a fraction or exponent.
    F64(f64),
    /// A string the visitor may only borrow (it may point into the JSON text).
    Str(&'s str),
    /// A string handed over (from an already parsed value).
    String(String),
}

impl Leaf<'_> {
    /// The scalar as a [`Value`].
    pub fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::I64(i) => Value::from(i),
            Self::U64(u) => Value::from(u),
            Self::F64(f) => Value::from(f),
            Self::Str(s) => Value::String(s.to_owned()),
            Self::String(s) => Value::String(s),
        }
    }
}

/// The `visit_*` methods of JSON's scalars and of `Option`, each handing a [`Leaf`] to
/// `self.scalar`; expands inside an `impl Visitor<'de>` whose type has a
/// `fn scalar<E: serde::de::Error>(self, leaf: Leaf<'_>) -> Result<Self::Value, E>`.
macro_rules! visit_scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::Bool(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::I64(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::U64(v))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::F64(v))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::Str(v))
        }

        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::String(v))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::Null)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            self.scalar($crate::json::Leaf::Null)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            de.deserialize_any(self)
        }
    };
}

pub(crate) use visit_scalars;

/// Stack left below which a visitor going one level deeper continues on a new stack segment:
/// room for the frames of a few dozen levels, as callers may check only every few levels.
const RED_ZONE: usize = 256 * 1024;

/// Size of each new stack segment.
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Runs `f`, one nesting level deeper, on a fresh stack segment if this one is nearly used up:
/// records may be nested any number of levels, and no level may overflow the thread's stack.
/// Costs a comparison with the stack pointer when there is room.
pub fn deeper<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// A reader of `text` without serde_json's recursion limit; the visitors it drives guard the
/// stack with [`deeper`].
pub fn str_reader(text: &str) -> serde_json::Deserializer<StrRead<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    de
}

/// [`str_reader`] for bytes that may not be UTF-8 throughout.
pub fn slice_reader(bytes: &[u8]) -> serde_json::Deserializer<SliceRead<'_>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    de
}

/// How deep a parsed [`Value`] may nest. Records are normally read from their text at any
/// depth; a value is parsed only where a step must look inside it (a JSONPath selector, an
/// incremental cursor behind a filter, fields for dependent resources), and every recursive
/// operation on a value (drop, clone, print) must fit the stack. dlt stops at about 250.
pub const MAX_VALUE_DEPTH: usize = 1_000;

/// Parses `bytes` into a [`Value`] nested at most [`MAX_VALUE_DEPTH`] levels.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = slice_reader(bytes);
    let value = DeepValue { depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds a [`Value`] one [`deeper`] level at a time, counting the levels.
#[derive(Clone, Copy)]
pub struct DeepValue {
    /// Levels above the value being read.
    pub depth: usize,
}

impl<'de> DeserializeSeed<'de> for DeepValue {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl DeepValue {
    fn scalar<E>(self, leaf: Leaf<'_>) -> Result<Value, E> {
        Ok(leaf.into_value())
    }

    /// The seed of a value one level down; an error past [`MAX_VALUE_DEPTH`].
    fn inner<E: serde::de::Error>(self) -> Result<Self, E> {
        match self.depth < MAX_VALUE_DEPTH {
            true => Ok(Self {
                depth: self.depth + 1,
            }),
            false => Err(E::custom(format!(
                "JSON nested more than {MAX_VALUE_DEPTH} levels deep where Dango must parse it \
                 (a JSONPath data_selector or cursor_path, or fields for dependent resources); \
                 select such records with a plain path such as `data.items`"
            ))),
        }
    }
}

impl<'de> serde::de::Visitor<'de> for DeepValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    visit_scalars!();

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner::<A::Error>()?;
        deeper(|| {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element_seed(inner)? {
                items.push(item);
            }
            Ok(Value::Array(items))
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner::<A::Error>()?;
        deeper(|| {
            let mut out = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let value = map.next_value_seed(inner)?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        })
    }
}
