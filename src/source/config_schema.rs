//! What the JSON Schema of `sources.yml` (`project::schema`) needs beyond what `schemars`
//! derives: serde's `alias` names, which it does not see. Each struct with aliases names them
//! in a `#[schemars(transform = ...)]` beside the `#[serde(alias)]`; a test in
//! `project::schema` finds every alias of the source tree in the schema.

use schemars::Schema;
use schemars::transform::Transform;
use serde_json::{Value, json};

/// Adds each `(alias, field)` as a property with the field's schema; where the field is
/// required, either name satisfies it.
pub struct Aliases(pub &'static [(&'static str, &'static str)]);

impl Transform for Aliases {
    fn transform(&mut self, schema: &mut Schema) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        let mut either = Vec::new();
        if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
            for &(alias, field) in self.0 {
                if let Some(field_schema) = properties.get(field).cloned() {
                    properties.insert(alias.to_string(), field_schema);
                }
            }
        }
        if let Some(required) = object.get_mut("required").and_then(Value::as_array_mut) {
            for &(alias, field) in self.0 {
                if let Some(at) = required.iter().position(|r| r == field) {
                    required.remove(at);
                    either.push(json!({"anyOf": [{"required": [field]}, {"required": [alias]}]}));
                }
            }
        }
        if !either.is_empty() {
            object.insert("allOf".into(), Value::Array(either));
        }
    }
}

/// Adds `values` to a string enum's values (serde's aliases of unit variants).
pub struct MoreValues(pub &'static [&'static str]);

impl Transform for MoreValues {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
            values.extend(self.0.iter().map(|v| json!(v)));
        }
        // Documented variants come as `oneOf` of `const`s instead.
        if let Some(variants) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
            variants.extend(self.0.iter().map(|v| json!({"const": v})));
        }
    }
}
