//! The commands a user runs while building and operating sources (`history`, `state`,
//! `state reset`, `query`, `source list`) and the one-sync-at-a-time lock, through the real
//! binary against the mock API.

use crate::support;

use std::time::{Duration, Instant};

use support::{MockApi, Project, incremental_orders, mock_api, rest_source};

/// A mock API behind bearer token `s3cret-token` and a `shop` project loading its users, with
/// the token in `.env`.
fn users_behind_a_token() -> (MockApi, Project) {
    let api = mock_api().bearer("s3cret-token").start();
    let auth = "      auth: {type: bearer, token: \"${SHOP_TOKEN}\"}\n";
    let resources =
        "        - name: users\n          endpoint: /users\n          data_selector: data\n";
    let project = Project::new(&rest_source("shop", &api.base_url(), auth, resources));
    project.write(".env", "SHOP_TOKEN=s3cret-token\n");
    (api, project)
}

both_warehouses!(history_keeps_failed_syncs_newest_first_without_secrets);
fn history_keeps_failed_syncs_newest_first_without_secrets() {
    let (_api, project) = users_behind_a_token();
    project.dango(&["sync"]).assert_ok();
    project.write(".env", "SHOP_TOKEN=wrong-token\n");
    project.dango(&["sync"]).assert_failed();

    let run = project.dango(&["history"]);
    run.assert_ok();
    let out = run.stdout();
    let failed = out.find("failed").expect("the failed sync is listed");
    let ok = out.find(" ok ").expect("the good sync is listed");
    assert!(failed < ok, "newest first:\n{out}");
    assert!(out.contains("401"), "{out}");
    assert!(
        !out.contains("wrong-token") && !out.contains("s3cret"),
        "{out}"
    );
    assert!(out.contains(&format!("{} rows", 0)), "{out}");
    let one = project.dango(&["history", "shop", "--limit", "1"]).stdout();
    assert_eq!(one.matches("shop").count(), 1, "{one}");
    assert!(one.contains("failed"), "{one}");

    let list = project.dango(&["source", "list"]).stdout();
    assert!(list.contains("shop") && list.contains("failed"), "{list}");
}

both_warehouses!(state_shows_the_cursor_and_reset_reloads_from_the_initial_value);
fn state_shows_the_cursor_and_reset_reloads_from_the_initial_value() {
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    project.dango(&["sync"]).assert_ok();
    let state = project.dango(&["state", "shop"]);
    state.assert_ok();
    let out = state.stdout();
    assert!(
        out.contains("cursor orders.updatedAt = 2024-01-07T00:00:00Z"),
        "{out}"
    );
    assert!(out.contains("committed"), "{out}");
    assert!(out.contains("orders__line_items"), "{out}");

    // Nothing new: the next sync loads nothing. After a reset, everything again.
    let again = project.dango(&["sync"]);
    assert!(again.stdout().contains(" 0 rows"), "{}", again.stdout());
    // A misspelt resource is an error that suggests the name, and clears nothing.
    let typo = project.dango(&["state", "reset", "shop", "--resource", "order", "--yes"]);
    typo.assert_failed();
    assert!(
        typo.stderr().contains("no resource `order`") && typo.stderr().contains("`orders`?"),
        "{}",
        typo.stderr()
    );
    assert!(
        project
            .dango(&["state", "shop"])
            .stdout()
            .contains("= 2024-01-07")
    );
    let reset = project.dango(&["state", "reset", "shop", "--resource", "orders", "--yes"]);
    reset.assert_ok();
    assert!(
        reset.stdout().contains("Cleared 1 cursor"),
        "{}",
        reset.stdout()
    );
    assert!(
        project
            .dango(&["state", "shop"])
            .stdout()
            .contains("cursors: none saved")
    );
    let reloaded = project.dango(&["sync"]);
    assert!(
        reloaded.stdout().contains(" 120 rows"),
        "{}",
        reloaded.stdout()
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_shop.orders"),
        240,
        "append: reloaded from the initial value"
    );
}

/// `dango query ... | head -1` and `dango state | head -1`: the reader goes away after one line,
/// and dango stops quietly (no panic, success) as `cat` would.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    project.dango(&["sync"]).assert_ok();
    for args in [
        &["query", "select * from range(300000)", "--format", "csv"][..],
        &["state"][..],
    ] {
        let mut child = project.spawn_captured(args);
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?} printed a line");
        // The reader is dropped here: the pipe is closed.
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

both_warehouses!(query_prints_rows_in_each_format_and_fails_on_bad_sql);
fn query_prints_rows_in_each_format_and_fails_on_bad_sql() {
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    project.dango(&["sync"]).assert_ok();
    let sql = "SELECT count(*) AS n FROM raw_shop.orders";
    let table = project.dango(&["query", sql]);
    table.assert_ok();
    assert!(table.stdout().contains("| 120 |"), "{}", table.stdout());
    let csv = project.dango(&["query", sql, "--format", "csv"]).stdout();
    assert_eq!(csv.trim(), "n\n120");
    let json = project.dango(&["query", sql, "--format", "json"]).stdout();
    assert_eq!(json.trim(), r#"[{"n":120}]"#);
    let bad = project.dango(&["query", "SELECT nope FROM raw_shop.orders"]);
    bad.assert_failed();
    assert!(bad.stderr().contains("nope"), "{}", bad.stderr());
}

#[test]
fn a_second_sync_is_told_who_holds_the_warehouse_and_can_wait() {
    let api = mock_api().latency(Duration::from_millis(150)).start();
    let project = incremental_orders(&api.base_url(), 10, "2024-01-01T00:00:00Z");
    let mut first = project.spawn(&["sync"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.counters().total() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = project.dango(&["sync"]);
    second.assert_failed();
    // Read-only commands say why they cannot read while DuckDB holds the file for the sync.
    let history = project.dango(&["history"]);
    if !history.ok() {
        assert!(
            history
                .stderr()
                .contains("another dango or duckdb process has it open"),
            "{}",
            history.stderr()
        );
    }
    let err = second.stderr();
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("--wait"), "{err}");
    let waited = project.dango(&["sync", "--wait", "60"]);
    waited.assert_ok();
    assert!(first.wait().unwrap().success());
    assert_eq!(
        project.count("SELECT count(DISTINCT id) FROM raw_shop.orders"),
        120
    );

    // A lock left by a killed sync never blocks the next.
    let mut killed = project.spawn(&["sync", "--full-refresh"]);
    std::thread::sleep(Duration::from_millis(400));
    killed.kill().unwrap();
    killed.wait().unwrap();
    project.dango(&["sync"]).assert_ok();
}

#[test]
fn source_test_shows_requests_tables_and_rows_and_writes_nothing() {
    let api = mock_api().bearer("s3cret-token").page_size(10).start();
    let auth = "      auth: {type: bearer, token: \"${SHOP_TOKEN}\"}\n";
    let resources = "        - name: users\n          endpoint: /users\n          data_selector: data\n          pagination: {type: page_number, total_path: meta.total_pages}\n";
    let project = Project::new(&rest_source("shop", &api.base_url(), auth, resources));
    project.write(".env", "SHOP_TOKEN=s3cret-token\n");
    let run = project.dango(&["source", "test", "shop", "--pages", "2"]);
    run.assert_ok();
    let out = run.stdout();
    for expected in [
        "GET http://127.0.0.1",
        "/users?page=1",
        "→ 200",
        "content-type: application/json",
        "body (first 500 characters): {\"data\"",
        "data selector: data (configured)",
        "paginator: page_number: `page` from 1, total pages at `meta.total_pages` (configured)",
        "next request: http://127.0.0.1",
        "page=3",
        "20 record(s) in 2 page(s)",
        "table users: id bigint",
        "profile__country text",
        "first rows of users",
        "| User 1 ",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
    assert!(!out.contains("s3cret"), "{out}");
    assert_eq!(api.counters().path("/users"), 2, "only the pages asked for");
    assert!(!project.warehouse().exists(), "nothing written");

    project.write(".env", "SHOP_TOKEN=wrong-token\n");
    let denied = project.dango(&["source", "test", "shop"]);
    denied.assert_failed();
    assert!(denied.stderr().contains("401"), "{}", denied.stderr());
    denied.assert_hides(&["wrong-token"]);
    assert!(!project.warehouse().exists());
}

/// A paginated endpoint of the mock API, and what walking it to the end brings.
struct Paginated {
    name: &'static str,
    endpoint: &'static str,
    selector: &'static str,
    pagination: &'static str,
    /// `params:` of the resource, if any.
    params: &'static str,
    records: usize,
    pages: usize,
}

/// Every pagination style of the mock API; the last is the tutorial's My API, paged by the
/// `next_page_url` it builds from `?updated_after=`.
const PAGINATED: [Paginated; 6] = [
    Paginated {
        name: "users",
        endpoint: "/users",
        selector: "data",
        pagination: "{type: page_number, total_path: meta.total_pages}",
        params: "",
        records: 25,
        pages: 3,
    },
    Paginated {
        name: "orders",
        endpoint: "/orders",
        selector: "items",
        pagination: "{type: offset, limit: 10, total_path: total}",
        params: "",
        records: 120,
        pages: 12,
    },
    Paginated {
        name: "events",
        endpoint: "/events",
        selector: "events",
        pagination: "{type: cursor, cursor_path: next_cursor}",
        params: "",
        records: 30,
        pages: 3,
    },
    Paginated {
        name: "posts",
        endpoint: "/posts",
        selector: "results",
        pagination: "{type: json_link, next_url_path: next_page_url}",
        params: "",
        records: 30,
        pages: 3,
    },
    Paginated {
        name: "products",
        endpoint: "/products",
        selector: "$",
        pagination: "{type: header_link}",
        params: "",
        records: 30,
        pages: 3,
    },
    Paginated {
        name: "my_orders",
        endpoint: "/my_api/orders",
        selector: "data",
        pagination: "{type: json_link, next_url_path: next_page_url}",
        params: "{updated_after: \"2024-01-01T00:00:00Z\"}",
        records: 120,
        pages: 12,
    },
];

/// What `dango source test` printed under `── resource `name``, up to the next resource.
fn resource_block<'a>(out: &'a str, name: &str) -> &'a str {
    let marker = format!("── resource `{name}`");
    let start = out
        .find(&marker)
        .unwrap_or_else(|| panic!("no resource `{name}` in:\n{out}"));
    let rest = &out[start + marker.len()..];
    let end = rest.find("── resource `").unwrap_or(rest.len());
    &out[start..start + marker.len() + end]
}

#[test]
fn source_test_walks_every_paginator_to_its_end_without_a_stall_warning() {
    let api = mock_api().page_size(10).start();
    let mut resources = String::new();
    for p in &PAGINATED {
        let (name, endpoint) = (p.name, p.endpoint);
        let params = match p.params {
            "" => String::new(),
            params => format!("          params: {params}\n"),
        };
        resources.push_str(&format!(
            "        - name: {name}\n          endpoint: {endpoint}\n          data_selector: \"{}\"\n          pagination: {}\n{params}        - name: {name}_detected\n          endpoint: {endpoint}\n{params}",
            p.selector, p.pagination
        ));
    }
    let project = Project::new(&rest_source("shop", &api.base_url(), "", &resources));
    // More pages than any resource has: each is followed to its last page.
    let run = project.dango(&["source", "test", "shop", "--pages", "50"]);
    run.assert_ok();
    let out = run.stdout();
    for warning in ["same records", "has the same", "never end", "ignores the"] {
        assert!(
            !run.all().contains(warning),
            "`{warning}` in:\n{}",
            run.all()
        );
    }
    for p in &PAGINATED {
        let name = p.name;
        let configured = resource_block(&out, name);
        let all = format!("{} record(s) in {} page(s)", p.records, p.pages);
        assert!(
            configured.contains(&all),
            "{name}: no `{all}` in:\n{configured}"
        );
        assert!(configured.contains("(configured)"), "{configured}");
        let detected = resource_block(&out, &format!("{name}_detected"));
        // dlt detects no offset paginator: `/orders` is one page for it too.
        let all = match name {
            "orders" => "10 record(s) in 1 page(s)".to_string(),
            _ => all,
        };
        assert!(
            detected.contains(&all),
            "{name}: no `{all}` in:\n{detected}"
        );
        assert!(
            detected.contains("detected from the first response"),
            "{detected}"
        );
    }
    let detected = |name: &str, kind: &str| {
        let block = resource_block(&out, &format!("{name}_detected"));
        assert!(
            block.contains(&format!("paginator: {kind}")),
            "{name}: no `paginator: {kind}` in:\n{block}"
        );
    };
    detected("users", "page_number");
    detected("orders", "single_page");
    detected("events", "cursor");
    detected("posts", "json_link");
    detected("products", "header_link");
    detected("my_orders", "json_link");
    assert!(!project.warehouse().exists(), "nothing written");
}

#[test]
fn source_test_stops_where_an_api_repeats_a_page_and_says_why() {
    let api = mock_api().start();
    let resources = "        - name: stuck\n          endpoint: /stuck\n          data_selector: items\n          pagination: {type: offset, limit: 2}\n        - name: looping\n          endpoint: /loop\n";
    let project = Project::new(&rest_source("shop", &api.base_url(), "", resources));

    // An API that ignores the offset sends its first page again.
    let run = project.dango(&[
        "source",
        "test",
        "shop",
        "--resource",
        "stuck",
        "--pages",
        "5",
    ]);
    run.assert_failed();
    let err = run.stderr();
    assert!(
        err.contains("page 2 has the same 2 record(s) as page 1")
            && err.contains("the API ignores the `offset` query parameter"),
        "{err}"
    );
    assert_eq!(api.counters().path("/stuck"), 2, "stopped at the repeat");

    // A cursor that never changes, the paginator detected: the same page again.
    let run = project.dango(&[
        "source",
        "test",
        "shop",
        "--resource",
        "looping",
        "--pages",
        "5",
    ]);
    run.assert_failed();
    let err = run.stderr();
    assert!(
        err.contains("page 2 has the same 1 record(s) as page 1")
            && err.contains("the API ignores the `cursor` query parameter")
            && err.contains("detected from the first response"),
        "{err}"
    );
    assert_eq!(api.counters().path("/loop"), 2, "stopped at the repeat");
}

#[test]
fn a_limited_sync_loads_at_most_n_records_and_saves_no_cursor() {
    let api = mock_api().page_size(10).start();
    let project = incremental_orders(&api.base_url(), 10, "2024-01-01T00:00:00Z");
    // An incremental append would load the limited rows again next time: refused, untouched.
    let refused = project.dango(&["sync", "--limit", "25"]);
    refused.assert_failed();
    assert!(
        refused
            .stdout()
            .contains("--limit cannot load resource `orders`")
            && refused.stdout().contains("load the limited rows again"),
        "{}",
        refused.stdout()
    );
    assert_eq!(api.counters().path("/orders"), 0, "refused before fetching");
    // Merged by key, a limited run does no harm: the next full sync completes the table.
    let yml = std::fs::read_to_string(project.path().join(".dango/sources.yml")).unwrap();
    project.write(
        ".dango/sources.yml",
        &yml.replace(
            "write_disposition: append",
            "write_disposition: merge\n          primary_key: id",
        ),
    );
    let run = project.dango(&["sync", "--limit", "25"]);
    run.assert_ok();
    assert!(
        run.stdout().contains("limited by --limit"),
        "{}",
        run.stdout()
    );
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.orders"), 25);
    assert!(api.counters().path("/orders") < 12, "stopped fetching");
    assert!(
        project
            .dango(&["state", "shop"])
            .stdout()
            .contains("cursors: none saved")
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.orders"), 120);

    // A replaced table would keep only the limited rows: refused, and the table stays whole.
    let replace = yml.replace("write_disposition: append", "write_disposition: replace");
    project.write(".dango/sources.yml", &replace);
    let cut = project.dango(&["sync", "--limit", "5"]);
    cut.assert_failed();
    assert!(cut.stdout().contains("is replaced"), "{}", cut.stdout());
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.orders"), 120);
}

#[test]
fn progress_lines_off_a_terminal_quiet_and_request_logs_without_secrets() {
    let (_api, project) = users_behind_a_token();
    // A line on every page, to see each: the API's `meta.total_pages` gives the total.
    let run = project.dango_env(&["sync"], &[("DANGO_PROGRESS_SECONDS", "0")]);
    run.assert_ok();
    let err = run.stderr();
    assert!(err.contains("shop.users: started"), "{err}");
    assert!(err.contains("shop.users: 1 pages, 10 rows so far"), "{err}");
    assert!(
        err.contains("shop.users: 2/3 pages, 20 rows so far"),
        "{err}"
    );
    assert!(err.contains(" s left)"), "{err}");
    assert!(err.contains("shop.users: done, 25 rows"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes off a terminal: {err:?}"
    );
    let quiet = project.dango(&["sync", "--quiet"]);
    assert!(!quiet.stderr().contains("started"), "{}", quiet.stderr());
    assert!(quiet.stdout().contains("synced"), "{}", quiet.stdout());
    let debug = project.dango(&["-vv", "--log-format", "json", "sync"]);
    debug.assert_ok();
    let line = debug
        .stderr()
        .lines()
        .find(|l| l.contains("\"response\""))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", debug.stderr()));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["fields"]["status"], 200, "{line}");
    assert!(
        event["fields"]["url"].as_str().unwrap().contains("/users"),
        "{line}"
    );
    assert!(!debug.all().contains("s3cret"), "{}", debug.all());
}

both_warehouses!(since_and_until_load_a_range_without_moving_the_cursor_back);
fn since_and_until_load_a_range_without_moving_the_cursor_back() {
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    project.dango(&["sync"]).assert_ok();
    let run = project.dango(&[
        "sync",
        "--since",
        "2024-01-05T00:00:00Z",
        "--until",
        "2024-01-06T00:00:00Z",
    ]);
    run.assert_ok();
    assert!(run.stdout().contains(" 24 rows"), "{}", run.stdout());
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.orders"), 144);
    let state = project.dango(&["state", "shop"]).stdout();
    assert!(
        state.contains("= 2024-01-07T00:00:00Z"),
        "never backwards: {state}"
    );

    let bad = project.dango(&["sync", "--backfill", "7x"]);
    bad.assert_failed();
    assert!(
        bad.stderr().contains("like 7d, 2w or 1m"),
        "{}",
        bad.stderr()
    );

    let resources =
        "        - name: users\n          endpoint: /users\n          data_selector: data\n";
    let plain = Project::new(&rest_source("crm", &api.base_url(), "", resources));
    let refused = plain.dango(&["sync", "--since", "2024-01-01"]);
    refused.assert_failed();
    assert!(
        refused
            .stdout()
            .contains("resource `users` has no incremental cursor"),
        "{}",
        refused.all()
    );
}

#[test]
fn a_range_flag_can_never_wedge_or_move_the_saved_cursor() {
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    // Values that are no cursor value, empty or reversed ranges and absurd periods are refused
    // before anything is loaded or saved, and never panic.
    for (args, says) in [
        (
            &["--since", "garbage"][..],
            "--since `garbage` is not a cursor value",
        ),
        (
            &["--until", "soon"][..],
            "--until `soon` is not a cursor value",
        ),
        (
            &["--since", "2024-01-06", "--until", "2024-01-05"][..],
            "is not before --until",
        ),
        (
            &["--since", "5", "--until", "2024-01-05"][..],
            "give both alike",
        ),
        (&["--backfill", "99999999999d"][..], "is not a period"),
        (&["--backfill", "0d"][..], "is not a period"),
    ] {
        let run = project.dango(&[&["sync"], args].concat());
        run.assert_failed();
        assert!(run.all().contains(says), "{args:?}: {}", run.all());
        assert!(!run.all().contains("panicked"), "{}", run.all());
    }
    assert!(!project.warehouse().exists() || project.tables("raw_shop").is_empty());

    // A range in the future loads nothing and leaves no cursor behind: the next sync loads all.
    let future = project.dango(&["sync", "--since", "2030-01-01"]);
    future.assert_ok();
    assert!(future.stdout().contains(" 0 rows"), "{}", future.stdout());
    assert!(
        !project.dango(&["state", "shop"]).stdout().contains("2030"),
        "a range saves no cursor"
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.orders"), 120);
    // The saved cursor's line, with the time it was saved.
    let cursor = || {
        let state = project.dango(&["state", "shop"]).stdout();
        state
            .lines()
            .find(|l| l.contains("cursor orders.updatedAt"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no cursor: {state}"))
    };
    let saved = cursor();
    assert!(saved.contains("= 2024-01-07T00:00:00Z"), "{saved}");

    // A range ahead of the saved cursor loads it and still does not move the cursor.
    let ahead = project.dango(&["sync", "--since", "2024-01-06T00:00:00Z"]);
    ahead.assert_ok();
    assert!(!ahead.stdout().contains(" 0 rows"), "{}", ahead.stdout());
    assert_eq!(cursor(), saved);

    // A bound of another kind than the cursor's values is refused, naming the cursor.
    let number = project.dango(&["sync", "--since", "1700000000"]);
    number.assert_failed();
    assert!(
        number
            .all()
            .contains("cursor `updatedAt`, which holds a date-time"),
        "{}",
        number.all()
    );
    assert_eq!(cursor(), saved);
}

#[test]
fn dry_run_shows_the_plan_and_sends_nothing() {
    let api = mock_api().start();
    let project = incremental_orders(&api.base_url(), 50, "2024-01-01T00:00:00Z");
    project.dango(&["sync"]).assert_ok();
    let before = api.counters().total();
    let run = project.dango(&["sync", "--dry-run"]);
    run.assert_ok();
    let out = run.stdout();
    for expected in [
        "source shop → raw_shop",
        "→ raw_shop.orders: append",
        "cursor updatedAt from \"2024-01-07T00:00:00Z\"",
        "first request: GET http://127.0.0.1",
        "updated_after=2024-01-07T00%3A00%3A00Z",
        "--full-refresh would drop raw_shop (3 tables)",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
    assert_eq!(api.counters().total(), before, "no request sent");
}

/// The metrics of a scheduled run, read by a real Prometheus text-format parser: per source
/// its success and last success (kept from the file before when a later run fails), per
/// resource its rows, pages and requests with the API's 429s and 503s counted as the API
/// counted them; written atomically, no secret in it.
#[test]
fn a_sync_writes_metrics_a_prometheus_textfile_collector_reads() {
    use prometheus_parse::{Scrape, Value};
    let api = mock_api()
        .orders(120)
        .fail_every(4)
        .bearer("metrics-secret")
        .start();
    let resources = "        - name: orders\n          endpoint: /orders\n          \
                     pagination: {type: offset, limit: 25, total_path: total}\n";
    let yml = |base: &str| {
        rest_source(
            "shop",
            base,
            "      auth: {type: bearer, token: metrics-secret}\n",
            resources,
        )
    };
    let project = Project::new(&yml(&api.base_url()));
    let file = project.path().join("metrics/dango.prom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let path = file.to_str().unwrap();
    project.dango(&["sync", "--metrics-file", path]).assert_ok();
    let read = || {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("metrics-secret"), "{text}");
        let lines = text.lines().map(|l| Ok(l.to_string()));
        (Scrape::parse(lines).expect("the text format parses"), text)
    };
    let value = |scrape: &Scrape, metric: &str, label: (&str, &str)| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == metric && (label.0.is_empty() || s.labels.get(label.0) == Some(label.1))
            })
            .unwrap_or_else(|| panic!("no {metric}{{{}={}}}", label.0, label.1));
        match sample.value {
            Value::Gauge(v) | Value::Untyped(v) | Value::Counter(v) => v,
            _ => panic!("{metric} is not a number"),
        }
    };
    let (scrape, text) = read();
    let shop = ("source", "shop");
    let orders = ("resource", "orders");
    assert_eq!(value(&scrape, "dango_sync_success", shop), 1.0, "{text}");
    assert_eq!(value(&scrape, "dango_resource_rows", orders), 120.0);
    assert_eq!(
        value(&scrape, "dango_resource_pages", orders),
        5.0,
        "{text}"
    );
    let requests = value(&scrape, "dango_resource_requests", orders);
    assert_eq!(requests as u64, api.counters().total(), "{text}");
    assert_eq!(
        value(&scrape, "dango_resource_retries", orders) as u64,
        api.counters().failed()
    );
    assert!(
        value(&scrape, "dango_resource_throttled", orders) >= 1.0,
        "{text}"
    );
    assert!(value(&scrape, "dango_resource_response_bytes", orders) > 1000.0);
    assert_eq!(value(&scrape, "dango_sync_exit_status", ("", "")), 0.0);
    let succeeded_at = value(&scrape, "dango_sync_last_success_timestamp_seconds", shop);
    assert!(succeeded_at > 1.7e9, "{text}");

    // The API goes away: the run fails, says so, and keeps when the source last succeeded.
    drop(api);
    project.write(".dango/sources.yml", &yml("http://127.0.0.1:9"));
    project
        .dango(&["sync", "--metrics-file", path])
        .assert_failed();
    let (scrape, text) = read();
    assert_eq!(value(&scrape, "dango_sync_success", shop), 0.0, "{text}");
    assert_eq!(value(&scrape, "dango_sync_exit_status", ("", "")), 1.0);
    assert_eq!(
        value(&scrape, "dango_sync_last_success_timestamp_seconds", shop),
        succeeded_at
    );
    // A run that cannot start (here, a config that does not read) fails in the metrics too.
    project.write(".dango/sources.yml", "sources: [");
    project
        .dango(&["sync", "--metrics-file", path])
        .assert_failed();
    let (scrape, text) = read();
    assert_eq!(
        value(&scrape, "dango_sync_exit_status", ("", "")),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(&scrape, "dango_sync_last_success_timestamp_seconds", shop),
        succeeded_at
    );
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "only the metrics file: {leftovers:?}");
}

/// One request a small OTLP/HTTP receiver on 127.0.0.1 took: its request line and headers, and
/// its body as JSON.
fn receive_one_otlp_request(listener: std::net::TcpListener) -> (String, serde_json::Value) {
    use std::io::{BufRead, BufReader, Read, Write};
    let (stream, _) = listener.accept().expect("the exporter connects");
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = n.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut stream = reader.into_inner();
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
        )
        .unwrap();
    (head, serde_json::from_slice(&body).expect("OTLP JSON"))
}

/// With the standard `OTEL_EXPORTER_OTLP_ENDPOINT` set, a sync sends its trace to the collector:
/// a span for the run, one per source under it and one per resource under that, with counts as
/// attributes and the collector's headers; no secret in it or in the output.
#[test]
fn a_sync_sends_its_trace_to_an_otlp_collector() {
    let api = mock_api().orders(60).bearer("trace-secret").start();
    let project = Project::new(&rest_source(
        "shop",
        &api.base_url(),
        "      auth: {type: bearer, token: trace-secret}\n",
        "        - name: orders\n          endpoint: /orders\n          \
         pagination: {type: offset, limit: 25, total_path: total}\n",
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let collector = std::thread::spawn(move || receive_one_otlp_request(listener));
    let run = project.dango_env(
        &["sync"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-collector-key=collector%2Bsecret",
            ),
            ("OTEL_SERVICE_NAME", "nightly-dango"),
        ],
    );
    run.assert_ok()
        .assert_hides(&["trace-secret", "collector+secret"]);
    let (head, body) = collector.join().unwrap();
    assert!(head.starts_with("POST /v1/traces "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-collector-key: collector+secret"),
        "{head}"
    );
    assert!(!body.to_string().contains("trace-secret"), "{body}");
    let resource = &body["resourceSpans"][0];
    assert_eq!(
        resource["resource"]["attributes"][0]["value"]["stringValue"],
        "nightly-dango"
    );
    let spans = resource["scopeSpans"][0]["spans"].as_array().unwrap();
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no span `{name}` in {spans:#?}"))
    };
    let (run_span, source, orders) = (
        named("dango sync"),
        named("sync shop"),
        named("resource orders"),
    );
    assert_eq!(source["parentSpanId"], run_span["spanId"]);
    assert_eq!(orders["parentSpanId"], source["spanId"]);
    assert!(spans.iter().all(|s| s["traceId"] == run_span["traceId"]));
    let attribute = |span: &serde_json::Value, key: &str| {
        span["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"].clone())
            .unwrap_or_else(|| panic!("no {key} in {span}"))
    };
    assert_eq!(attribute(orders, "dango.rows")["intValue"], "60");
    assert_eq!(
        attribute(orders, "http.requests")["intValue"],
        api.counters().total().to_string()
    );
    assert_eq!(source["status"]["code"], 1);
    let start: u128 = orders["startTimeUnixNano"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let end: u128 = orders["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(end >= start && start > 1_700_000_000_000_000_000);
}
