//! dlt's merge strategies (delete-insert with `dedup_sort`, upsert, insert-only, scd2 with its
//! options) and the `hard_delete` hint: one Python source with a resource per strategy is loaded
//! state after state by dlt 1.31 itself and by Dango (into a DuckDB file and into a DuckLake),
//! and after every state the tables must be the same: columns, types, and rows (row ids too,
//! where dlt's are hashes), with load ids left out and validity timestamps compared by the load
//! that set them. Then the cases where Dango deliberately differs from dlt, each on its own.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{Project, reference_python};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/python/custom_sources"
);

/// The source's API states (`merges.STATES`).
const STATES: usize = 4;

/// A project loading `custom_sources/merges.py` at API state `state`.
fn merges_project(project: Option<Project>, state: usize) -> Project {
    let yml = format!(
        "sources:\n  - name: merges\n    type: dlt_native\n    dlt_native:\n      source_module: \
         merges\n      source_function: merges\n      python: \"{}\"\n      function_kwargs:\n        \
         state: {state}\n",
        reference_python().display()
    );
    match project {
        None => {
            let project = Project::new(&yml);
            let text = std::fs::read_to_string(Path::new(FIXTURES).join("merges.py")).unwrap();
            project.write("custom_sources/merges.py", &text);
            project
        }
        Some(project) => {
            let yml = support::lake::sources_yml(&yml);
            project.write(".dango/sources.yml", &yml);
            project
        }
    }
}

/// A table as compared: its columns with their types, and its rows made comparable.
type Tables = BTreeMap<String, (Vec<(String, String)>, Vec<String>)>;

/// Validity columns, whose timestamps are when a load ran: compared by their rank.
const VALIDITY: [&str; 4] = ["_dlt_valid_from", "_dlt_valid_to", "valid_from", "valid_to"];

/// `rows` (DuckDB's `to_json` of each) without load ids, without the random row ids of
/// delete-insert tables, validity timestamps replaced by their rank in the table; sorted.
fn comparable(table: &str, rows: &[String]) -> Vec<String> {
    let mut parsed: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .map(|r| serde_json::from_str(r).expect("a row as JSON"))
        .collect();
    let mut times: Vec<String> = parsed
        .iter()
        .flat_map(|r| {
            VALIDITY
                .iter()
                .filter_map(|c| r.get(*c)?.as_str().map(String::from))
        })
        .collect();
    times.sort();
    times.dedup();
    let random_ids = table.starts_with("delete_insert");
    let mut out: Vec<String> = parsed
        .iter_mut()
        .map(|row| {
            row.remove("_dlt_load_id");
            if random_ids {
                for id in ["_dlt_id", "_dlt_parent_id", "_dlt_root_id"] {
                    row.remove(id);
                }
            }
            for column in VALIDITY {
                if let Some(Value::String(at)) = row.get(column) {
                    let rank = times.iter().position(|t| t == at).unwrap_or_default();
                    row.insert(column.to_string(), Value::from(rank));
                }
            }
            Value::Object(row.clone()).to_string()
        })
        .collect();
    out.sort();
    out
}

/// The data tables of dataset `schema` in Dango's warehouse.
fn ours(project: &Project, schema: &str) -> Tables {
    let db = project.db();
    let mut out = Tables::new();
    for table in project.tables(schema) {
        if table.starts_with("_dlt_") || table.starts_with("_dango_") {
            continue;
        }
        let mut stmt = db
            .prepare(&format!(
                "SELECT to_json(t)::VARCHAR FROM \"{schema}\".\"{table}\" AS t"
            ))
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let columns = project.columns(schema, &table);
        out.insert(table.clone(), (columns, comparable(&table, &rows)));
    }
    out
}

/// What dlt's own pipeline leaves after each state.
fn theirs(project: &Project, dataset: &str) -> Vec<Tables> {
    let work = tempfile::tempdir().unwrap();
    let out = support::run_reference(
        "dlt_merge_reference.py",
        [
            project.path().to_str().unwrap(),
            "merges",
            "merges",
            &STATES.to_string(),
            work.path().join("dlt.duckdb").to_str().unwrap(),
            work.path().join("pipelines").to_str().unwrap(),
            dataset,
        ],
    );
    let text = String::from_utf8_lossy(&out);
    let dumps: Vec<BTreeMap<String, Value>> =
        serde_json::from_str(text.lines().last().unwrap_or_default()).expect("dlt's dump");
    dumps
        .into_iter()
        .map(|dump| {
            dump.into_iter()
                .map(|(table, t)| {
                    let columns = t["columns"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (c[0].as_str().unwrap().into(), c[1].as_str().unwrap().into()))
                        .collect();
                    let rows: Vec<String> = t["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect();
                    let rows = comparable(&table, &rows);
                    (table, (columns, rows))
                })
                .collect()
        })
        .collect()
}

fn every_strategy_leaves_the_tables_dlt_leaves() {
    let mut project = merges_project(None, 0);
    let reference = theirs(&project, "raw_merges");
    assert_eq!(reference.len(), STATES);
    for (state, expected) in reference.iter().enumerate() {
        project = merges_project(Some(project), state);
        project.dango(&["sync"]).assert_ok();
        let got = ours(&project, "raw_merges");
        for (table, want) in expected {
            assert_eq!(
                got.get(table),
                Some(want),
                "state {state}, table {table}:\nDango: {:#?}\ndlt:   {want:#?}",
                got.get(table)
            );
        }
        let extra: Vec<&String> = got.keys().filter(|t| !expected.contains_key(*t)).collect();
        assert!(
            extra.is_empty(),
            "state {state}: tables dlt has not: {extra:?}"
        );
    }
    // The strategies did something: versions retired, a flagged record gone, a repeat ranked.
    let retired = "SELECT count(*) FROM raw_merges.scd2 WHERE _dlt_valid_to IS NOT NULL";
    assert!(
        project.count(retired) >= 4,
        "changed and vanished records retire"
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_merges.upsert WHERE id IN (2, 6)"),
        0
    );
    assert_eq!(
        project.text("SELECT name FROM raw_merges.delete_insert WHERE id = 5"),
        "e"
    );
}

both_warehouses!(every_strategy_leaves_the_tables_dlt_leaves);
