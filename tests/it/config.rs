//! `sources.yml` validation through the real binary: every problem at once, each with file,
//! source, field, line and a suggestion where one helps.

use crate::support;

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

/// The 1-based line of `yml` that carries the comment `# <marker>`.
fn line_of(yml: &str, marker: &str) -> usize {
    let tag = format!("# {marker}");
    yml.lines()
        .position(|l| l.trim_end().ends_with(&tag))
        .unwrap_or_else(|| panic!("no line marked `{tag}`"))
        + 1
}

/// Asserts that one line of `err` names the marked line of `yml`, `field`, and says `what`.
fn assert_reported(err: &str, yml: &str, marker: &str, field: &str, what: &str) {
    let place = format!("sources.yml:{}: ", line_of(yml, marker));
    let field = format!("field `{field}`: ");
    let found = err
        .lines()
        .find(|l| l.contains(&place) && l.contains(&field))
        .unwrap_or_else(|| panic!("no `{place}` with {field} in:\n{err}"));
    assert!(found.contains(what), "`{found}` should say `{what}`");
}

/// Runs `dango validate` and `dango sync` on the project: both must fail with the same
/// configuration problems, and sync before any request (it never got to open the warehouse).
/// Returns what validate printed.
fn rejected(p: &Project) -> String {
    let validate = p.dango(&["validate"]);
    validate.assert_failed();
    let sync = p.dango(&["sync"]);
    sync.assert_failed();
    assert_eq!(
        validate.stderr(),
        sync.stderr(),
        "validate and sync disagree"
    );
    assert!(
        !p.warehouse().exists(),
        "sync went past validation:\n{}",
        sync.all()
    );
    validate.stderr()
}

const IMPOSSIBLE: &str = r#"version: "1.0"
sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: "http://127.0.0.1:9"
      rate_limit: 1e-7 # rate
      retry:
        max_attempts: 0 # attempts
        backoff_seconds: -1 # backoff
        timeout_seconds: 0 # timeout
      resources:
        - name: orders
          pagination: {type: offset, limit: 0} # limit
        - name: users
          endpoint:
            path: /users
            paginator:
              type: page_number
              page_size: 0 # page_size
  - name: shop2
    type: rest_api
    rest_api:
      base_url: "http://127.0.0.1:9"
      concurrency: 0 # concurrency
      resources: [users]
  - name: shop3
    type: rest_api
    rest_api:
      base_url: "http://127.0.0.1:9"
      rate_limit: .inf # inf
      retry: {max_backoff_seconds: .nan} # nan
      resources: [users]
  - name: shop4
    type: rest_api
    rest_api:
      base_url: "http://127.0.0.1:9"
      rate_limit: {requests_per_second: 5, burst: 0} # burst
      resources: [users]
"#;

#[test]
fn impossible_values_are_errors_with_line_and_field_before_any_request() {
    let p = Project::new(IMPOSSIBLE);
    let err = rejected(&p);
    let y = IMPOSSIBLE;
    let src = "sources[0].rest_api";
    assert_reported(
        &err,
        y,
        "rate",
        &format!("{src}.rate_limit"),
        "one request an hour",
    );
    let retry = format!("{src}.retry");
    assert_reported(
        &err,
        y,
        "attempts",
        &format!("{retry}.max_attempts"),
        "at least 1",
    );
    assert_reported(
        &err,
        y,
        "backoff",
        &format!("{retry}.backoff_seconds"),
        "between 0",
    );
    assert_reported(
        &err,
        y,
        "timeout",
        &format!("{retry}.timeout_seconds"),
        "timeout",
    );
    assert_reported(
        &err,
        y,
        "limit",
        &format!("{src}.resources[0].pagination.limit"),
        "never ends",
    );
    assert_reported(
        &err,
        y,
        "page_size",
        &format!("{src}.resources[1].endpoint.paginator.page_size"),
        "at least 1",
    );
    let src = "sources[1].rest_api";
    assert_reported(
        &err,
        y,
        "concurrency",
        &format!("{src}.concurrency"),
        "at least 1",
    );
    let burst = "sources[3].rest_api.rate_limit.burst";
    assert_reported(&err, y, "burst", burst, "at least 1");
    let src = "sources[2].rest_api";
    assert_reported(
        &err,
        y,
        "inf",
        &format!("{src}.rate_limit"),
        "not a finite number",
    );
    assert_reported(
        &err,
        y,
        "nan",
        &format!("{src}.retry.max_backoff_seconds"),
        "not a finite number",
    );
    // Each problem once: the null a `.nan` would become is not reported again.
    assert!(err.contains("10 configuration problems found"), "{err}");
}

#[test]
fn only_http_urls_are_accepted_also_after_substitution_without_echoing_secrets() {
    let yml = r#"sources:
  - name: files
    type: rest_api
    rest_api:
      base_url: "ftp://files.example.com" # ftp
      resources:
        - name: local
          endpoint: "file:///etc/passwd" # file
  - name: hidden
    type: rest_api
    rest_api:
      base_url: "${HIDDEN_BASE}" # hidden
      resources: [users]
"#;
    let p = Project::new(yml);
    p.write(
        ".env",
        "HIDDEN_BASE=ftp://files.example.com/tok-5ecr3t-value\n",
    );
    // The first source's problems come from loading, the second's only once its variable is
    // in: sync stops at the first, validate checks every source to the end.
    let validate = p.dango(&["validate"]);
    validate.assert_failed();
    let sync = p.dango(&["sync"]);
    sync.assert_failed();
    assert!(!p.warehouse().exists(), "{}", sync.all());
    let err = validate.stderr();
    for problem in sync.stderr().lines().filter(|l| l.starts_with("  - ")) {
        assert!(err.contains(problem), "validate misses `{problem}`:\n{err}");
    }
    assert_reported(
        &err,
        yml,
        "ftp",
        "sources[0].rest_api.base_url",
        "`ftp:` URLs",
    );
    assert_reported(
        &err,
        yml,
        "file",
        "sources[0].rest_api.resources[0].endpoint",
        "`file:` URLs",
    );
    assert_reported(
        &err,
        yml,
        "hidden",
        "sources[1].rest_api.base_url",
        "`ftp:` URLs",
    );
    assert!(!err.contains("5ecr3t"), "the value leaked:\n{err}");
    let fixed = yml.replace("ftp://files.example.com\"", "https://files.example.com\"");
    let fixed = fixed.replace("file:///etc/passwd", "/passwd");
    let p = Project::new(&fixed);
    p.write(
        ".env",
        "HIDDEN_BASE=ftp://files.example.com/tok-5ecr3t-value\n",
    );
    let err = rejected(&p);
    assert_reported(
        &err,
        &fixed,
        "hidden",
        "sources[1].rest_api.base_url",
        "`ftp:` URLs",
    );
    assert!(!err.contains("5ecr3t"), "the value leaked:\n{err}");
}

#[test]
fn empty_names_are_errors() {
    let yml = r#"sources:
  - name: " " # source
    type: rest_api
    dataset_name: "" # dataset
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: "" # resource
          endpoint: /a
        - name: b
          table_name: "  " # table
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(&err, yml, "source", "sources[0].name", "is empty");
    assert_reported(&err, yml, "dataset", "sources[0].dataset_name", "is empty");
    let res = "sources[0].rest_api.resources";
    assert_reported(&err, yml, "resource", &format!("{res}[0].name"), "is empty");
    assert_reported(
        &err,
        yml,
        "table",
        &format!("{res}[1].table_name"),
        "is empty",
    );
}

#[test]
fn empty_keys_of_a_merge_are_errors() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: a
          primary_key: [] # pk
        - name: b
          write_disposition: append
          primary_key: [""] # blank
        - name: c
          merge_key: [] # mk
        - name: d
          write_disposition: append
          primary_key: []
"#;
    let err = rejected(&Project::new(yml));
    let res = "sources[0].rest_api.resources";
    assert_reported(
        &err,
        yml,
        "pk",
        &format!("{res}[0].primary_key"),
        "no key to match",
    );
    assert_reported(
        &err,
        yml,
        "blank",
        &format!("{res}[1].primary_key"),
        "empty column",
    );
    assert_reported(&err, yml, "mk", &format!("{res}[2].merge_key"), "is empty");
    assert!(err.contains("3 configuration problems found"), "{err}");
}

#[test]
fn reserved_table_and_dataset_names_are_errors() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    dataset_name: information_schema # dataset
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: cursors
          table_name: _dango_cursors # cursors
        - name: _dlt_loads # loads
        - name: _dltVersion # version
        - name: _dlt_feeder
          selected: false
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "dataset",
        "sources[0].dataset_name",
        "DuckDB uses",
    );
    let res = "sources[0].rest_api.resources";
    assert_reported(
        &err,
        yml,
        "cursors",
        &format!("{res}[0].table_name"),
        "`_dango_`",
    );
    assert_reported(&err, yml, "loads", &format!("{res}[1].name"), "`_dlt_`");
    assert_reported(
        &err,
        yml,
        "version",
        &format!("{res}[2].name"),
        "`_dlt_version`",
    );
    assert!(err.contains("4 configuration problems found"), "{err}");
}

#[test]
fn duplicate_keys_are_errors_at_the_second_one() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      base_url: https://other.example.com # base
      resources:
        - {name: a, endpoint: /a, endpoint: /b} # flow
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "base",
        "sources[0].rest_api.base_url",
        "first on line 5",
    );
    assert_reported(
        &err,
        yml,
        "flow",
        "sources[0].rest_api.resources[0].endpoint",
        "written twice",
    );
}

#[test]
fn a_bom_is_accepted_and_lines_stay_right() {
    let valid = "\u{feff}sources:\n  - name: a\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      resources: [users]\n";
    Project::new(valid).dango(&["validate"]).assert_ok();
    let yml = "\u{feff}sources:\n  - name: a\n    type: rest_api\n    rest_api:\n      base_url: ftp://api.example.com # url\n      resources: [users]\n";
    let err = rejected(&Project::new(yml));
    assert_eq!(line_of(yml, "url"), 5);
    assert_reported(
        &err,
        yml,
        "url",
        "sources[0].rest_api.base_url",
        "`ftp:` URLs",
    );
}

#[test]
fn dependency_circles_are_errors_with_line_and_field() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: a
          endpoint: "a/{resources.c.id}" # a
        - name: b
          endpoint: "b/{resources.a.id}"
        - name: c
          params: {b: "{resources.b.id}"}
        - name: x
          endpoint: "x/{resources.y.id}" # x
        - name: y
          endpoint: "y/{resources.x.id}"
"#;
    let err = rejected(&Project::new(yml));
    let res = "sources[0].rest_api.resources";
    assert_reported(
        &err,
        yml,
        "a",
        &format!("{res}[0].endpoint"),
        "`a` → `c` → `b` → `a` depend on each other in a circle",
    );
    assert_reported(
        &err,
        yml,
        "x",
        &format!("{res}[3].endpoint"),
        "`x` → `y` → `x`",
    );
    assert!(err.contains("2 configuration problems found"), "{err}");
}

#[test]
fn a_broken_resource_does_not_also_report_no_resources() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: a
          pagination: {type: nope} # broken
  - name: empty
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources: [] # empty
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "broken",
        "sources[0].rest_api.resources[0].pagination.type",
        "unknown variant",
    );
    assert_reported(
        &err,
        yml,
        "empty",
        "sources[1].rest_api.resources",
        "no resources",
    );
    assert_eq!(err.matches("no resources").count(), 1, "{err}");
}

#[test]
fn an_unset_variable_is_reported_once_with_its_line() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      headers:
        Authorization: "Bearer ${DANGO_TEST_NEVER_SET} ${DANGO_TEST_NEVER_SET}" # auth
      resources: [users]
"#;
    let p = Project::new(yml);
    let err = rejected(&p);
    assert_reported(
        &err,
        yml,
        "auth",
        "sources[0].rest_api.headers.Authorization",
        "`${DANGO_TEST_NEVER_SET}` is not set",
    );
    assert_eq!(err.matches("is not set").count(), 1, "{err}");
    assert!(err.contains("1 configuration problem found"), "{err}");
}

#[test]
fn accidental_table_collisions_are_errors_and_deliberate_ones_must_agree() {
    let yml = r#"sources:
  - name: crm
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: userData
        - name: user_data # accidental
        - name: people_a
          table_name: people
        - name: people_b
          table_name: people # disagree
          write_disposition: append
  - name: crm_copy
    type: rest_api
    dataset_name: raw_crm
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: user-data # across
"#;
    let err = rejected(&Project::new(yml));
    let res = "sources[0].rest_api.resources";
    assert_reported(
        &err,
        yml,
        "accidental",
        &format!("{res}[1].name"),
        "resources `userData` and `user_data` both load table `user_data`",
    );
    assert_reported(
        &err,
        yml,
        "disagree",
        &format!("{res}[3].table_name"),
        "write_disposition (append here, merge there)",
    );
    assert_reported(
        &err,
        yml,
        "across",
        "sources[1].rest_api.resources[0].name",
        "sources `crm` and `crm_copy` both load table `raw_crm.user_data`",
    );
    let agreed = r#"sources:
  - name: crm
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: people_a
          table_name: people
        - name: people_b
          table_name: People
"#;
    Project::new(agreed).dango(&["validate"]).assert_ok();
}

#[test]
fn a_missing_auth_secret_names_its_line_and_where_to_put_it() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      auth: {type: http_basic, username: bob} # auth
      resources: [users]
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "auth",
        "sources[0].rest_api.auth.password",
        "[sources.shop] in .dlt/secrets.toml",
    );
}

#[test]
fn fields_with_two_forms_show_both_when_neither_fits() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      rate_limit: fast # rate
      resources:
        - name: users
          primary_key: {column: id} # pk
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "rate",
        "sources[0].rest_api.rate_limit",
        "write `rate_limit: 10` or `rate_limit: {requests_per_second: 10, burst: 5}`",
    );
    assert_reported(
        &err,
        yml,
        "pk",
        "sources[0].rest_api.resources[0].primary_key",
        "`[org, id]`",
    );
}

#[test]
fn dlt_options_dango_lacks_are_refused_by_name_with_what_to_do() {
    let yml = r#"sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: https://api.example.com
      resources:
        - name: orders
          incremental:
            cursor_path: updated_at
            allow_external_schedulers: true # ext
"#;
    let err = rejected(&Project::new(yml));
    assert_reported(
        &err,
        yml,
        "ext",
        "sources[0].rest_api.resources[0].incremental.allow_external_schedulers",
        "dlt's `allow_external_schedulers` is not implemented by Dango yet: remove it",
    );

    // dlt's mapping form of `write_disposition` with every strategy and its options; what
    // cannot work is refused by name.
    let disposition = |form: &str| {
        format!(
            "sources:\n  - name: shop\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      resources:\n        - name: orders\n          write_disposition: {form} # wd\n          columns: {{deleted: {{data_type: bool, hard_delete: true}}, v: {{dedup_sort: desc}}}}\n"
        )
    };
    for ok in [
        "{disposition: merge, strategy: delete-insert, deduplicated: true}",
        "{disposition: merge, strategy: scd2, validity_column_names: [from_ts, to_ts], active_record_timestamp: '9999-12-31', boundary_timestamp: '2024-08-21T12:15:00+00:00', row_version_column_name: v}",
    ] {
        let yml = disposition(ok);
        let yml = match ok.contains("scd2") {
            // dedup_sort ranks delete-insert's records only.
            true => yml.replace(", v: {dedup_sort: desc}", ""),
            false => yml,
        };
        let run = Project::new(&yml).dango(&["validate"]);
        assert!(run.ok(), "{ok}: {}", run.all());
    }
    for (form, says) in [
        (
            "{disposition: merge, strategy: scd3}",
            "`scd3` is not one of dlt's merge strategies",
        ),
        (
            "{disposition: merge, strategy: scd2, boundary_timestamp: yesterday}",
            "`boundary_timestamp: yesterday` is not a date or date-time",
        ),
        (
            "{disposition: append, strategy: upsert}",
            "`strategy` applies only to `disposition: merge`",
        ),
        (
            "{disposition: merge, strategy: upsert, validity_column_names: [a, b]}",
            "`validity_column_names` applies only to `strategy: scd2`",
        ),
    ] {
        let yml = disposition(form);
        assert_reported(
            &rejected(&Project::new(&yml)),
            &yml,
            "wd",
            "sources[0].rest_api.resources[0].write_disposition",
            says,
        );
    }
    let yml = disposition("{disposition: merge, strategy: upsert}");
    let run = rejected(&Project::new(&yml));
    assert!(
        run.contains("`dedup_sort` applies only to `strategy: delete-insert`"),
        "{run}"
    );
    let yml = disposition("append");
    let run = rejected(&Project::new(&yml));
    assert!(
        run.contains("hard_delete") && run.contains("applies only to `merge`"),
        "{run}"
    );
}

/// `dango validate` checks every source on its own: three broken Python sources (a missing
/// module, a module that fails to import, a missing function) and two broken REST sources (a
/// misspelt field, an unset variable) are all named in one run, and the valid one is listed.
#[test]
fn validate_reports_every_sources_problems_in_one_run() {
    let py = support::reference_python().display().to_string();
    let python_source = |name: &str, module: &str, function: &str| {
        format!(
            "  - name: {name}\n    type: dlt_native\n    dlt_native:\n      source_module: {module}\n      source_name: {function}\n      python: \"{py}\"\n"
        )
    };
    let yml = [
        "sources:\n  - name: fine\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      resources: [users]\n".to_string(),
        python_source("py_no_module", "custom_sources.nope", "anything"),
        python_source("py_bad_import", "custom_sources.broken", "broken_source"),
        python_source("py_no_function", "custom_sources.present", "not_there"),
        "  - name: rest_typo\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      resources:\n        - name: users\n          endpoint: /users\n          paginaton: {type: page_number}\n".to_string(),
        "  - name: rest_unset\n    type: rest_api\n    rest_api:\n      base_url: https://api.example.com\n      headers: {Authorization: \"Bearer ${UNSET_TOKEN_FOR_TEST}\"}\n      resources: [users]\n".to_string(),
    ]
    .concat();
    let p = Project::new(&yml);
    p.write(
        "custom_sources/broken.py",
        "import dlt\nimport not_a_module_xyz\n",
    );
    p.write(
        "custom_sources/present.py",
        "import dlt\n\n@dlt.source\ndef present_source():\n    return []\n",
    );
    let run = p.dango(&["validate"]);
    run.assert_failed();
    let err = run.stderr();
    let expect = [
        (
            "source `py_no_module`",
            "importing `custom_sources.nope` failed",
        ),
        ("source `py_bad_import`", "not_a_module_xyz"),
        ("source `py_no_function`", "has no function `not_there`"),
        ("source `rest_typo`", "paginaton"),
        (
            "source `rest_unset`",
            "`${UNSET_TOKEN_FOR_TEST}` is not set",
        ),
    ];
    for (source, what) in expect {
        let line = err
            .lines()
            .find(|l| l.contains(source))
            .unwrap_or_else(|| panic!("no `{source}` in:\n{err}"));
        assert!(line.contains(what), "`{line}` should say `{what}`");
    }
    let out = run.stdout();
    assert!(
        out.contains("fine (enabled) → raw_fine, 1 resource(s)"),
        "{out}"
    );
    assert!(out.contains("py_no_function (enabled): not valid"), "{out}");
    assert!(!out.contains("is valid."), "{out}");
}

#[test]
fn an_incremental_cursor_that_cannot_be_read_is_an_error_before_any_request() {
    let yml = r#"version: "1.0"
sources:
  - name: shop
    type: rest_api
    rest_api:
      base_url: "http://127.0.0.1:9/"
      resources:
        - name: orders
          endpoint: /orders
          incremental:
            cursor_path: "items[?(@.x"  # bad_path
            start_param: " "  # blank_param
        - name: refunds
          endpoint:
            path: /refunds
            incremental:
              cursor_path: ""  # empty_path
"#;
    let p = Project::new(yml);
    let err = rejected(&p);
    let orders = "sources[0].rest_api.resources[0].incremental";
    assert_reported(
        &err,
        yml,
        "bad_path",
        &format!("{orders}.cursor_path"),
        "JSONPath",
    );
    assert_reported(
        &err,
        yml,
        "blank_param",
        &format!("{orders}.start_param"),
        "is empty",
    );
    let refunds = "sources[0].rest_api.resources[1].endpoint.incremental.cursor_path";
    assert_reported(&err, yml, "empty_path", refunds, "is empty");
}
