//! The JSON Schema of `.dango/sources.yml` (`dango schema`), generated from the structs the
//! loader reads the file into, so it cannot drift from what `dango validate` accepts. Editors
//! read it through yaml-language-server's modeline, which `dango init` writes.
//!
//! Two parts of the file are read by hand rather than through a struct, and are described here:
//! the top level (`loader::TOP_LEVEL_KEYS`) and a REST source's `resources` and
//! `resource_defaults`, which the loader parses entry by entry to report each one's mistakes.

use std::num::NonZeroUsize;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use super::config::{ResourceConfig, SourceEntry, WarehouseConfig};

/// Where `dango init` puts the schema, next to the file it describes.
pub const SCHEMA_FILE: &str = "sources.schema.json";

/// The top level of `.dango/sources.yml`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "Dango sources.yml")]
#[allow(dead_code)]
struct SourcesFileModel {
    /// The file format's version: `1` or `"1.0"`. Example: `version: 1`
    version: Option<Version>,
    /// Resources to sync at once across all sources, unless `--parallel` says otherwise.
    /// Example: `parallel: 4`
    parallel: Option<NonZeroUsize>,
    /// Where the sources load. Default: `data/warehouse.duckdb`.
    warehouse: Option<WarehouseConfig>,
    /// The sources, each loading into a schema of its own.
    sources: Vec<SourceEntry>,
}

/// `1`, `1.0` or `"1.0"`.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum Version {
    Number(f64),
    Text(String),
}

/// The schema, as JSON (draft 2020-12).
pub fn sources_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let resource = generator.subschema_for::<ResourceConfig>();
    let mut root = generator.into_root_schema_for::<SourcesFileModel>();
    add_resources(&mut root, resource);
    add_paginator_names(&mut root);
    loosen_auth(&mut root);
    root.to_value()
}

/// An auth block may leave out its secrets (dlt finds them in `.dlt/secrets.toml`), and a
/// mapping without `type` is bearer (dlt's shorthand).
fn loosen_auth(root: &mut Schema) {
    let Some(variants) = root
        .get_mut("$defs")
        .and_then(|d| d.get_mut("AuthConfig"))
        .and_then(|a| a.get_mut("oneOf"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut untyped = None;
    for variant in variants.iter_mut() {
        let kind = variant["properties"]["type"]["const"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let secrets = crate::source::rest::auth::secret_fields(&kind);
        if let Some(required) = variant.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| !r.as_str().is_some_and(|r| secrets.contains(&r)));
        }
        if kind == "bearer" {
            let mut bearer = variant.clone();
            if let Some(required) = bearer.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|r| r != "type");
            }
            if let Some(properties) = bearer.get_mut("properties").and_then(Value::as_object_mut) {
                properties.remove("type");
            }
            untyped = Some(bearer);
        }
    }
    variants.extend(untyped);
}

/// A paginator may be written as its type alone (dlt's shorthand, `paginator: header_link`),
/// and `json_link` is dlt's older name of `next_url`.
fn add_paginator_names(root: &mut Schema) {
    let Some(paginator) = root
        .get_mut("$defs")
        .and_then(|d| d.get_mut("PaginationConfig"))
    else {
        return;
    };
    let kind = |variant: &Value| {
        variant["properties"]["type"]["const"]
            .as_str()
            .map(str::to_string)
    };
    let mut variants: Vec<Value> = paginator["oneOf"].as_array().cloned().unwrap_or_default();
    if let Some(mut json_link) = variants
        .iter()
        .find(|v| kind(v).as_deref() == Some("next_url"))
        .cloned()
    {
        json_link["properties"]["type"]["const"] = json!("json_link");
        variants.push(json_link);
    }
    let names: Vec<String> = variants.iter().filter_map(kind).collect();
    let description = paginator.get("description").cloned();
    *paginator = json!({
        "description": description,
        "anyOf": [{"oneOf": variants}, {"type": "string", "enum": names}],
    });
}

/// Describes `rest_api.resources` (names or resource mappings) and `resource_defaults` (what
/// every resource takes, merged into each, so nothing of it is required).
fn add_resources(root: &mut Schema, resource: Schema) {
    let Some(defs) = root.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    let mut defaults = defs.get("ResourceConfig").cloned().unwrap_or_default();
    if let Some(defaults) = defaults.as_object_mut() {
        defaults.remove("required");
        defaults.insert(
            "description".into(),
            json!("Settings every resource of the source takes unless it sets its own."),
        );
    }
    defs.insert("ResourceDefaults".into(), defaults);
    let Some(properties) = defs
        .get_mut("RestApiConfig")
        .and_then(|c| c.get_mut("properties"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    properties.insert(
        "resources".into(),
        json!({
            "description": "The endpoints to load: a name (its path, e.g. `users`) or a \
                            resource mapping with `name` and `endpoint`.",
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, resource.to_value()]},
        }),
    );
    properties.insert(
        "resource_defaults".into(),
        json!({
            "description": "Settings every resource takes unless it sets its own (dlt's \
                            `resource_defaults`, merged into each).",
            "$ref": "#/$defs/ResourceDefaults",
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_top_level_key_the_loader_reads() {
        let schema = sources_schema();
        let mut keys: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        let mut expected = super::super::loader::TOP_LEVEL_KEYS.to_vec();
        expected.sort();
        assert_eq!(keys, expected);
        assert_eq!(schema["additionalProperties"], json!(false));
    }

    /// serde's aliases are invisible to schemars: each must be added by hand
    /// (`source::config_schema`), and this finds any that was not.
    #[test]
    fn every_serde_alias_of_the_config_is_in_the_schema() {
        fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                match path.is_dir() {
                    true => sources(&path, out),
                    false => out.push(std::fs::read_to_string(&path).unwrap_or_default()),
                }
            }
        }
        let mut texts = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut texts,
        );
        let schema = sources_schema().to_string();
        let alias = regex::Regex::new(r#"#\[serde\([^\]]*alias = "([^"]+)""#).unwrap();
        let mut found = 0;
        for text in &texts {
            for name in alias.captures_iter(text).map(|c| c[1].to_string()) {
                found += 1;
                assert!(
                    schema.contains(&format!("\"{name}\"")),
                    "alias `{name}` is not in the schema"
                );
            }
        }
        assert!(found >= 10, "{found} aliases");
    }

    #[test]
    fn rest_sources_list_their_resources_and_defaults() {
        let schema = sources_schema();
        let rest = &schema["$defs"]["RestApiConfig"]["properties"];
        assert_eq!(rest["resources"]["type"], "array");
        assert_eq!(
            rest["resource_defaults"]["$ref"],
            "#/$defs/ResourceDefaults"
        );
        let defaults = &schema["$defs"]["ResourceDefaults"];
        assert!(defaults.get("required").is_none());
        assert!(defaults["properties"]["primary_key"].is_object());
    }
}
