//! `.dango/sources.yml` files checked against `dango schema` by an independent validator (the
//! `jsonschema` crate, not Dango's loader): every config a test's `sync` or `validate` accepted
//! must pass it, or editors would flag a file Dango loads.

use std::path::Path;
use std::sync::OnceLock;

/// The schema `dango schema` prints, compiled once.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let output = super::dango_command()
            .arg("schema")
            .output()
            .expect("run dango schema");
        assert!(output.status.success(), "dango schema failed");
        let schema: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("dango schema prints JSON");
        jsonschema::validator_for(&schema).expect("dango schema is a valid JSON Schema")
    })
}

/// What the schema finds wrong with YAML `text` (none: it passes).
pub fn problems(text: &str) -> Vec<String> {
    let value: serde_json::Value = serde_yaml_ng::from_str(text).expect("YAML");
    validator()
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics, naming the problems, if `dir`'s `.dango/sources.yml` fails the schema.
pub fn assert_project_file_valid(dir: &Path) {
    let path = dir.join(".dango/sources.yml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let problems = problems(&text);
    assert!(
        problems.is_empty(),
        "Dango accepted a sources.yml its schema refuses:\n{}\n---\n{text}",
        problems.join("\n")
    );
}
