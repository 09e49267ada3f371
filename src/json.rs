//! Shared pieces of the serde visitors that read JSON in one pass (the normaliser, the record
//! selector).

use serde_json::Value;

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
