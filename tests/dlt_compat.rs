//! Dango against dlt itself: the same mock API loaded by real dlt (Python, `pip install
//! dlt[duckdb]`) and by Dango must give the same tables, columns, column types and row counts.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use dango::mock_api::{MockApi, MockApiConfig};
use support::Project;

/// Internal bookkeeping tables each tool keeps for itself; not part of the data layout.
const OWN_TABLES: [&str; 3] = ["_dlt_version", "_dlt_pipeline_state", "_dango_cursors"];

type Layout = BTreeMap<String, (Vec<(String, String)>, i64)>;

fn layout(db: &duckdb::Connection, schema: &str) -> Layout {
    let mut stmt = db
        .prepare(
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = ? ORDER BY table_name, ordinal_position",
        )
        .unwrap();
    let mut out = Layout::new();
    let rows = stmt
        .query_map([schema], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (table, column, ty) = row.unwrap();
        if !OWN_TABLES.contains(&table.as_str()) {
            out.entry(table).or_default().0.push((column, ty));
        }
    }
    for (table, (_, count)) in out.iter_mut() {
        *count = db
            .query_row(
                &format!("SELECT count(*) FROM \"{schema}\".\"{table}\""),
                [],
                |r| r.get(0),
            )
            .unwrap();
    }
    out
}

/// The layout dlt printed, without the tables each tool keeps for itself.
fn dlt_layout(json: &str) -> Layout {
    let value: serde_json::Value =
        serde_json::from_str(json.trim()).expect("dlt_reference.py prints JSON");
    let mut out = Layout::new();
    for (table, info) in value.as_object().expect("an object") {
        if OWN_TABLES.contains(&table.as_str()) {
            continue;
        }
        let columns = info["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c[0].as_str().unwrap().to_string(),
                    c[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.insert(table.clone(), (columns, info["rows"].as_i64().unwrap()));
    }
    out
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

    let theirs = dlt_layout(&String::from_utf8_lossy(&out.stdout));
    let ours = layout(&p.db(), "raw_compat");
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
