//! Shared pieces of the serde visitors that read JSON in one pass (the normaliser, the record
//! selector).

/// The `visit_*` methods of JSON's scalars and of `Option`, each handing a [`serde_json::Value`]
/// to `self.scalar`; expands inside an `impl Visitor<'de>` whose type has a
/// `fn scalar<E>(self, value: Value) -> Result<Self::Value, E>`.
macro_rules! visit_scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::Bool(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::from(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::from(v))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::from(v))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::String(v.to_owned()))
        }

        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::String(v))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::Null)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            self.scalar(serde_json::Value::Null)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            de.deserialize_any(self)
        }
    };
}

pub(crate) use visit_scalars;
