//! `sources.yml` validation through the real binary: every problem at once, each with file,
//! source, field, line and a suggestion where one helps.

mod support;

use support::Project;

const BROKEN: &str = r#"version: "1.0"
sources:
  - name: shop
    type: rest_api
    enabeld: true
    rest_api:
      base_url: "http://127.0.0.1:9"
      resources:
        - name: users
          endpoint: /users
          pagination:
            type: page_numbr
        - name: users
          endpoint: /u2
        - name: orders
          endpoint: /orders
          params: [1, 2]
        - name: tags
          endpoint: 5
  - name: billing
    type: rest_api
    rest_api:
      resources:
        - name: invoices
          endpoint: /invoices
  - name: shop
    type: graphql
"#;

#[test]
fn every_problem_is_reported_together_with_lines_and_suggestions() {
    let p = Project::new(BROKEN);
    let run = p.dango(&["validate"]);
    run.assert_failed();
    let err = run.stderr();
    let expect = [
        (
            "sources.yml:5: source `shop`: field `sources[0].enabeld`",
            "did you mean `enabled`?",
        ),
        (
            "sources.yml:12: source `shop`: field `sources[0].rest_api.resources[0].pagination",
            "did you mean `page_number`?",
        ),
        (
            "sources.yml:13: source `shop`: field `sources[0].rest_api.resources[1].name`",
            "duplicate resource name",
        ),
        (
            "sources.yml:17: source `shop`: field `sources[0].rest_api.resources[2].params`",
            "invalid type",
        ),
        (
            "sources.yml:19: source `shop`: field `sources[0].rest_api.resources[3].endpoint`",
            "expected a path such as /users",
        ),
        (
            "sources.yml:22: source `billing`: field `sources[1].rest_api.base_url`",
            "missing `base_url`",
        ),
        ("field `sources[2].type`", "unknown variant `graphql`"),
        (
            "sources.yml:26: source `shop`: field `sources[2].name`",
            "duplicate source name",
        ),
    ];
    for (place, what) in expect {
        let line = err
            .lines()
            .find(|l| l.contains(place))
            .unwrap_or_else(|| panic!("no `{place}` in:\n{err}"));
        assert!(line.contains(what), "`{line}` should say `{what}`");
    }
    assert!(err.contains("configuration problems found"), "{err}");
}

#[test]
fn a_valid_file_validates_and_lists_its_sources() {
    let p = Project::new(
        "version: \"1.0\"\nsources:\n  - name: a\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      resources:\n        - name: users\n          endpoint: /users\n",
    );
    let run = p.dango(&["validate"]);
    run.assert_ok();
    assert!(
        run.stdout().contains("a (enabled) → raw_a, 1 resource(s)"),
        "{}",
        run.stdout()
    );
}

#[test]
fn a_base_url_that_is_not_a_url_is_reported_before_any_request() {
    let p = Project::new(
        "sources:\n  - name: a\n    type: rest_api\n    rest_api:\n      base_url: api.example.com/v1\n      resources: [users]\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let err = run.stderr();
    assert!(
        err.contains("sources.yml:5: source `a`: field `sources[0].rest_api.base_url`"),
        "{err}"
    );
    assert!(
        err.contains("is not a URL") && err.contains("https://"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_errors_point_at_the_line() {
    let p = Project::new("sources:\n  - name: a\n    type: [rest_api\n");
    let run = p.dango(&["validate"]);
    run.assert_failed();
    assert!(run.stderr().contains("not valid YAML"), "{}", run.stderr());
    assert!(run.stderr().contains("sources.yml:"), "{}", run.stderr());
}

#[test]
fn missing_project_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = support::run_dango(dir.path(), &["sync"]);
    run.assert_failed();
    assert!(run.stderr().contains("dango init"), "{}", run.stderr());
}

#[test]
fn documented_examples_in_config_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            dango::project::loader::parse_sources(&path, &text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} examples found");
}
