//! Dango against dlt itself: the same mock API loaded by real dlt (Python, `pip install
//! dlt[duckdb]`) and by Dango must give the same tables, columns, column types and row counts.

use crate::support;

use support::{Project, layout, mock_api};

/// Internal bookkeeping tables each tool keeps for itself; not part of the data layout.
const OWN_TABLES: [&str; 3] = ["_dlt_version", "_dlt_pipeline_state", "_dango_cursors"];

/// Whether a table is part of the data layout (not a tool's own bookkeeping).
fn data_table(table: &str) -> bool {
    !OWN_TABLES.contains(&table)
}

#[test]
fn same_tables_columns_types_and_counts_as_dlt() {
    let api = mock_api().start();
    let work = tempfile::tempdir().unwrap();
    let dlt_db = work.path().join("dlt.duckdb");
    let out = support::run_reference(
        "dlt_reference.py",
        [
            api.base_url(),
            dlt_db.to_str().unwrap().to_string(),
            work.path().join("pipelines").to_str().unwrap().to_string(),
        ],
    );

    let yml = format!(
        r#"sources:
  - name: compat
    type: rest_api
    rest_api:
      client:
        base_url: "{}"
      resource_defaults:
        write_disposition: merge
        primary_key: id
      resources:
        - name: users
          endpoint:
            path: users
            data_selector: data
            paginator: {{type: page_number, base_page: 1, total_path: meta.total_pages}}
        - name: orders
          endpoint:
            path: orders
            data_selector: items
            paginator: {{type: offset, limit: 10, total_path: total}}
        - name: events
          endpoint:
            path: events
            data_selector: events
            paginator: {{type: cursor, cursor_path: next_cursor, cursor_param: cursor}}
"#,
        api.base_url()
    );
    let p = Project::new(&yml);
    p.dango(&["sync"]).assert_ok();

    let theirs = layout::printed(&String::from_utf8_lossy(&out), data_table);
    let ours = layout::of_warehouse(&p.db(), "raw_compat", data_table);
    assert!(theirs.len() >= 6, "dlt made {:?}", theirs.keys());
    for (table, (columns, count)) in &theirs {
        let Some((our_columns, our_count)) = ours.get(table) else {
            panic!(
                "dlt has table {table}, Dango does not; Dango has {:?}",
                ours.keys()
            );
        };
        assert_eq!(our_columns, columns, "columns of {table}");
        assert_eq!(our_count, count, "rows of {table}");
    }
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
}

/// The hinted columns of [`out_of_range_values_go_to_the_variant_columns_dlt_makes`].
const OUT_OF_RANGE_HINTS: [(&str, &str); 8] = [
    ("ts_text", "timestamp"),
    ("ts_double", "timestamp"),
    ("ts_bigint", "timestamp"),
    ("ts_last", "timestamp"),
    ("day_bigint", "date"),
    ("day_double", "date"),
    ("day_text", "date"),
    ("at_text", "time"),
];

/// `/out_of_range` loaded under timestamp, date and time hints by dlt and by Dango: the same
/// columns, types and values. A number of seconds or a text beyond the years 1 to 9999 (or a
/// day's hours) lands in a variant column of its own type, never as `infinity` or NULL.
#[test]
fn out_of_range_values_go_to_the_variant_columns_dlt_makes() {
    let api = mock_api().start();
    let work = tempfile::tempdir().unwrap();
    let json_hints: Vec<String> = OUT_OF_RANGE_HINTS
        .iter()
        .map(|(c, t)| format!(r#""{c}": {{"data_type": "{t}"}}"#))
        .collect();
    let yaml_hints: String = OUT_OF_RANGE_HINTS
        .iter()
        .map(|(c, t)| format!("            {c}: {{data_type: {t}}}\n"))
        .collect();
    // Every data column, a timestamp as microseconds (its text would depend on the time zone).
    let columns = [
        "id",
        "epoch_us(ts_text)",
        "ts_text__v_text",
        "epoch_us(ts_double)",
        "ts_double__v_double",
        "epoch_us(ts_bigint)",
        "ts_bigint__v_bigint",
        "epoch_us(ts_last)",
        "ts_last__v_bigint",
        "day_bigint",
        "day_bigint__v_bigint",
        "day_double",
        "day_double__v_double",
        "day_text",
        "day_text__v_text",
        "at_text",
        "at_text__v_text",
        "at_text__v_bigint",
    ];
    let values: Vec<String> = columns
        .iter()
        .map(|c| format!("coalesce(({c})::VARCHAR, '-')"))
        .collect();
    let sample = format!(
        "SELECT string_agg(concat_ws('/', {}), ' ' ORDER BY id) FROM raw_shop.orders",
        values.join(", ")
    );
    let out = support::run_reference(
        "dlt_contract_reference.py",
        [
            format!("{}/out_of_range", api.base_url()),
            work.path().join("dlt.duckdb").display().to_string(),
            work.path().join("pipelines").display().to_string(),
            "null".to_string(),
            format!("{{{}}}", json_hints.join(", ")),
            sample.clone(),
        ],
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(theirs["ok"], true, "{theirs}");
    let their_types: Vec<(String, String)> =
        serde_json::from_value(theirs["types"].clone()).unwrap();
    let their_values = theirs["sample"][0][0].as_str().unwrap_or_default();
    // What dlt did, so that a change in dlt shows here rather than as a puzzling difference.
    assert!(their_values.contains("/1e+23/"), "{their_values}");
    assert!(
        their_values.contains("/12345678901234.5678/"),
        "{their_values}"
    );

    let resource = format!(
        "        - name: orders\n          endpoint: /out_of_range\n          data_selector: items\n          columns:\n{yaml_hints}"
    );
    let p = Project::new(&support::rest_source(
        "shop",
        &api.base_url(),
        "",
        &resource,
    ));
    p.dango(&["sync"]).assert_ok();
    assert_eq!(p.columns("raw_shop", "orders"), their_types);
    assert_eq!(p.text(&sample), their_values);
    let infinite = "SELECT count(*) FROM raw_shop.orders WHERE isinf(ts_text) OR isinf(ts_double) \
                    OR isinf(ts_bigint) OR isinf(ts_last) OR isinf(day_bigint) OR isinf(day_double)";
    assert_eq!(p.count(infinite), 0);
}
