//! Dango against dlt itself: the same mock API loaded by real dlt (Python, `pip install
//! dlt[duckdb]`) and by Dango must give the same tables, columns, column types and row counts.

mod support;

use std::process::Command;

use dango::mock_api::{MockApi, MockApiConfig};
use support::{Project, layout};

/// Internal bookkeeping tables each tool keeps for itself; not part of the data layout.
const OWN_TABLES: [&str; 3] = ["_dlt_version", "_dlt_pipeline_state", "_dango_cursors"];

/// Whether a table is part of the data layout (not a tool's own bookkeeping).
fn data_table(table: &str) -> bool {
    !OWN_TABLES.contains(&table)
}

#[test]
fn same_tables_columns_types_and_counts_as_dlt() {
    let api = MockApi::start(MockApiConfig::default()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dlt_db = work.path().join("dlt.duckdb");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/dlt_reference.py"
    );
    let out = Command::new(support::reference_python())
        .args([
            script,
            &api.base_url(),
            dlt_db.to_str().unwrap(),
            work.path().join("pipelines").to_str().unwrap(),
        ])
        .env("RUNTIME__DLTHUB_TELEMETRY", "false")
        .output()
        .expect("the reference Python runs");
    assert!(
        out.status.success(),
        "dlt failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
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

    let theirs = layout::printed(&String::from_utf8_lossy(&out.stdout), data_table);
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
