//! End-to-end: the real `dango` binary syncing the in-repo mock API into a real DuckDB file.

use crate::support;

use support::{MockApi, Project, mock_api, rest_source};

const TOKEN: &str = "t0ken-for-tests-91c2";

/// The tutorial's Option 1 with every pagination style.
fn tutorial_project(api: &MockApi) -> Project {
    let yml = format!(
        r#"version: "1.0"
sources:
  - name: my_api
    type: rest_api
    enabled: true
    rest_api:
      base_url: "{}"
      headers:
        Authorization: "Bearer ${{MY_API_TOKEN}}"
      resources:
        - name: users
          endpoint: /users
          method: GET
          pagination:
            type: page_number
            param: page
            start: 1
        - name: orders
          endpoint: /orders
          method: GET
          params:
            status: completed
          pagination: {{type: offset, limit: 10}}
        - name: events
          endpoint: /events
          pagination: {{type: cursor, cursor_path: next_cursor}}
        - name: posts
          endpoint: /posts
"#,
        api.base_url()
    );
    let p = Project::new(&yml);
    p.write(".env", &format!("MY_API_TOKEN={TOKEN}\n"));
    p
}

fn completed_orders() -> impl Iterator<Item = usize> {
    (1..=120).filter(|id| id % 3 == 0)
}

both_warehouses!(tutorial_config_loads_every_pagination_style_with_real_types);
fn tutorial_config_loads_every_pagination_style_with_real_types() {
    let api = mock_api().bearer(TOKEN).start();
    let p = tutorial_project(&api);
    let run = p.dango(&["sync"]);
    run.assert_ok();
    assert!(
        run.stdout().contains("1 of 1 source(s) synced"),
        "{}",
        run.stdout()
    );

    assert_eq!(p.count("select count(*) from raw_my_api.users"), 25);
    assert_eq!(p.count("select count(*) from raw_my_api.orders"), 40);
    assert_eq!(p.count("select count(*) from raw_my_api.events"), 30);
    assert_eq!(p.count("select count(*) from raw_my_api.posts"), 30);
    assert_eq!(
        p.count("select count(*) from raw_my_api.orders where status <> 'completed'"),
        0
    );

    let users = p.columns("raw_my_api", "users");
    let expected = [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("is_active", "BOOLEAN"),
        ("signup_date", "TIMESTAMP WITH TIME ZONE"),
        ("profile__age", "BIGINT"),
        ("profile__country", "VARCHAR"),
        ("_dlt_load_id", "VARCHAR"),
        ("_dlt_id", "VARCHAR"),
    ];
    let got: Vec<(&str, &str)> = users
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(got, expected);

    let orders: Vec<String> = p
        .columns("raw_my_api", "orders")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        orders,
        [
            "id",
            "order_number",
            "status",
            "total",
            "created_at",
            "updated_at",
            "customer__id",
            "customer__name",
            "customer__address__city",
            "customer__address__zip",
            "_dlt_load_id",
            "_dlt_id"
        ]
    );
    assert_eq!(
        p.text("select customer__address__city || '|' || order_number || '|' || total::varchar from raw_my_api.orders where id = 3"),
        "Nairobi|ORD-00000003|13.25"
    );
    assert_eq!(
        p.text("select created_at::varchar from raw_my_api.orders where id = 3"),
        "2024-01-01 03:00:00+00"
    );

    // Lists became child tables linked to their parent rows.
    let items: i64 = completed_orders().map(|id| 1 + (id % 4) as i64).sum();
    assert_eq!(
        p.count("select count(*) from raw_my_api.orders__line_items"),
        items
    );
    assert_eq!(
        p.count(
            "select count(*) from raw_my_api.orders__line_items li join raw_my_api.orders o \
             on li._dlt_parent_id = o._dlt_id and li._dlt_root_id = o._dlt_id where o.id = 3"
        ),
        4
    );
    assert_eq!(p.text("select value from raw_my_api.orders__tags t join raw_my_api.orders o on t._dlt_parent_id = o._dlt_id where o.id = 3"), "standard");

    // The load is recorded as dlt records it.
    assert_eq!(
        p.count(
            "select count(*) from raw_my_api._dlt_loads where status = 0 and schema_name = 'my_api'"
        ),
        1
    );
    assert_eq!(
        p.count("select count(*) from raw_my_api.users u join raw_my_api._dlt_loads l on u._dlt_load_id = l.load_id"),
        25
    );
    // Rows go straight into the final tables: no staging schema, and none of the commit's
    // scratch tables, is left behind.
    assert!(p.tables("raw_my_api_staging").is_empty());
    assert_eq!(
        p.count(
            "select count(*) from duckdb_tables() \
             where table_name like '%staging%' or table_name like 'dango\\_%' escape '\\'"
        ),
        0
    );
}

both_warehouses!(resync_of_unchanged_data_merges_to_the_same_rows);
fn resync_of_unchanged_data_merges_to_the_same_rows() {
    let api = mock_api().bearer(TOKEN).start();
    let p = tutorial_project(&api);
    p.dango(&["sync"]).assert_ok();
    let before = p.count("select count(*) from raw_my_api.orders__line_items");
    p.dango(&["sync", "my_api"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_my_api.users"), 25);
    assert_eq!(p.count("select count(*) from raw_my_api.orders"), 40);
    assert_eq!(
        p.count("select count(distinct id) from raw_my_api.orders"),
        40
    );
    // The merged parents' old children were replaced, not duplicated.
    assert_eq!(
        p.count("select count(*) from raw_my_api.orders__line_items"),
        before
    );
    assert_eq!(p.count("select count(*) from raw_my_api._dlt_loads"), 2);
}

both_warehouses!(append_and_replace_dispositions);
fn append_and_replace_dispositions() {
    let api = mock_api().start();
    let resources = "        - name: tags\n          endpoint: /tags\n          write_disposition: append\n        \
                     - name: products\n          endpoint: /products\n          write_disposition: replace\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    p.dango(&["sync"]).assert_ok();
    p.dango(&["sync"]).assert_ok();
    assert_eq!(
        p.count("select count(*) from raw_shop.tags"),
        6,
        "append adds every sync's rows"
    );
    assert_eq!(
        p.count("select count(*) from raw_shop.products"),
        30,
        "replace keeps one sync's rows"
    );
    assert_eq!(
        p.count("select count(distinct _dlt_load_id) from raw_shop.products"),
        1
    );
    // Link-header pagination fetched every page.
    assert_eq!(p.count("select max(id) from raw_shop.products"), 30);
}

#[test]
fn every_third_request_failing_with_429_or_503_still_syncs_everything() {
    let api = mock_api().fail_every(3).start();
    let resources = "        - name: users\n          endpoint: /users\n        \
                     - name: orders\n          endpoint: /orders\n          pagination: {type: offset, limit: 7, total_path: total}\n";
    // Requests run concurrently, so which of them draws every third slot is down to timing: with
    // the default five attempts, one request drawing five in a row failed about one run in 60.
    let yml = rest_source("flaky", &api.base_url(), "", resources).replace(
        "retry: {backoff_seconds: 0.01,",
        "retry: {max_attempts: 12, backoff_seconds: 0.01,",
    );
    assert!(yml.contains("max_attempts: 12"));
    let p = Project::new(&yml);
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_flaky.users"), 25);
    assert_eq!(p.count("select count(*) from raw_flaky.orders"), 120);
    assert!(
        api.counters().failed() >= 3,
        "faults were injected: {}",
        api.counters().failed()
    );
}

#[test]
fn unset_variable_fails_before_any_request() {
    let api = mock_api().bearer(TOKEN).start();
    let p = tutorial_project(&api);
    p.write(".env", "# no token here\n");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.stderr().contains("`${MY_API_TOKEN}` is not set"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("source `my_api`"), "{}", run.stderr());
    assert_eq!(api.counters().total(), 0);
    assert!(!p.warehouse().exists() || p.tables("raw_my_api").is_empty());
}

#[test]
fn secrets_toml_supplies_variables_and_rejected_tokens_are_never_printed() {
    let api = mock_api().bearer(TOKEN).start();
    let p = tutorial_project(&api);
    p.write(".env", "");
    p.write(
        ".dlt/secrets.toml",
        "[sources.my_api]\nmy_api_token = \"wrong-secret-value\"\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let out = run.all();
    assert!(out.contains("HTTP 401"), "{out}");
    // Resources run in parallel: whichever is rejected first is reported, with its URL.
    assert!(
        out.contains(&format!("GET {}/", api.base_url())),
        "the URL is named: {out}"
    );
    assert!(out.contains("authorization"), "the header is named: {out}");
    run.assert_hides(&["wrong-secret-value"]);
    assert!(
        !p.tables("raw_my_api").iter().any(|t| t == "users"),
        "nothing was loaded"
    );
}

#[test]
fn merge_without_primary_key_says_which_field_to_set() {
    let api = mock_api().start();
    let resources =
        "        - name: orders\n          endpoint: /orders\n          primary_key: order_id\n";
    let p = Project::new(&rest_source("shop", &api.base_url(), "", resources));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("primary key `order_id`"),
        "{}",
        run.all()
    );
    assert!(run.all().contains("primary_key:"), "{}", run.all());
}

#[test]
fn selecting_an_unknown_source_suggests_the_right_one() {
    let api = mock_api().bearer(TOKEN).start();
    let p = tutorial_project(&api);
    let run = p.dango(&["sync", "my_apo"]);
    run.assert_failed();
    assert!(
        run.stderr().contains("did you mean `my_api`?"),
        "{}",
        run.stderr()
    );
}

#[test]
fn project_flag_works_from_elsewhere_and_disabled_sources_are_skipped() {
    let api = mock_api().start();
    let yml = format!(
        "sources:\n  - name: on\n    type: rest_api\n    rest_api:\n      base_url: \"{u}\"\n      resources:\n        - name: tags\n          endpoint: /tags\n  \
         - name: off\n    type: rest_api\n    enabled: false\n    rest_api:\n      base_url: \"{u}\"\n      resources:\n        - name: tags\n          endpoint: /tags\n",
        u = api.base_url()
    );
    let p = Project::new(&yml);
    let elsewhere = tempfile::tempdir().unwrap();
    let project = p.path().to_str().unwrap();
    support::run_dango(elsewhere.path(), &["sync", "--project", project]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_on.tags"), 3);
    assert!(p.tables("raw_off").is_empty());
}

/// `shop.orders` from an incremental cursor that the API takes as a range: through
/// `{incremental.*}` placeholders, or through `start_param`/`end_param`.
fn ranged_orders(api: &MockApi, disposition: &str, initial: &str, params: bool) -> Project {
    let range = match params {
        true => "          params:\n            updated_after: \"{incremental.start_value}\"\n            updated_before: \"{incremental.end_value}\"\n".to_string(),
        false => String::new(),
    };
    let by_param = match params {
        true => "",
        false => "\n            start_param: updated_after\n            end_param: updated_before",
    };
    let resources = format!(
        r#"        - name: orders
          endpoint: /orders
          write_disposition: {disposition}
          primary_key: id
{range}          pagination: {{type: offset, limit: 10, total_path: total}}
          incremental:
            cursor_path: updatedAt
            initial_value: "{initial}"{by_param}
"#
    );
    Project::new(&rest_source("shop", &api.base_url(), "", &resources))
}

both_warehouses!(a_windowed_backfill_loads_each_window_once_and_moves_the_cursor_past_it);
/// Orders are hourly from 2024-01-02T01:00Z (order 1) to 2024-01-07T00:00Z (order 120).
fn a_windowed_backfill_loads_each_window_once_and_moves_the_cursor_past_it() {
    for params in [true, false] {
        let api = mock_api().start();
        let p = ranged_orders(&api, "append", "2024-01-03T00:00:00Z", params);
        let backfill = [
            "sync",
            "--since",
            "2024-01-01T00:00:00Z",
            "--until",
            "2024-01-05T00:00:00Z",
            "--window",
            "1d",
            "--parallel",
            "3",
        ];
        let run = p.dango(&backfill);
        run.assert_ok();
        assert!(
            run.stdout().contains(
                "backfill 2024-01-01T00:00:00Z .. 2024-01-05T00:00:00Z: 4 window(s) loaded; \
                 the cursor moves to 2024-01-04T23:00:00Z"
            ),
            "{}",
            run.stdout()
        );
        // Orders 1-71 fall before 2024-01-05. Each window asks the API for its own range:
        // one empty page for the first day, three pages for each of the other three.
        assert_eq!(p.count("select count(*) from raw_shop.orders"), 71);
        assert_eq!(
            p.count("select count(distinct id) from raw_shop.orders"),
            71
        );
        assert_eq!(api.counters().path("/orders"), 10, "params: {params}");
        let queries = api.counters().requests().join("\n");
        assert!(
            queries.contains("updated_after=2024-01-03T00%3A00%3A00Z")
                && queries.contains("updated_before=2024-01-04T00%3A00%3A00Z"),
            "{queries}"
        );
        // The range held the initial value: the cursor moves to the newest order it loaded.
        let state = p.dango(&["state", "shop"]).stdout();
        assert!(state.contains("= 2024-01-04T23:00:00Z"), "{state}");
        assert!(
            state.contains("backfilled 2024-01-01T00:00:00Z .. 2024-01-05T00:00:00Z"),
            "{state}"
        );

        // The same command again: every window is done, nothing is asked for.
        let again = p.dango(&backfill);
        again.assert_ok();
        assert!(
            again.stdout().contains("loaded before, nothing asked for"),
            "{}",
            again.stdout()
        );
        assert_eq!(api.counters().path("/orders"), 10);
        assert_eq!(p.count("select count(*) from raw_shop.orders"), 71);

        // A plain sync goes on from the newest order loaded: no gap, nothing twice; without an
        // end value, `{incremental.end_value}` leaves its parameter out (not `null`).
        p.dango(&["sync"]).assert_ok();
        let last = api
            .counters()
            .requests()
            .last()
            .cloned()
            .unwrap_or_default();
        assert!(!last.contains("updated_before"), "{last}");
        assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
        assert_eq!(
            p.count("select count(distinct id) from raw_shop.orders"),
            120
        );
    }
}

#[test]
fn a_backfill_that_leaves_a_gap_keeps_the_cursor_and_bad_windows_are_refused() {
    let api = mock_api().start();
    let p = ranged_orders(&api, "merge", "2024-01-02T00:00:00Z", true);
    // 2024-01-04 .. 2024-01-05 starts after the initial value: the cursor must not move.
    let run = p.dango(&[
        "sync",
        "--since",
        "2024-01-04",
        "--until",
        "2024-01-05",
        "--window",
        "12h",
    ]);
    run.assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 24);
    let state = p.dango(&["state", "shop"]).stdout();
    assert!(
        state.contains("backfilled 2024-01-04 .. 2024-01-05"),
        "{state}"
    );
    assert!(!state.contains("= 2024-01-04"), "{state}");
    // The next plain sync loads from the initial value, so the gap is filled.
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);
    let state = p.dango(&["state", "shop"]).stdout();
    assert!(state.contains("= 2024-01-07T00:00:00Z"), "{state}");
    assert!(
        state.contains("backfilled 2024-01-04 .. 2024-01-05"),
        "kept: {state}"
    );

    for (args, says) in [
        (
            &["--window", "7d"][..],
            "give its start with --since or --backfill",
        ),
        (
            &["--since", "2024-01-01", "--window", "7x"][..],
            "is not a window length",
        ),
        (
            &["--since", "2024-01-01", "--window", "500"][..],
            "does not cut a range starting at \"2024-01-01\"",
        ),
        (
            &["--since", "5", "--window", "5"][..],
            "give --until as well",
        ),
        (
            &["--since", "2000-01-01", "--window", "1h"][..],
            "more than 100000 windows",
        ),
        (
            &["--since", "2024-01-01", "--window", "1d", "--limit", "5"][..],
            "cannot be used with",
        ),
    ] {
        let run = p.dango(&[&["sync"], args].concat());
        run.assert_failed();
        assert!(run.all().contains(says), "{args:?}: {}", run.all());
    }
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 120);

    // A range reaching into the future moves the cursor to the newest order loaded, not to
    // its end: orders that appear later are still loaded by the next sync.
    let api = mock_api().start();
    let p = ranged_orders(&api, "append", "2024-01-01T00:00:00Z", false);
    p.dango(&[
        "sync",
        "--since",
        "2024-01-01T00:00:00Z",
        "--until",
        "2030-01-01T00:00:00Z",
        "--window",
        "30d",
    ])
    .assert_ok();
    let state = p.dango(&["state", "shop"]).stdout();
    assert!(state.contains("= 2024-01-07T00:00:00Z"), "{state}");
    api.set_orders(130);
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_shop.orders"), 130);
    assert_eq!(
        p.count("select count(distinct id) from raw_shop.orders"),
        130
    );
}
