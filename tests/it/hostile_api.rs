//! Responses a loader meets in the wild, through `dango sync` into a real DuckDB file, each
//! checked against what dlt 1.31 does with it: bodies dlt loads (a byte order mark, gzip nobody
//! asked for, deep nesting, integers beyond 64 bits) load; a connection dropped mid-body is
//! retried; pagination that makes no progress stops with advice; and no credential reaches the
//! output or the warehouse in any form it was sent in.

use crate::support;

use base64::Engine;
use support::{MockApi, Project, mock_api, rest_source};

/// A `hostile` source with one `items` resource at `endpoint`, with more resource settings
/// (`extra`, indented as resource keys).
fn project(api: &MockApi, endpoint: &str, extra: &str) -> Project {
    Project::new(&project_yml(api, endpoint, extra))
}

/// The `sources.yml` of [`project`].
fn project_yml(api: &MockApi, endpoint: &str, extra: &str) -> String {
    let resource = format!("        - name: items\n          endpoint: \"{endpoint}\"\n{extra}");
    rest_source("hostile", &api.base_url(), "", &resource)
}

/// Records with thousands of distinct keys make a table of thousands of columns: DuckDB needs
/// memory per column to append, more than the default budget holds, whatever the row count.
#[test]
fn records_with_thousands_of_keys_load_within_the_default_budget() {
    let api = mock_api().start();
    let p = project(&api, "/wide?keys=1000&rows=4", "");
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_hostile.items"), 4);
    assert_eq!(p.columns("raw_hostile", "items").len(), 4000 + 3);
    // A budget the user set is kept, and the error says to raise it.
    let tight = project(&api, "/wide?keys=1000&rows=4", "");
    let refused = tight.dango_env(&["sync"], &[("DANGO_MEMORY_LIMIT", "64MB")]);
    refused.assert_failed();
    assert!(
        refused.stdout().contains("set DANGO_MEMORY_LIMIT higher"),
        "{}",
        refused.stdout()
    );
}

#[test]
fn a_body_with_a_byte_order_mark_loads() {
    // dlt (requests' `.json()`) skips the BOM, with or without `charset=utf-8`.
    let api = mock_api().start();
    let p = project(&api, "/bom", "");
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_hostile.items"), 2);
    assert_eq!(
        p.text("select name from raw_hostile.items where id = 1"),
        "café"
    );
}

#[test]
fn gzip_nobody_asked_for_is_decoded_and_binary_is_described_not_printed() {
    let api = mock_api().start();
    let p = project(&api, "/gzipped", "");
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_hostile.items"), 2);

    let p = project(&api, "/binary", "");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("64 bytes that is not text")
            && run.all().contains("content-encoding br"),
        "{}",
        run.all()
    );
    for out in [&run.output.stdout, &run.output.stderr] {
        assert!(std::str::from_utf8(out).is_ok(), "binary bytes printed");
    }
    assert!(!run.all().contains('\u{FFFD}'), "{}", run.all());
}

#[test]
fn records_nested_deeper_than_serde_jsons_limit_load() {
    // dlt, max_table_nesting 1: `deep__a` is JSON holding the rest (it fails past ~250 levels,
    // where orjson stops; Dango loads any depth).
    let api = mock_api().start();
    let p = project(&api, "/deep?depth=200", "          max_table_nesting: 1\n");
    p.dango(&["sync"]).assert_ok();
    assert_eq!(
        p.count("select count(*) from raw_hostile.items where id is not null"),
        2
    );
    let columns = p.columns("raw_hostile", "items");
    assert!(
        columns.contains(&("deep__a".into(), "JSON".into())),
        "{columns:?}"
    );
    let kept = p.text("select deep__a::varchar from raw_hostile.items where id = 1");
    assert_eq!(kept.matches(r#"{"a":"#).count(), 199);
    assert!(
        kept.ends_with(&format!(r#"{{"leaf":true}}{}"#, "}".repeat(199))),
        "{kept}"
    );
    assert_eq!(
        p.text("select deep__a::varchar from raw_hostile.items where id = 2"),
        r#"{"leaf":false}"#
    );

    // Default nesting: flattened all the way down, as dlt does at 200 levels.
    let p = project(&api, "/deep?depth=200", "");
    p.dango(&["sync"]).assert_ok();
    let leaf = format!("deep{}__leaf", "__a".repeat(200));
    let columns = p.columns("raw_hostile", "items");
    assert!(
        columns.iter().any(|(c, _)| *c == leaf),
        "{:?}",
        columns.iter().map(|c| c.0.len()).collect::<Vec<_>>()
    );

    // Far deeper than any stack: objects and lists, read from text and, for an incremental
    // cursor at the boundary, hashed from text.
    for kind in ["obj", "list"] {
        let extra = "          max_table_nesting: 1\n          incremental: {cursor_path: id, \
                     initial_value: 10, last_value_func: min}\n";
        let p = project(&api, &format!("/deep?depth=100000&kind={kind}"), extra);
        p.dango(&["sync"]).assert_ok();
        assert_eq!(p.count("select count(*) from raw_hostile.items"), 2);
    }
}

#[test]
fn integers_beyond_64_bits_load_exactly_and_a_resync_adds_no_copy() {
    // dlt 1.31 fails the load on these (DuckDB rejects 18446744073709551615 as BIGINT; orjson
    // refuses anything past u64). With its `large_integer` detection it makes the column
    // `wei`, DECIMAL(38,0): Dango does the same, widening a BIGINT column rather than
    // leaving the key in a variant column and NULL.
    let api = mock_api().start();
    let p = project(&api, "/bigints", "          primary_key: id\n");
    for _ in 0..2 {
        p.dango(&["sync"]).assert_ok();
        assert_eq!(p.count("select count(*) from raw_hostile.items"), 5);
        assert_eq!(
            p.count("select count(*) from raw_hostile.items where id is null"),
            0
        );
    }
    let columns = p.columns("raw_hostile", "items");
    assert!(
        columns.contains(&("id".into(), "DECIMAL(38,0)".into())),
        "{columns:?}"
    );
    let ids = p.text("select string_agg(id::varchar, ' ' order by id) from raw_hostile.items");
    assert_eq!(
        ids,
        "-9300000000000000000 1 9223372036854775807 18446744073709551615 \
         123456789012345678901234567890"
    );
    assert_eq!(
        p.text("select amount::varchar from raw_hostile.items where id = 18446744073709551615"),
        "18446744073709551615"
    );
    // `2.5` does not fit the widened column: a variant, as dlt makes one.
    assert!(
        columns.contains(&("amount__v_double".into(), "DOUBLE".into())),
        "{columns:?}"
    );
}

#[test]
fn a_key_no_column_type_holds_fails_the_sync_naming_it_and_never_lands_null() {
    // dlt 1.31 fails on a 40-digit id too (orjson: "Integer exceeds 64-bit range"); a key
    // value it can parse but not store as the column's type ("abc" after bigint ids) goes to a
    // variant, and DuckDB's NOT NULL on the key then fails the load.
    let api = mock_api().start();
    let key = "          primary_key: id\n";
    let p = project(&api, "/long_ids", key);
    p.dango(&["sync"]).assert_ok();
    let rows = "select count(*) from raw_hostile.items";
    assert_eq!(p.count(rows), 2);
    assert_eq!(p.count("select count(*) from raw_hostile._dlt_loads"), 1);
    let before = p.dataset("raw_hostile");
    // The 40-digit id comes third, after the table made `id` a BIGINT.
    let long = project_yml(&api, "/long_ids?long=last", key);
    p.write(".dango/sources.yml", &long);
    for _ in 0..3 {
        let run = p.dango(&["sync"]);
        run.assert_failed();
        let said = run.all();
        for part in [
            "resource `items`",
            "record 3 of page 1",
            "key `id` is `1234567890123456789012345678901234567890`",
            "BIGINT",
            "data_type: text",
        ] {
            assert!(said.contains(part), "{part}: {said}");
        }
        assert_eq!(p.count(rows), 2, "the warehouse is as it was");
        p.assert_as_before(&before);
    }
    // As the error advises: a text key holds it; three syncs keep one row per key.
    let declared = format!("{key}          columns: {{id: {{data_type: text}}}}\n");
    p.write(
        ".dango/sources.yml",
        &project_yml(&api, "/long_ids?long=last", &declared),
    );
    p.dango(&["sync", "--full-refresh", "--yes"]).assert_ok();
    for _ in 0..2 {
        p.dango(&["sync"]).assert_ok();
    }
    let ids = "select string_agg(id, ' ' order by id) from raw_hostile.items";
    assert_eq!(p.text(ids), "1 1234567890123456789012345678901234567890 2");
    assert_eq!(p.count(rows), 3);
    let columns = p.columns("raw_hostile", "items");
    assert!(
        columns.contains(&("id".into(), "VARCHAR".into())),
        "{columns:?}"
    );
    assert!(
        !columns.iter().any(|(c, _)| c.contains("__v_")),
        "{columns:?}"
    );

    // A 40-digit id that comes first makes `id` text by itself: one row per key, none NULL.
    let p = project(&api, "/long_ids?long=first", key);
    for _ in 0..3 {
        p.dango(&["sync"]).assert_ok();
    }
    assert_eq!(p.count(rows), 3);
    let nulls = "select count(*) from raw_hostile.items where id is null";
    assert_eq!(p.count(nulls), 0);
    assert_eq!(
        p.text("select count(distinct id)::varchar from raw_hostile.items"),
        "3"
    );
}

#[test]
fn a_connection_dropped_mid_body_is_retried() {
    let api = mock_api().start();
    let p = project(&api, "/truncated?drop=2", "");
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_hostile.items"), 2);
    assert_eq!(
        api.counters().path("/truncated"),
        3,
        "two drops, one success"
    );

    let api = mock_api().start();
    let p = project(&api, "/truncated?drop=100", "");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all()
            .contains("the connection broke while the response body was read")
            && run.all().contains("after 5 attempts"),
        "{}",
        run.all()
    );
    assert_eq!(api.counters().path("/truncated"), 5);
}

#[test]
fn pagination_that_makes_no_progress_stops_and_says_what_to_set() {
    // dlt loops forever on an API that ignores the page parameter and reports no total.
    let api = mock_api().start();
    let p = project(&api, "/stuck", "          paginator: page_number\n");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let all = run.all();
    assert!(
        all.contains("page 2 has the same 2 record(s) as page 1")
            && all.contains("ignores the `page` query parameter")
            && all.contains("page_param")
            && all.contains("paginator: single_page"),
        "{all}"
    );
    assert_eq!(api.counters().path("/stuck"), 2);
    assert!(p.tables("raw_hostile").is_empty(), "nothing was committed");

    let p = project(
        &api,
        "/stuck",
        "          paginator: {type: offset, limit: 2}\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("ignores the `offset` query parameter")
            && run.all().contains("offset_param"),
        "{}",
        run.all()
    );
}

#[test]
fn max_pages_caps_every_paginator() {
    let api = mock_api().start();
    let p = project(
        &api,
        "/endless",
        "          paginator: {type: page_number, max_pages: 5}\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all()
            .contains("stopped after 5 pages (the paginator's `max_pages`)"),
        "{}",
        run.all()
    );
    assert_eq!(api.counters().path("/endless"), 5);

    // Link-following paginators too; a cap the API stays within changes nothing.
    let p = project(
        &api,
        "/posts",
        "          paginator: {type: json_link, next_url_path: next_page_url, max_pages: 2}\n",
    );
    p.dango(&["sync"]).assert_failed();
    let p = project(
        &api,
        "/posts",
        "          paginator: {type: json_link, next_url_path: next_page_url, max_pages: 3}\n",
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.count("select count(*) from raw_hostile.items"), 30);

    // Zero is not a limit: a validation error on the field, before any request.
    let before = api.counters().total();
    let p = project(
        &api,
        "/endless",
        "          paginator: {type: page_number, max_pages: 0}\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(run.all().contains("max_pages"), "{}", run.all());
    assert_eq!(api.counters().total(), before);
}

/// Every form of `secret` that must not be shown: as it is, URL- and form-encoded, and in JSON.
fn forms(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap();
    vec![
        secret.to_string(),
        form,
        percent,
        json.trim_matches('"').to_string(),
    ]
}

/// Panics if any of `secrets` shows in the run's output or the warehouse file's bytes.
fn assert_hidden(p: &Project, run: &support::Run, secrets: &[String]) {
    let warehouse = std::fs::read(p.warehouse()).unwrap_or_default();
    for secret in secrets {
        assert!(
            !run.all().contains(secret.as_str()),
            "{secret:?} shown:\n{}",
            run.all()
        );
        let found = warehouse
            .windows(secret.len())
            .any(|w| w == secret.as_bytes());
        assert!(!found, "{secret:?} in the warehouse file");
    }
}

#[test]
fn credentials_are_redacted_in_every_form_they_are_sent_in() {
    let api = mock_api().start();
    let port = api.base_url().trim_start_matches("http://").to_string();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);

    // A password in the URL's userinfo goes out as HTTP basic auth; the error body echoes it.
    let password = "s3cr3t pa$$+word";
    let yml = rest_source(
        "hostile",
        &format!("http://alice:${{URL_PASSWORD}}@{port}"),
        "",
        "        - name: items\n          endpoint: \"/echo?status=400\"\n",
    );
    let p = Project::new(&yml);
    p.write(".env", &format!("URL_PASSWORD='{password}'\n"));
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(run.all().contains("HTTP 400"), "{}", run.all());
    assert!(run.all().contains("Basic ***"), "{}", run.all());
    let mut secrets = forms(password);
    secrets.push(b64(&format!("alice:{password}")));
    assert_hidden(&p, &run, &secrets);

    // A bearer token and an API key in the query, echoed by a 500 that is retried first.
    let token = r#"t0k"en\with/odd+chars"#;
    let key = "k3y with space&x=1/2";
    let extra = "      headers: {Authorization: \"Bearer ${TOKEN}\"}\n      auth: {type: api_key, \
                 name: api_key, api_key: \"${KEY}\", location: query}\n";
    let yml = rest_source(
        "hostile",
        &api.base_url(),
        extra,
        "        - name: items\n          endpoint: \"/echo?status=500\"\n",
    );
    let p = Project::new(&yml);
    p.write(
        ".dlt/secrets.toml",
        &format!("TOKEN = '{token}'\nKEY = '{key}'\n"),
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("HTTP 500 after 5 attempts") && run.all().contains("retrying"),
        "{}",
        run.all()
    );
    let secrets: Vec<String> = forms(token).into_iter().chain(forms(key)).collect();
    assert_hidden(&p, &run, &secrets);

    // http_basic auth.
    let extra = "      auth: {type: http_basic, username: reporter, password: \"${PW}\"}\n";
    let yml = rest_source(
        "hostile",
        &api.base_url(),
        extra,
        "        - name: items\n          endpoint: \"/echo?status=400\"\n",
    );
    let p = Project::new(&yml);
    p.write(".env", "PW=basic-pa55/word\n");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let mut secrets = forms("basic-pa55/word");
    secrets.push(b64("reporter:basic-pa55/word"));
    assert_hidden(&p, &run, &secrets);
}
