//! `dango schema` against an independent JSON Schema validator: the documented examples pass,
//! wrong configs fail it as `dango validate` fails them. (Every config a test's `sync` or
//! `validate` accepted is checked too, in `support::run_dango_env`.)

use std::path::Path;

use crate::support::{self, Project, schema::problems};

#[test]
fn every_documented_example_passes_the_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            let found = problems(&std::fs::read_to_string(&path).unwrap());
            assert!(found.is_empty(), "{}: {found:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} examples");
    // The example `dango init` writes, with its modeline and the schema beside it.
    let project = tempfile::tempdir().unwrap();
    support::run_dango(project.path(), &["init"]).assert_ok();
    let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    assert!(yml.starts_with("# yaml-language-server: $schema=sources.schema.json\n"));
    assert_eq!(problems(&yml), Vec::<String>::new());
    let copy = std::fs::read_to_string(project.path().join(".dango/sources.schema.json")).unwrap();
    let printed = support::run_dango(project.path(), &["schema"]);
    printed.assert_ok();
    assert_eq!(copy.trim(), printed.stdout().trim());
}

/// Each a mistake a user makes; the schema must flag it, at the key, and Dango must refuse it.
#[test]
fn wrong_configs_fail_the_schema_and_validate_alike() {
    let resource = |lines: &str| {
        format!(
            "sources:\n  - name: shop\n    type: rest_api\n    rest_api:\n      \
             base_url: http://127.0.0.1:9\n      resources:\n        - name: orders\n          \
             endpoint: /orders\n{lines}"
        )
    };
    let wrong = [
        (
            "a misspelt top-level key",
            "source:\n  - name: shop\n".to_string(),
            "",
        ),
        (
            "a misspelt resource key",
            resource("          primay_key: id\n"),
            "primay_key",
        ),
        (
            "an unknown paginator",
            resource("          paginator: {type: pages}\n"),
            "paginator",
        ),
        (
            "an unknown disposition",
            resource("          write_disposition: upsert\n"),
            "write_disposition",
        ),
        (
            "an unknown merge strategy",
            resource("          write_disposition: {disposition: merge, strategy: scd3}\n"),
            "strategy",
        ),
        (
            "parallel: 0",
            format!("parallel: 0\n{}", resource("")),
            "parallel",
        ),
        (
            "an unknown auth type",
            resource("          auth: {type: kerberos}\n"),
            "auth",
        ),
        (
            "an unknown source type",
            "sources:\n  - name: shop\n    type: graphql\n".to_string(),
            "type",
        ),
        (
            "a column hint dlt lacks",
            resource("          columns: {id: {primary: true}}\n"),
            "columns",
        ),
    ];
    for (what, yml, key) in wrong {
        let found = problems(&yml);
        assert!(!found.is_empty(), "the schema passes {what}");
        assert!(
            found.iter().any(|p| p.contains(key)),
            "{what}: {found:?} does not name `{key}`"
        );
        let project = Project::new(&yml);
        project.dango(&["validate"]).assert_failed();
    }
}
