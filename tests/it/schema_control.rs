//! Schema control through the real binary against the mock API: SQL transforms at ingest,
//! schema contracts, column hints and `nullable: false`.

use crate::support;

use serde_json::json;
use support::pages::PagesApi;
use support::{MockApi, Project, mock_api, rest_source};

/// A `shop` project loading the API's orders with these extra resource lines (indented 10).
fn orders_project(api: &MockApi, extra: &str) -> Project {
    Project::new(&orders_sources(api, extra))
}

/// The `sources.yml` of [`orders_project`].
fn orders_sources(api: &MockApi, extra: &str) -> String {
    let resources = format!(
        "        - name: orders\n          endpoint: /orders\n          data_selector: items\n          paginator: {{type: offset, limit: 20, total_path: total}}\n{extra}"
    );
    rest_source("shop", &api.base_url(), "", &resources)
}

/// The column names of `raw_shop.<table>`.
fn column_names(p: &Project, table: &str) -> Vec<String> {
    p.columns("raw_shop", table)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

/// The type of `raw_shop.<table>.<column>`.
fn column_type(p: &Project, table: &str, column: &str) -> String {
    let columns = p.columns("raw_shop", table);
    let found = columns.into_iter().find(|(c, _)| c == column);
    found
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("no {table}.{column}"))
}

#[test]
fn a_transform_filters_computes_and_its_filtered_records_take_their_children() {
    let api = mock_api().orders(60).page_size(20).start();
    let p = orders_project(
        &api,
        r#"          transform: >-
            SELECT id, upper(order_number) AS order_number, total * 100 AS total_cents,
                   customer__address__city AS city, status
            FROM data WHERE status <> 'cancelled'
          transforms:
            orders__line_items: "SELECT * FROM data WHERE quantity > 1"
"#,
    );
    let run = p.dango(&["sync"]);
    run.assert_ok();
    // Statuses cycle completed, pending, cancelled: ids 2, 5, 8, ... are cancelled.
    let kept: Vec<usize> = (1..=60).filter(|id| id % 3 != 2).collect();
    assert!(
        run.stdout()
            .contains("20 records filtered out by the transform"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders"),
        kept.len() as i64
    );
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders WHERE status = 'cancelled'"),
        0
    );
    let mut columns = column_names(&p, "orders");
    columns.sort();
    assert_eq!(
        columns,
        [
            "_dlt_id",
            "_dlt_load_id",
            "city",
            "id",
            "order_number",
            "status",
            "total_cents"
        ]
    );
    assert_eq!(column_type(&p, "orders", "total_cents"), "DOUBLE");
    assert_eq!(
        p.text(
            "SELECT order_number || ' ' || total_cents::VARCHAR FROM raw_shop.orders WHERE id = 4"
        ),
        "ORD-00000004 1425.0"
    );
    // Line items of filtered orders went with them; of the rest, those with quantity > 1.
    assert_eq!(
        p.count(
            "SELECT count(*) FROM raw_shop.orders__line_items l \
             WHERE l._dlt_parent_id NOT IN (SELECT _dlt_id FROM raw_shop.orders)"
        ),
        0
    );
    let expected: usize = kept
        .iter()
        .map(|id| (0..1 + id % 4).filter(|i| 1 + (id + i) % 5 > 1).count())
        .sum();
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders__line_items"),
        expected as i64
    );
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders__line_items WHERE quantity <= 1"),
        0
    );
    // A second sync merges by the key the transform passed through: no duplicates.
    p.dango(&["sync"]).assert_ok();
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders"),
        kept.len() as i64
    );
}

#[test]
fn validate_reports_transform_and_hint_mistakes_where_they_are_written() {
    let api = mock_api().orders(5).page_size(20).start();
    let p = orders_project(
        &api,
        r#"          columns:
            total: {data_type: money}
          transform: "SELECT status, count(*) AS n FROM data GROUP BY status"
          transforms:
            line_items: "SELEC * FROM data"
"#,
    );
    let run = p.dango(&["validate"]);
    run.assert_failed();
    let out = run.all();
    assert!(
        out.contains("`data_type: money` is not a dlt type"),
        "{out}"
    );
    assert!(out.contains("line_items"), "{out}");
    assert!(out.contains("is not valid SQL"), "{out}");
    assert!(out.contains("not a child table of `orders`"), "{out}");
    let p = orders_project(
        &api,
        "          transform: \"SELECT status, count(*) AS n FROM data GROUP BY status\"\n",
    );
    let run = p.dango(&["validate"]);
    run.assert_failed();
    assert!(run.all().contains("uses an aggregate"), "{}", run.all());
    let p = orders_project(
        &api,
        "          transform: \"SELECT id + 1 AS id, status FROM data\"\n",
    );
    let run = p.dango(&["validate"]);
    run.assert_failed();
    assert!(
        run.all()
            .contains("primary-key column `id` through unchanged"),
        "{}",
        run.all()
    );
    assert_eq!(api.counters().total(), 0, "validate sends no request");
}

/// The `sources.yml` appending `api`'s orders through `transform` (a YAML line of the resource).
fn appended_through(api: &MockApi, transform: &str) -> String {
    orders_sources(
        api,
        &format!("          write_disposition: append\n          {transform}\n"),
    )
}

#[test]
fn transforms_that_do_not_make_one_row_per_record_of_data_are_refused_before_anything_loads() {
    let api = mock_api().orders(30).page_size(20).start();
    // A filter and a projection over `data` load what they say: the real ids, a third filtered.
    let good = r#"transform: "SELECT id, upper(order_number) AS ref, total FROM data WHERE status <> 'cancelled'""#;
    let p = Project::new(&appended_through(&api, good));
    p.dango(&["validate"]).assert_ok();
    let run = p.dango(&["sync"]);
    run.assert_ok();
    assert!(
        run.stdout()
            .contains("10 records filtered out by the transform"),
        "{}",
        run.stdout()
    );
    let kept: Vec<i64> = (1..=30).filter(|id| id % 3 != 2).collect();
    let rows = "SELECT count(*) FROM raw_shop.orders";
    assert_eq!(p.count(rows), kept.len() as i64);
    assert_eq!(
        p.count("SELECT sum(id) FROM raw_shop.orders"),
        kept.iter().sum::<i64>()
    );
    assert_eq!(
        p.text("SELECT ref FROM raw_shop.orders WHERE id = 4"),
        "ORD-00000004"
    );
    let load = "SELECT max(_dlt_load_id) FROM raw_shop.orders";
    let loaded = p.text(load);
    let requests = api.counters().total();

    for (transform, says) in [
        // The issue's case: it used to load `generate_series`'s `value` bound to the first
        // column of each batch, and exit 0.
        (
            r#"transform: "SELECT value AS id FROM generate_series(1, 3)""#,
            "the transform of resource `orders` reads `generate_series()` instead of `data`",
        ),
        (
            r#"transform: "SELECT d.id, e.status FROM data d JOIN data e ON d.id = e.id""#,
            "the transform of resource `orders` uses a join",
        ),
        (
            r#"transform: "SELECT id FROM data UNION ALL SELECT id FROM data""#,
            "the transform of resource `orders` uses UNION",
        ),
        (
            r#"transform: "SELECT status, count(*) AS n FROM data GROUP BY status""#,
            "the transform of resource `orders` uses an aggregate",
        ),
        (
            r#"transform: "SELECT 1 AS id""#,
            "the transform of resource `orders` does not read `data`",
        ),
        (
            r#"transforms: {orders__line_items: "SELECT value AS sku FROM range(3)"}"#,
            "the transform of table `orders__line_items` reads `range()` instead of `data`",
        ),
    ] {
        p.write(".dango/sources.yml", &appended_through(&api, transform));
        for command in ["validate", "sync"] {
            let run = p.dango(&[command]);
            run.assert_failed();
            let out = run.all();
            assert!(out.contains(says), "{command} of {transform}: {out}");
            assert!(
                out.contains("resources[0].transform"),
                "{command} of {transform} names the field: {out}"
            );
            assert!(
                out.contains("SELECT <expressions> FROM data [WHERE <condition>]"),
                "{command} of {transform} says what to write: {out}"
            );
        }
    }
    assert_eq!(api.counters().total(), requests, "no request was sent");
    assert_eq!(p.count(rows), kept.len() as i64);
    assert_eq!(p.text(load), loaded, "nothing was loaded");
}

/// Syncs `p` once as it is, then makes the API add `discountCode` to every order and writes
/// `contract` into the resource.
fn evolve_with(api: &MockApi, contract: &str) -> Project {
    let p = orders_project(api, "");
    p.dango(&["sync"]).assert_ok();
    api.add_discount_codes();
    let resources = format!(
        "        - name: orders\n          endpoint: /orders\n          data_selector: items\n          paginator: {{type: offset, limit: 20, total_path: total}}\n          schema_contract: {contract}\n"
    );
    p.write(
        ".dango/sources.yml",
        &rest_source("shop", &api.base_url(), "", &resources),
    );
    p
}

#[test]
fn columns_freeze_fails_naming_the_column_and_loads_nothing() {
    let api = mock_api().orders(30).page_size(20).start();
    let p = evolve_with(&api, "{columns: freeze}");
    let before = p.text("SELECT max(_dlt_load_id) FROM raw_shop.orders");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let out = run.all();
    assert!(out.contains("`columns: freeze` on table `orders`"), "{out}");
    assert!(out.contains("`discount_code`"), "{out}");
    assert!(!column_names(&p, "orders").contains(&"discount_code".to_string()));
    assert_eq!(
        p.text("SELECT max(_dlt_load_id) FROM raw_shop.orders"),
        before
    );
    let history = p.dango(&["history", "shop"]);
    assert!(history.stdout().contains("failed"), "{}", history.stdout());
}

#[test]
fn discard_value_loads_the_rows_without_the_new_field() {
    let api = mock_api().orders(30).page_size(20).start();
    let p = evolve_with(&api, "{columns: discard_value}");
    p.dango(&["sync"]).assert_ok();
    assert!(!column_names(&p, "orders").contains(&"discount_code".to_string()));
    assert_eq!(p.count("SELECT count(*) FROM raw_shop.orders"), 30);
    let loads = p.count("SELECT count(DISTINCT _dlt_load_id) FROM raw_shop.orders");
    assert_eq!(loads, 1, "every row was replaced by the second sync's");
}

#[test]
fn discard_row_drops_the_records_and_counts_them() {
    let api = mock_api().orders(30).page_size(20).start();
    let p = evolve_with(&api, "discard_row");
    let first = p.text("SELECT max(_dlt_load_id) FROM raw_shop.orders");
    let items = p.count("SELECT count(*) FROM raw_shop.orders__line_items");
    let run = p.dango(&["sync"]);
    run.assert_ok();
    assert!(
        run.stdout()
            .contains("30 rows discarded by the schema contract"),
        "{}",
        run.stdout()
    );
    // Every order now has the new field: none was loaded again, none lost.
    assert_eq!(p.count("SELECT count(*) FROM raw_shop.orders"), 30);
    assert_eq!(
        p.text("SELECT max(_dlt_load_id) FROM raw_shop.orders"),
        first
    );
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders__line_items"),
        items,
        "the discarded records' line items went with them"
    );
    let history =
        p.text("SELECT resources::VARCHAR FROM _dango.syncs ORDER BY started_at DESC LIMIT 1");
    assert!(history.contains("\"discarded\":30"), "{history}");
}

#[test]
fn tables_freeze_refuses_a_table_the_warehouse_lacks() {
    let api = mock_api().orders(5).page_size(20).start();
    let p = orders_project(&api, "          schema_contract: {tables: freeze}\n");
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("`tables: freeze` on table `orders`"),
        "{}",
        run.all()
    );
    assert!(
        p.tables("raw_shop").is_empty(),
        "{:?}",
        p.tables("raw_shop")
    );
}

#[test]
fn column_hints_decide_types_create_declared_columns_and_enforce_not_null() {
    let api = mock_api().orders(10).page_size(20).start();
    let p = orders_project(
        &api,
        r#"          columns:
            id: {data_type: text}
            total: {data_type: decimal}
            customer__address__zip: {data_type: bigint}
            created_at: {data_type: timestamp}
            external_ref: {data_type: text}
            order_number: {nullable: false}
          nested_hints:
            lineItems: {columns: {quantity: {data_type: double}}}
"#,
    );
    p.dango(&["sync"]).assert_ok();
    assert_eq!(column_type(&p, "orders__line_items", "quantity"), "DOUBLE");
    assert_eq!(column_type(&p, "orders", "id"), "VARCHAR");
    assert_eq!(column_type(&p, "orders", "total"), "DECIMAL(38,9)");
    assert_eq!(
        column_type(&p, "orders", "customer__address__zip"),
        "BIGINT"
    );
    assert_eq!(column_type(&p, "orders", "external_ref"), "VARCHAR");
    assert_eq!(
        p.text("SELECT customer__address__zip::VARCHAR || ' ' || total::VARCHAR FROM raw_shop.orders WHERE id = '3'"),
        "3 13.250000000"
    );
    assert_eq!(
        p.count("SELECT count(*) FROM raw_shop.orders WHERE external_ref IS NULL"),
        10
    );

    // A required field the records lack fails the sync, naming it and showing a record.
    let p = orders_project(
        &api,
        "          columns: {discount_code: {nullable: false}}\n",
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    let out = run.all();
    assert!(
        out.contains("table `orders` column `discount_code` is declared `nullable: false`"),
        "{out}"
    );
    assert!(out.contains("ORD-00000001"), "the record is shown: {out}");
    assert!(
        p.tables("raw_shop").is_empty(),
        "{:?}",
        p.tables("raw_shop")
    );
}

#[test]
fn source_test_shows_rows_as_the_transform_makes_them() {
    let api = mock_api().orders(20).page_size(20).start();
    let p = orders_project(
        &api,
        "          transform: \"SELECT id, lower(order_number) AS ref, total * 2 AS doubled FROM data WHERE id > 2\"\n",
    );
    let run = p.dango(&["source", "test", "shop"]);
    run.assert_ok();
    let out = run.stdout();
    for expected in [
        "table orders: id bigint, ref text, doubled double, _dlt_load_id text, _dlt_id text",
        "| ord-00000003 ",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
    assert!(!out.contains("ord-00000001"), "{out}");
    assert!(!p.warehouse().exists(), "nothing written");
}

/// `dango source test` runs a table through the stages a sync runs: a page that repeats a key
/// shows its last record once, a transform's filter keeps out what a sync keeps out, and a
/// frozen contract refuses what a sync refuses.
#[test]
fn source_test_shows_what_a_sync_loads() {
    let api = PagesApi::start();
    let resources = r#"        - name: items
          endpoint: /items
          pagination: {type: page_number, param: page, start: 1}
          data_selector: data
          write_disposition: merge
          primary_key: id
          transform: "SELECT * FROM data WHERE status <> 'test'"
          schema_contract: {columns: freeze}
"#;
    let p = Project::new(&rest_source("gen", api.base_url(), "", resources));
    api.set(
        "items",
        vec![vec![
            json!({"id": 1, "v": "first-of-1", "status": "ok"}),
            json!({"id": 2, "v": "filtered-2", "status": "test"}),
            json!({"id": 1, "v": "last-of-1", "status": "ok"}),
            json!({"id": 3, "v": "only-3", "status": "ok"}),
        ]],
    );
    let shown = p.dango(&["source", "test", "gen"]);
    shown.assert_ok();
    let out = shown.stdout();
    // The raw body is shown too: only the rows count.
    let rows = out
        .split_once("first rows of items:")
        .map_or("", |(_, rows)| rows);
    for expected in ["last-of-1", "only-3"] {
        assert!(rows.contains(expected), "no `{expected}` in:\n{out}");
    }
    for unexpected in ["first-of-1", "filtered-2"] {
        assert!(!rows.contains(unexpected), "`{unexpected}` shown:\n{out}");
    }
    p.dango(&["sync", "gen"]).assert_ok();
    assert_eq!(
        p.text("SELECT string_agg(v, ',' ORDER BY id) FROM raw_gen.items"),
        "last-of-1,only-3",
        "the sync loads the rows source test showed"
    );
    // A new column under `columns: freeze`: both refuse the page, with the same reason.
    api.set(
        "items",
        vec![vec![
            json!({"id": 4, "v": "new", "status": "ok", "extra": 1}),
        ]],
    );
    let refused = p.dango(&["source", "test", "gen"]);
    refused.assert_failed();
    let synced = p.dango(&["sync", "gen"]);
    synced.assert_failed();
    for run in [&refused, &synced] {
        assert!(run.all().contains("`extra`"), "{}", run.all());
    }
    assert_eq!(p.count("SELECT count(*) FROM raw_gen.items"), 2);
}

/// One sync's outcome, as compared with dlt's: whether it succeeded, the orders table's
/// columns, and the rows of each table.
#[derive(Debug, PartialEq)]
struct Outcome {
    ok: bool,
    columns: Vec<String>,
    rows: std::collections::BTreeMap<String, i64>,
}

/// The outcome of dlt's load of `api`'s orders under `contract` (JSON), into `dir`.
fn dlt_load(api: &MockApi, dir: &std::path::Path, contract: &str) -> Outcome {
    let (outcome, ..) = dlt_load_with(api, dir, contract, "null", "SELECT 1");
    outcome
}

/// [`dlt_load`] with column hints `columns` (JSON); also the orders table's columns and types,
/// and the one value `sample` (SQL) selects.
fn dlt_load_with(
    api: &MockApi,
    dir: &std::path::Path,
    contract: &str,
    columns: &str,
    sample: &str,
) -> (Outcome, Vec<(String, String)>, String) {
    let url = format!("{}/orders?offset=0&limit=1000", api.base_url());
    let out = support::run_reference(
        "dlt_contract_reference.py",
        [
            url,
            dir.join("dlt.duckdb").display().to_string(),
            dir.join("pipelines").display().to_string(),
            contract.to_string(),
            columns.to_string(),
            sample.to_string(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let outcome = Outcome {
        ok: v["ok"].as_bool().unwrap(),
        columns: serde_json::from_value(v["columns"].clone()).unwrap(),
        rows: serde_json::from_value(v["rows"].clone()).unwrap(),
    };
    let types = serde_json::from_value(v["types"].clone()).unwrap();
    let sample = v["sample"][0][0].as_str().unwrap_or_default().to_string();
    (outcome, types, sample)
}

/// The outcome of Dango's sync of `p`.
fn dango_sync(p: &Project) -> Outcome {
    let ok = p.dango(&["sync"]).ok();
    let tables = p.tables("raw_shop");
    let rows = tables
        .iter()
        .filter(|t| !t.starts_with("_dlt") && !t.starts_with("_dango"))
        .map(|t| {
            (
                t.clone(),
                p.count(&format!("SELECT count(*) FROM raw_shop.\"{t}\"")),
            )
        })
        .collect();
    Outcome {
        ok,
        columns: column_names(p, "orders"),
        rows,
    }
}

#[test]
fn contracts_do_what_dlt_does_with_a_new_field() {
    for (yaml, json) in [
        ("{columns: freeze}", r#"{"columns": "freeze"}"#),
        (
            "{columns: discard_value}",
            r#"{"columns": "discard_value"}"#,
        ),
        ("{columns: discard_row}", r#"{"columns": "discard_row"}"#),
        ("evolve", r#""evolve""#),
        ("freeze", r#""freeze""#),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let api = mock_api().orders(30).page_size(20).start();
        let reference_first = dlt_load(&api, dir.path(), "null");
        let p = evolve_with(&api, yaml);
        let reference = dlt_load(&api, dir.path(), json);
        let dango = dango_sync(&p);
        assert_eq!(
            dango, reference,
            "schema_contract: {yaml} (dlt's first load: {reference_first:?})"
        );
    }
}

#[test]
fn precision_scale_and_time_zone_make_the_types_dlt_makes() {
    let api = mock_api().orders(10).page_size(20).start();
    let p = orders_project(
        &api,
        r#"          columns:
            total: {data_type: decimal, precision: 12, scale: 2}
            created_at: {data_type: timestamp, precision: 3, timezone: false}
            customer__id: {data_type: bigint, precision: 16}
            due_at: {data_type: time}
            blob: {data_type: binary}
"#,
    );
    p.dango(&["sync"]).assert_ok();
    for (column, ty) in [
        ("total", "DECIMAL(12,2)"),
        ("created_at", "TIMESTAMP_MS"),
        ("customer__id", "SMALLINT"),
        ("due_at", "TIME"),
        ("blob", "BLOB"),
    ] {
        assert_eq!(column_type(&p, "orders", column), ty, "{column}");
    }
    assert_eq!(
        p.text("SELECT total::VARCHAR || ' ' || customer__id::VARCHAR FROM raw_shop.orders WHERE id = 3"),
        "13.25 3"
    );
    // A second sync reads the declared types back from the warehouse and loads into them.
    p.dango(&["sync"]).assert_ok();
    assert_eq!(column_type(&p, "orders", "total"), "DECIMAL(12,2)");
    assert_eq!(p.count("SELECT count(*) FROM raw_shop.orders"), 10);
    let variants = column_names(&p, "orders");
    assert!(!variants.iter().any(|c| c.contains("__v_")), "{variants:?}");
}

#[test]
fn column_hints_make_the_columns_dlt_makes_in_its_order() {
    let yaml = r#"          columns:
            total: {data_type: decimal, precision: 12, scale: 2}
            created_at: {data_type: timestamp, precision: 3, timezone: false}
            customer__id: {data_type: bigint, precision: 16}
            id: {data_type: text}
            external_ref: {data_type: text}
            updated_at: {data_type: date}
"#;
    let json = r#"{"total": {"data_type": "decimal", "precision": 12, "scale": 2},
        "created_at": {"data_type": "timestamp", "precision": 3, "timezone": false},
        "customer__id": {"data_type": "bigint", "precision": 16},
        "id": {"data_type": "text"}, "external_ref": {"data_type": "text"},
        "updated_at": {"data_type": "date"}}"#;
    let api = mock_api().orders(30).page_size(20).start();
    let dir = tempfile::tempdir().unwrap();
    let sample = "SELECT string_agg(concat_ws('/', id, total, updated_at, created_at, \
                  customer__id), ',' ORDER BY id) FROM raw_shop.orders";
    let (reference, theirs, their_values) = dlt_load_with(&api, dir.path(), "null", json, sample);
    let p = orders_project(&api, yaml);
    let ours = dango_sync(&p);
    assert_eq!(ours, reference);
    assert_eq!(p.columns("raw_shop", "orders"), theirs);
    assert_eq!(p.text(sample), their_values);
    assert!(their_values.contains("11.25/"), "{their_values}");
}

#[test]
fn data_type_contracts_do_what_dlt_does_with_a_value_that_fits_no_column() {
    // `order_number` is declared a bigint: "ORD-00000001" fits it nowhere, as a variant would.
    let yaml_hint = "          columns: {order_number: {data_type: bigint}}\n";
    let json_hint = r#"{"order_number": {"data_type": "bigint"}}"#;
    for (yaml, json) in [
        ("{data_type: freeze}", r#"{"data_type": "freeze"}"#),
        (
            "{data_type: discard_value}",
            r#"{"data_type": "discard_value"}"#,
        ),
        (
            "{data_type: discard_row}",
            r#"{"data_type": "discard_row"}"#,
        ),
        ("{data_type: evolve}", r#"{"data_type": "evolve"}"#),
        ("{tables: discard_row}", r#"{"tables": "discard_row"}"#),
    ] {
        let api = mock_api().orders(30).page_size(20).start();
        let dir = tempfile::tempdir().unwrap();
        let (reference, theirs, _) = dlt_load_with(&api, dir.path(), json, json_hint, "SELECT 1");
        let p = orders_project(
            &api,
            &format!("{yaml_hint}          schema_contract: {yaml}\n"),
        );
        let ours = dango_sync(&p);
        assert_eq!(ours, reference, "schema_contract: {yaml}");
        if ours.ok && !ours.columns.is_empty() {
            assert_eq!(
                p.columns("raw_shop", "orders"),
                theirs,
                "schema_contract: {yaml}"
            );
        }
    }
}

#[test]
fn a_source_contract_holds_for_its_resources_unless_they_say_otherwise() {
    let api = mock_api().orders(30).page_size(20).start();
    let p = orders_project(&api, "");
    p.dango(&["sync"]).assert_ok();
    api.add_discount_codes();
    let resources = "        - name: orders\n          endpoint: /orders\n          data_selector: items\n          paginator: {type: offset, limit: 20, total_path: total}\n";
    let source_contract = "      schema_contract: {columns: freeze}\n";
    p.write(
        ".dango/sources.yml",
        &rest_source("shop", &api.base_url(), source_contract, resources),
    );
    let run = p.dango(&["sync"]);
    run.assert_failed();
    assert!(
        run.all().contains("`columns: freeze` on table `orders`"),
        "{}",
        run.all()
    );
    // The resource's own contract wins over the source's.
    let own = format!("{resources}          schema_contract: {{columns: evolve}}\n");
    p.write(
        ".dango/sources.yml",
        &rest_source("shop", &api.base_url(), source_contract, &own),
    );
    p.dango(&["sync"]).assert_ok();
    assert!(column_names(&p, "orders").contains(&"discount_code".to_string()));
}
