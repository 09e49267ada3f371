//! A warehouse's layout as the compatibility tests compare it with dlt's: per table its columns
//! with their DuckDB types, in order, and its row count.

use std::collections::BTreeMap;

/// Table → (columns with types, rows).
pub type Layout = BTreeMap<String, (Vec<(String, String)>, i64)>;

/// The layout of `schema` in `db`, of the tables `keep` accepts.
pub fn of_warehouse(db: &duckdb::Connection, schema: &str, keep: impl Fn(&str) -> bool) -> Layout {
    let mut stmt = db
        .prepare(
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = ? ORDER BY table_name, ordinal_position",
        )
        .unwrap();
    let rows = stmt
        .query_map([schema], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    let mut out = Layout::new();
    for row in rows {
        let (table, column, ty): (String, String, String) = row.unwrap();
        if keep(&table) {
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

/// The layout a reference script printed (`{table: {"columns": [[name, type]], "rows": n}}`),
/// of the tables `keep` accepts.
pub fn printed(json: &str, keep: impl Fn(&str) -> bool) -> Layout {
    let value: serde_json::Value = serde_json::from_str(json.trim()).expect("the layout as JSON");
    let mut out = Layout::new();
    for (table, info) in value.as_object().expect("an object") {
        if !keep(table) {
            continue;
        }
        let columns = info["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_str().unwrap().into(), c[1].as_str().unwrap().into()))
            .collect();
        out.insert(table.clone(), (columns, info["rows"].as_i64().unwrap()));
    }
    out
}
