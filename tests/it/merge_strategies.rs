//! dlt's merge strategies (delete-insert with `dedup_sort`, upsert, insert-only, scd2 with its
//! options) and the `hard_delete` hint: one Python source with a resource per strategy is loaded
//! state after state by dlt 1.31 itself and by Dango (into a DuckDB file and into a DuckLake),
//! and after every state the tables must be the same: columns, types, and rows (row ids too,
//! where dlt's are hashes), with load ids left out and validity timestamps compared by the load
//! that set them. Then the cases where Dango deliberately differs from dlt, each on its own.

use crate::support;

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

/// What dlt's own pipeline leaves after each of `states` states of the source that function
/// `function` of the project's module `module` makes.
fn theirs(
    project: &Project,
    (module, function): (&str, &str),
    states: usize,
    dataset: &str,
) -> Vec<Tables> {
    let work = tempfile::tempdir().unwrap();
    let out = support::run_reference(
        "dlt_merge_reference.py",
        [
            project.path().to_str().unwrap(),
            module,
            function,
            &states.to_string(),
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

/// Requires Dango's tables of `dataset` to be `expected`'s after state `state`.
fn assert_same_tables(project: &Project, dataset: &str, state: usize, expected: &Tables) {
    let got = ours(project, dataset);
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

fn every_strategy_leaves_the_tables_dlt_leaves() {
    let mut project = merges_project(None, 0);
    let reference = theirs(&project, ("merges", "merges"), STATES, "raw_merges");
    assert_eq!(reference.len(), STATES);
    for (state, expected) in reference.iter().enumerate() {
        project = merges_project(Some(project), state);
        project.dango(&["sync"]).assert_ok();
        assert_same_tables(&project, "raw_merges", state, expected);
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

/// `sources.yml` says the same in dlt's `rest_api` vocabulary: a full-load scd2 history and an
/// upsert table of the mock API's orders, synced against the API as it is, again unchanged, and
/// after records were added and removed.
fn rest_sources_take_the_strategies_too() {
    let yml = |base: &str| {
        support::rest_source(
            "shop",
            base,
            "",
            "        - name: history\n          endpoint: /orders\n          \
             write_disposition: {disposition: merge, strategy: scd2}\n          \
             pagination: {type: offset, limit: 25, total_path: total}\n        \
             - name: current\n          endpoint: /orders\n          \
             write_disposition: {disposition: merge, strategy: upsert}\n          \
             primary_key: id\n          \
             pagination: {type: offset, limit: 25, total_path: total}\n",
        )
    };
    let api = support::mock_api().orders(60).start();
    let project = Project::new(&yml(&api.base_url()));
    project.dango(&["sync"]).assert_ok();
    project.dango(&["sync"]).assert_ok();
    let active = "SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NULL";
    assert_eq!(
        project.count(active),
        60,
        "an unchanged record is one version"
    );
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.history"), 60);
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.current"), 60);
    assert_eq!(
        project.count("SELECT count(DISTINCT _dlt_id) FROM raw_shop.current"),
        60
    );

    // Ten orders gone: they retire, at one boundary; the upsert table keeps them (no deletes).
    let fewer = support::mock_api().orders(50).start();
    project.write(
        ".dango/sources.yml",
        &support::lake::sources_yml(&yml(&fewer.base_url())),
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(project.count(active), 50);
    assert_eq!(
        project.count(
            "SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NOT NULL AND id > 50"
        ),
        10
    );
    assert_eq!(
        project.count(
            "SELECT count(DISTINCT _dlt_valid_to) FROM raw_shop.history WHERE _dlt_valid_to IS NOT NULL"
        ),
        1
    );
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.current"), 60);
}

both_warehouses!(rest_sources_take_the_strategies_too);

/// An scd2 history with a merge key commits a checkpoint every two pages, each chunk's versions
/// from its own staged rows: syncing the same orders again adds no version and no child row,
/// and records that did not come stay active (the merge key says only what came is known).
fn scd2_checkpoints_commit_each_chunks_versions() {
    let yml = |base: &str| {
        support::rest_source(
            "shop",
            base,
            "",
            "        - name: history\n          endpoint: /orders\n          \
             primary_key: id\n          merge_key: id\n          \
             write_disposition: {disposition: merge, strategy: scd2}\n          \
             checkpoint: {rows: 20}\n          \
             pagination: {type: offset, limit: 10, total_path: total}\n",
        )
    };
    let api = support::mock_api().orders(60).start();
    let project = Project::new(&yml(&api.base_url()));
    project.dango(&["sync"]).assert_ok();
    let loads = "SELECT count(*) FROM raw_shop._dlt_loads";
    let first_loads = project.count(loads);
    assert!(
        first_loads >= 3,
        "a checkpoint every 20 of 60 records: {first_loads} loads"
    );
    let items = "SELECT count(*) FROM raw_shop.history__line_items";
    let line_items = project.count(items);
    assert!(line_items > 60, "{line_items} line items");

    project.dango(&["sync"]).assert_ok();
    assert!(
        project.count(loads) >= 2 * first_loads,
        "the second sync checkpointed too"
    );
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.history"), 60);
    assert_eq!(
        project.count("SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NULL"),
        60
    );
    assert_eq!(project.count(items), line_items, "no child row twice");

    let fewer = support::mock_api().orders(50).start();
    project.write(
        ".dango/sources.yml",
        &support::lake::sources_yml(&yml(&fewer.base_url())),
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.count("SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NULL"),
        60
    );
    assert_eq!(project.count(items), line_items);
}

both_warehouses!(scd2_checkpoints_commit_each_chunks_versions);

/// One `rest_api` config, in dlt's vocabulary, with a resource per strategy over the mock API's
/// orders (line items and tags as child tables), at base URL `base`.
fn rest_merges_config(base: &str) -> Value {
    let resource = |name: &str, disposition: Value, key: Option<&str>| {
        let mut r = serde_json::json!({
            "name": name,
            "write_disposition": disposition,
            "endpoint": {
                "path": "orders",
                "data_selector": "items",
                "paginator": {"type": "offset", "limit": 25, "total_path": "total"},
            },
        });
        if let Some(key) = key {
            r["primary_key"] = Value::from(key);
        }
        r
    };
    let merge = |strategy: &str| serde_json::json!({"disposition": "merge", "strategy": strategy});
    serde_json::json!({
        "client": {"base_url": base},
        "resources": [
            resource("delete_insert_orders", Value::from("merge"), Some("id")),
            resource("upsert_orders", merge("upsert"), Some("id")),
            resource("insert_only_orders", merge("insert-only"), Some("id")),
            resource("scd2_orders", merge("scd2"), None),
        ],
    })
}

/// The `sources.yml` path agrees with dlt's own `rest_api` source: one config (JSON is YAML)
/// loaded by dlt and by Dango over four API states (all 60 orders, the same again, ten gone,
/// those ten back with ten new), every table the same after each.
fn rest_configs_leave_the_tables_dlt_rest_api_leaves() {
    let apis: Vec<_> = [60, 60, 50, 70]
        .into_iter()
        .map(|n| support::mock_api().orders(n).start())
        .collect();
    let configs: Vec<Value> = apis
        .iter()
        .map(|a| rest_merges_config(&a.base_url()))
        .collect();
    let yml = |state: usize| {
        support::lake::sources_yml(&format!(
            "sources:\n  - name: shop\n    type: rest_api\n    rest_api: {}\n",
            configs[state]
        ))
    };
    let project = Project::new(&yml(0));
    project.write(
        "custom_sources/rest_merges.py",
        &format!(
            "import json\n\nimport dlt\nfrom dlt.sources.rest_api import rest_api_source\n\n\
             CONFIGS = json.loads({:?})\n\n\n\
             def shop(state=0):\n    return rest_api_source(CONFIGS[state], name=\"shop\")\n",
            Value::from(configs.clone()).to_string()
        ),
    );
    let reference = theirs(&project, ("rest_merges", "shop"), apis.len(), "raw_shop");
    for (state, expected) in reference.iter().enumerate() {
        project.write(".dango/sources.yml", &yml(state));
        project.dango(&["sync"]).assert_ok();
        assert_same_tables(&project, "raw_shop", state, expected);
    }
    assert_eq!(
        project.count("SELECT count(*) FROM raw_shop.scd2_orders WHERE _dlt_valid_to IS NOT NULL"),
        10,
        "the ten that vanished retired once"
    );
}

both_warehouses!(rest_configs_leave_the_tables_dlt_rest_api_leaves);

/// Where dlt 1.31 loads something a user cannot want, Dango does not, each case on its own:
/// - upsert and insert-only: a key repeated in one load with different values fails the sync
///   naming the key (dlt loads both rows); identical copies load once (dlt loads both);
/// - upsert: a record flagged deleted whose key the table lacks is not loaded (dlt inserts it);
/// - insert-only: a kept-out record's new list elements are not loaded under the old record
///   (dlt inserts them), nor a flagged record's (dlt leaves them without a parent);
/// - scd2: `hard_delete` retires the key's active version (dlt 1.31 loads the flagged record
///   as a new active version), and a version repeated in one load is one row.
#[test]
fn where_dlt_loads_what_no_user_wants_dango_does_not() {
    let module = r#"import dlt

HARD_DELETE = {"deleted": {"hard_delete": True, "data_type": "bool"}}


@dlt.source
def odd(state: int = 0):
    @dlt.resource(primary_key="id", write_disposition={"disposition": "merge", "strategy": "upsert"}, columns=HARD_DELETE)
    def upsert():
        yield [
            [{"id": 1, "tags": ["a"]}, {"id": 1, "tags": ["a"]}, {"id": 2, "deleted": True, "tags": ["x"]}],
            [{"id": 1, "tags": ["a"]}, {"id": 1, "tags": ["b"]}],
        ][min(state, 1)]

    @dlt.resource(primary_key="id", write_disposition={"disposition": "merge", "strategy": "insert-only"}, columns=HARD_DELETE)
    def insert_only():
        yield [
            [{"id": 1, "tags": ["a"]}],
            [{"id": 1, "tags": ["a", "b"]}, {"id": 3, "deleted": True, "tags": ["c"]}],
        ][min(state, 1)]

    @dlt.resource(primary_key="id", write_disposition={"disposition": "merge", "strategy": "scd2"}, columns=HARD_DELETE)
    def history():
        yield [
            [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 2, "name": "b"}],
            [{"id": 1, "name": "a"}, {"id": 2, "name": "b", "deleted": True}],
        ][min(state, 1)]

    return [upsert, insert_only, history] if state < 2 else [upsert]
"#;
    let yml = |state: usize| {
        format!(
            "sources:\n  - name: odd\n    type: dlt_native\n    dlt_native:\n      source_module: odd\n      source_function: odd\n      python: \"{}\"\n      function_kwargs:\n        state: {state}\n",
            reference_python().display()
        )
    };
    let project = Project::new(&yml(0));
    project.write("custom_sources/odd.py", module);
    project.dango(&["sync"]).assert_ok();
    let count = |sql: &str| project.count(sql);
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.upsert"),
        1,
        "copies load once"
    );
    assert_eq!(count("SELECT count(*) FROM raw_odd.upsert__tags"), 1);
    assert_eq!(count("SELECT count(*) FROM raw_odd.upsert WHERE id = 2"), 0);
    assert_eq!(count("SELECT count(*) FROM raw_odd.history"), 2);

    project.write(".dango/sources.yml", &yml(1));
    let failed = project.dango(&["sync"]);
    failed.assert_failed();
    assert!(
        failed
            .all()
            .contains("primary key `id` = 1 (its rows in `upsert__tags` differ)"),
        "{}",
        failed.all()
    );

    // Without the upsert resource's conflict, the rest of state 1 loads.
    let module = module.replace(
        r#"[{"id": 1, "tags": ["a"]}, {"id": 1, "tags": ["b"]}],"#,
        r#"[{"id": 1, "tags": ["b"]}],"#,
    );
    project.write("custom_sources/odd.py", &module);
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.text("SELECT string_agg(value, ',') FROM raw_odd.upsert__tags"),
        "b"
    );
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.insert_only__tags"),
        1,
        "only `a`"
    );
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.insert_only WHERE id = 3"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.history WHERE id = 2 AND _dlt_valid_to IS NOT NULL"),
        1,
        "the flagged record retired its key's version"
    );
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.history WHERE id = 2"),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM raw_odd.history WHERE _dlt_valid_to IS NULL"),
        1
    );
}

/// A `shop` source reading the mock API's orders four times, each detecting deletes by absence
/// another way: hard under delete-insert, soft under upsert and insert-only, and scd2's
/// retirement; `max_ratio` for all of them.
fn absent_deletes_yml(base: &str, max_ratio: &str) -> String {
    let resource = |name: &str, disposition: &str, mode: &str| {
        format!(
            "        - name: {name}\n          endpoint: /orders\n          \
             write_disposition: {disposition}\n          primary_key: id\n          \
             deletes: {{detect: absent, mode: {mode}, max_ratio: {max_ratio}}}\n          \
             pagination: {{type: offset, limit: 25, total_path: total}}\n"
        )
    };
    let resources = [
        resource("hard", "merge", "hard"),
        resource("soft", "{disposition: merge, strategy: upsert}", "soft"),
        resource(
            "kept",
            "{disposition: merge, strategy: insert-only}",
            "soft",
        ),
        resource("history", "{disposition: merge, strategy: scd2}", "soft"),
    ];
    support::lake::sources_yml(&support::rest_source("shop", base, "", &resources.concat()))
}

/// Orders that stop coming are deleted, inside the sync, with their line items (hard), or
/// marked and kept (soft), or retired (scd2); counted in the summary and the history; and
/// live again when they come back.
fn records_that_stop_coming_are_deleted_or_marked() {
    let all = support::mock_api().orders(60).start();
    let project = Project::new(&absent_deletes_yml(&all.base_url(), "0.5"));
    let first = project.dango(&["sync"]);
    first.assert_ok();
    assert!(
        first.stdout().contains("0 records deleted"),
        "{}",
        first.all()
    );
    let plan = project.dango(&["sync", "--dry-run"]);
    for line in [
        "→ raw_shop.hard: merge on id, deletes absent (hard, at most 50% a sync)",
        "→ raw_shop.history: merge (scd2) on id, deletes absent (soft, at most 50% a sync)",
    ] {
        assert!(plan.stdout().contains(line), "{}", plan.all());
    }
    let items = "SELECT count(*) FROM raw_shop.hard__line_items";
    let items_of_all = project.count(items);
    let items_of_gone = project.count("SELECT count(*) FROM raw_shop.hard__line_items AS i JOIN raw_shop.hard AS o ON i._dlt_root_id = o._dlt_id WHERE o.id > 50");
    assert!(items_of_gone > 0);

    let fewer = support::mock_api().orders(50).start();
    project.write(
        ".dango/sources.yml",
        &absent_deletes_yml(&fewer.base_url(), "0.5"),
    );
    let second = project.dango(&["sync"]);
    second.assert_ok();
    assert_eq!(
        second.stdout().matches("10 records deleted").count(),
        4,
        "{}",
        second.all()
    );
    let count = |sql: &str| project.count(sql);
    assert_eq!(count("SELECT count(*) FROM raw_shop.hard"), 50);
    assert_eq!(count("SELECT max(id) FROM raw_shop.hard"), 50);
    assert_eq!(
        count(items),
        items_of_all - items_of_gone,
        "their line items went too"
    );
    for soft in ["soft", "kept"] {
        assert_eq!(count(&format!("SELECT count(*) FROM raw_shop.{soft}")), 60);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM raw_shop.{soft} WHERE _dango_deleted_at IS NOT NULL AND id > 50"
            )),
            10,
            "{soft}"
        );
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM raw_shop.{soft} WHERE _dango_deleted_at IS NOT NULL"
            )),
            10,
            "{soft}"
        );
    }
    assert_eq!(
        count("SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NULL"),
        50
    );
    assert_eq!(
        project
            .columns("raw_shop", "soft")
            .iter()
            .find(|(c, _)| c == "_dango_deleted_at"),
        Some(&(
            "_dango_deleted_at".to_string(),
            "TIMESTAMP WITH TIME ZONE".to_string()
        ))
    );
    let history = project.dango(&["history", "shop"]);
    history.assert_ok();
    assert!(
        history
            .stdout()
            .contains("10 records deleted: absent from that sync"),
        "{}",
        history.all()
    );

    // The same sync again: the marked rows stay marked as of when they went, and count once.
    let marked_at =
        "SELECT string_agg(DISTINCT _dango_deleted_at::VARCHAR, ',') FROM raw_shop.soft";
    let when = project.text(marked_at);
    let third = project.dango(&["sync"]);
    third.assert_ok();
    assert_eq!(
        third.stdout().matches("0 records deleted").count(),
        4,
        "{}",
        third.all()
    );
    assert_eq!(project.text(marked_at), when);

    // They come back: live again everywhere.
    project.write(
        ".dango/sources.yml",
        &absent_deletes_yml(&all.base_url(), "0.5"),
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(count("SELECT count(*) FROM raw_shop.hard"), 60);
    assert_eq!(count(items), items_of_all);
    for soft in ["soft", "kept"] {
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM raw_shop.{soft} WHERE _dango_deleted_at IS NULL"
            )),
            60,
            "{soft}"
        );
    }
    assert_eq!(
        count("SELECT count(*) FROM raw_shop.history WHERE _dlt_valid_to IS NULL"),
        60
    );
}

both_warehouses!(records_that_stop_coming_are_deleted_or_marked);

/// An API that returns far fewer records, or none, by mistake must not empty a table: past
/// `max_ratio` the sync fails naming the counts and leaves every table as it was (the other
/// resources' work too); `max_ratio: 1` lets it through.
fn a_sync_that_would_delete_too_much_changes_nothing() {
    let all = support::mock_api().orders(60).start();
    let project = Project::new(&absent_deletes_yml(&all.base_url(), "0.5"));
    project.dango(&["sync"]).assert_ok();
    let before = project.dataset("raw_shop");
    for (orders, absent) in [(20, 40), (0, 60)] {
        let api = support::mock_api().orders(orders).start();
        project.write(
            ".dango/sources.yml",
            &absent_deletes_yml(&api.base_url(), "0.5"),
        );
        let refused = project.dango(&["sync"]);
        refused.assert_failed();
        assert!(
            refused.all().contains(&format!(
                "{absent} of its 60 rows did not come in this sync"
            )),
            "{}",
            refused.all()
        );
        assert!(refused.all().contains("max_ratio"), "{}", refused.all());
        project.assert_as_before(&before);
    }
    let history = project.dango(&["history", "shop"]);
    assert!(history.stdout().contains("failed"), "{}", history.all());

    let few = support::mock_api().orders(20).start();
    project.write(
        ".dango/sources.yml",
        &absent_deletes_yml(&few.base_url(), "1"),
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(project.count("SELECT count(*) FROM raw_shop.hard"), 20);
    assert_eq!(
        project.count("SELECT count(*) FROM raw_shop.soft WHERE _dango_deleted_at IS NOT NULL"),
        40
    );
}

both_warehouses!(a_sync_that_would_delete_too_much_changes_nothing);

/// Where absence cannot mean deleted, the config or the sync is refused, naming the field:
/// an incremental resource, one below an incremental parent, `--limit`, `replace`, scd2's
/// `hard` or `merge_key`, a ratio that is not a share.
#[test]
fn deletes_are_refused_where_absence_is_not_deletion() {
    let api = support::mock_api().orders(10).start();
    let with = |extra: &str| {
        support::rest_source(
            "shop",
            &api.base_url(),
            "",
            &format!(
                "        - name: orders\n          endpoint: /orders\n          \
                 pagination: {{type: offset, limit: 25, total_path: total}}\n{extra}"
            ),
        )
    };
    let deletes = "          deletes: {detect: absent, mode: hard}\n";
    let cases = [
        (
            format!(
                "{deletes}          params: {{updated_after: \"{{incremental.start_value}}\"}}\n          \
                 incremental: {{cursor_path: updatedAt, initial_value: \"2020-01-01T00:00:00Z\"}}\n"
            ),
            "cannot detect deletes of an incremental resource",
        ),
        (
            format!("{deletes}          write_disposition: replace\n"),
            "applies only to `merge`",
        ),
        (
            "          deletes: {detect: absent, mode: hard}\n          \
             write_disposition: {disposition: merge, strategy: scd2}\n          primary_key: id\n"
                .to_string(),
            "would erase history that scd2 keeps",
        ),
        (
            "          deletes: {detect: absent}\n          \
             write_disposition: {disposition: merge, strategy: scd2}\n"
                .to_string(),
            "needs a primary key",
        ),
        (
            "          deletes: {detect: absent, max_ratio: 2}\n".to_string(),
            "is not a share between 0 and 1",
        ),
        ("          deletes: {detect: gone}\n".to_string(), "absent"),
    ];
    for (extra, expected) in cases {
        let project = Project::new(&with(&extra));
        let run = project.dango(&["validate"]);
        run.assert_failed();
        assert!(run.all().contains(expected), "{expected}:\n{}", run.all());
        assert!(run.all().contains("deletes"), "{}", run.all());
    }

    let child = support::rest_source(
        "shop",
        &api.base_url(),
        "",
        "        - name: orders\n          endpoint: /orders\n          \
         params: {updated_after: \"{incremental.start_value}\"}\n          \
         incremental: {cursor_path: updatedAt, initial_value: \"2020-01-01T00:00:00Z\"}\n          \
         pagination: {type: offset, limit: 25, total_path: total}\n        \
         - name: order_detail\n          endpoint: /orders/{resources.orders.id}\n          \
         deletes: {detect: absent}\n",
    );
    let run = Project::new(&child).dango(&["validate"]);
    run.assert_failed();
    assert!(
        run.all().contains("cannot detect deletes below `orders`"),
        "{}",
        run.all()
    );

    let project = Project::new(&with(deletes));
    project.dango(&["validate"]).assert_ok();
    let limited = project.dango(&["sync", "--limit", "5"]);
    limited.assert_failed();
    assert!(
        limited
            .all()
            .contains("--limit cannot load resource `orders`"),
        "{}",
        limited.all()
    );
    assert!(!project.warehouse().exists() || project.tables("raw_shop").is_empty());
    // A full-load scd2 would retire everything past the limit just the same.
    let scd2 = Project::new(&with(
        "          write_disposition: {disposition: merge, strategy: scd2}\n",
    ));
    let limited = scd2.dango(&["sync", "--limit", "5"]);
    limited.assert_failed();
    assert!(limited.all().contains("scd2 retires"), "{}", limited.all());
}

/// A Python source's resources detect deletes from `sources.yml` (`dlt_native.deletes`), the
/// source's code unchanged; a resource it lacks, or an incremental one, is refused by name.
#[test]
fn python_resources_detect_deletes_from_the_config() {
    let module = r#"import dlt


@dlt.source
def crm(ids: list = ()):
    @dlt.resource(primary_key="id", write_disposition="merge")
    def customers():
        yield [{"id": i, "name": f"c{i}", "orders": [{"n": i}]} for i in ids]

    @dlt.resource(primary_key="id", write_disposition="merge")
    def events(seq=dlt.sources.incremental("id", initial_value=0)):
        yield [{"id": i} for i in ids]

    return [customers, events]
"#;
    let yml = |ids: &str, deletes: &str| {
        format!(
            "sources:\n  - name: crm\n    type: dlt_native\n    dlt_native:\n      source_module: crm\n      python: \"{}\"\n      function_kwargs:\n        ids: {ids}\n      deletes:\n{deletes}",
            reference_python().display()
        )
    };
    let hard = "        customers: {detect: absent, mode: hard}\n";
    let project = Project::new(&yml("[1, 2, 3, 4]", hard));
    project.write("custom_sources/crm.py", module);
    project.dango(&["sync"]).assert_ok();
    project.write(".dango/sources.yml", &yml("[1, 2, 4]", hard));
    let run = project.dango(&["sync"]);
    run.assert_ok();
    assert!(run.stdout().contains("1 records deleted"), "{}", run.all());
    assert_eq!(
        project.text("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM raw_crm.customers"),
        "1,2,4"
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_crm.customers__orders"),
        3,
        "the deleted record's child rows went with it"
    );

    for (deletes, expected) in [
        (
            "        events: {detect: absent}\n",
            "cannot detect deletes of an incremental resource",
        ),
        (
            "        customer: {detect: absent}\n",
            "names no resource of the source (it has: customers, events)",
        ),
    ] {
        project.write(".dango/sources.yml", &yml("[1]", deletes));
        let refused = project.dango(&["sync"]);
        refused.assert_failed();
        assert!(refused.all().contains(expected), "{}", refused.all());
    }
    assert_eq!(project.count("SELECT count(*) FROM raw_crm.customers"), 3);
}
