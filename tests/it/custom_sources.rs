//! Sources written in Rust: the tutorial's two custom sources as examples run against the mock
//! API (twice, the second run incremental), and the custom-source API itself: Arrow pages,
//! dependent resources, state, and sources that cannot run.

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use dango::Pipeline;
use dango::source::custom::resource;
use dango::source::{BoxError, Source, SourceError};
use serde_json::json;
use support::{MockApi, Project, Run, TUTORIAL_TOKEN, mock_api, tutorial_my_api};

/// An example binary, built by `cargo test` next to this test's own binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let target = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    target.join("examples").join(name)
}

/// Runs example `name` in `p` against `api` with `env` set.
fn run_example(p: &Project, name: &str, api: &MockApi, env: (&str, &str)) -> Run {
    let output = Command::new(example(name))
        .args(["--base-url", &api.base_url()])
        .current_dir(p.path())
        .env(env.0, env.1)
        .output()
        .expect("run example");
    Run { output }
}

/// A project with the tutorial's `custom_sources/my_api.py` as printed, configured as the
/// tutorial's `my_custom_api` (loaded into `raw_my_custom_api`) against `api`.
fn tutorial_python_project(api: &MockApi) -> Project {
    let yml = format!(
        "sources:\n  - name: my_custom_api\n    type: dlt_native\n    dlt_native:\n      source_module: \"custom_sources.my_api\"\n      source_name: \"my_api_source\"\n      python: \"{}\"\n      function_kwargs:\n        base_url: \"{}/my_api\"\n",
        support::reference_python().display(),
        api.base_url()
    );
    let p = Project::new(&yml);
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/python/custom_sources/my_api.py"
    );
    p.write(
        "custom_sources/my_api.py",
        &std::fs::read_to_string(fixture).expect("the tutorial's my_api.py"),
    );
    p.write(
        ".dlt/secrets.toml",
        &format!("[sources.my_api]\napi_key = \"{TUTORIAL_TOKEN}\"\n"),
    );
    p
}

/// The requests `api` has seen since the first `from`, and how many it has seen in all.
fn requests_since(api: &MockApi, from: usize) -> (Vec<String>, usize) {
    let all = api.counters().requests();
    let total = all.len();
    (all.into_iter().skip(from).collect(), total)
}

/// `requests` sorted (resources may interleave) and, in order, those to `/my_api/orders` (one
/// resource's pages follow each other).
fn by_resource(requests: &[String]) -> (Vec<String>, Vec<String>) {
    let mut sorted = requests.to_vec();
    sorted.sort();
    let orders = requests
        .iter()
        .filter(|r| r.starts_with("/my_api/orders"))
        .cloned()
        .collect();
    (sorted, orders)
}

/// The data tables of `schema` (not dlt's or Dango's own), sorted.
fn data_tables(p: &Project, schema: &str) -> Vec<String> {
    p.tables(schema)
        .into_iter()
        .filter(|t| !t.starts_with("_dlt") && !t.starts_with("_dango"))
        .collect()
}

/// Columns whose values dlt makes up per load: they differ between any two loads.
const LOAD_IDS: [&str; 4] = ["_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id"];

/// Every row of `table` as text, sorted, without the per-load ids; a child row carries its
/// parent's `id` in their place, so a line item still says which order it belongs to.
fn rows(p: &Project, schema: &str, table: &str) -> Vec<String> {
    let columns: Vec<String> = p
        .columns(schema, table)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !LOAD_IDS.contains(&name.as_str()))
        .map(|name| format!("c.\"{name}\""))
        .collect();
    let from = match table.rsplit_once("__") {
        Some((parent, _)) => format!(
            "p.id AS parent_id, {} FROM {schema}.{table} c JOIN {schema}.{parent} p \
             ON c._dlt_parent_id = p._dlt_id",
            columns.join(", ")
        ),
        None => format!("{} FROM {schema}.{table} c", columns.join(", ")),
    };
    let sql = format!("SELECT CAST(t AS VARCHAR) FROM (SELECT {from}) t ORDER BY 1");
    let db = p.db();
    let mut stmt = db.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    stmt.query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Asserts the Rust example's warehouse and the Python source's hold the same tables with the
/// same columns and rows.
fn assert_same_load(rust: &Project, python: &Project) {
    let (rs, py) = ("raw_my_api", "raw_my_custom_api");
    let tables = data_tables(rust, rs);
    assert_eq!(tables, data_tables(python, py));
    for t in ["users", "orders", "orders__line_items", "orders__tags"] {
        assert!(tables.contains(&t.to_string()), "{tables:?}");
    }
    for t in &tables {
        assert_eq!(rust.columns(rs, t), python.columns(py, t), "columns of {t}");
        let (r, p) = (rows(rust, rs, t), rows(python, py, t));
        assert!(!r.is_empty(), "{t} is empty");
        assert!(r == p, "{t}: rows differ\nrust:   {r:?}\npython: {p:?}");
    }
}

/// Rows of `schema.orders` the newest load wrote.
fn newest_orders(p: &Project, schema: &str) -> i64 {
    p.count(&format!(
        "SELECT count(*) FROM {schema}.orders WHERE _dlt_load_id = \
         (SELECT max(_dlt_load_id) FROM {schema}.orders)"
    ))
}

#[test]
fn my_api_example_asks_and_loads_what_the_tutorials_python_source_does() {
    let api = tutorial_my_api();
    let base_url = format!("{}/my_api", api.base_url());
    let rust = Project::new("version: \"1.0\"\nsources: []\n");
    // The same secret, where dlt finds the Python source's `api_key`.
    rust.write(
        ".dlt/secrets.toml",
        &format!("[sources.my_api]\napi_key = \"{TUTORIAL_TOKEN}\"\n"),
    );
    let python = tutorial_python_project(&api);
    let run_rust = || {
        let run = Command::new(example("my_api"))
            .args(["--base-url", &base_url])
            .current_dir(rust.path())
            .output()
            .expect("run example");
        let run = Run { output: run };
        run.assert_ok();
        run
    };

    let first = run_rust();
    assert!(
        first.stdout().contains("users: 1 pages, 25 rows"),
        "{}",
        first.all()
    );
    let (rust_asked, seen) = requests_since(&api, 0);
    python.dango(&["sync"]).assert_ok();
    let (python_asked, seen) = requests_since(&api, seen);
    let since = "updated_after=2024-01-01T00%3A00%3A00Z";
    assert_eq!(
        by_resource(&python_asked).1,
        [
            format!("/my_api/orders?{since}"),
            format!("/my_api/orders?page=2&{since}"),
            format!("/my_api/orders?page=3&{since}"),
        ],
        "the Python source follows next_page_url"
    );
    assert_eq!(by_resource(&rust_asked), by_resource(&python_asked));
    assert_eq!(rust_asked.len(), 4, "{rust_asked:?}");
    assert_same_load(&rust, &python);
    assert_eq!(rust.count("SELECT count(*) FROM raw_my_api.orders"), 120);

    // Ten new orders: each asks from the newest `updated_at` it loaded and keeps only the new.
    api.set_orders(130);
    let second = run_rust();
    assert!(
        second.stdout().contains("orders: 1 pages, 10 rows"),
        "{}",
        second.all()
    );
    let (rust_asked, seen) = requests_since(&api, seen);
    python.dango(&["sync"]).assert_ok();
    let (python_asked, _) = requests_since(&api, seen);
    assert_eq!(
        by_resource(&python_asked).1,
        ["/my_api/orders?updated_after=2024-01-07T00%3A00%3A00Z"],
        "the saved cursor, not the initial value"
    );
    assert_eq!(by_resource(&rust_asked), by_resource(&python_asked));
    assert_same_load(&rust, &python);
    assert_eq!(rust.count("SELECT count(*) FROM raw_my_api.orders"), 130);
    assert_eq!(newest_orders(&rust, "raw_my_api"), 10);
    assert_eq!(newest_orders(&python, "raw_my_custom_api"), 10);
    assert_eq!(
        rust.count("SELECT count(*) FROM raw_my_api.users"),
        25,
        "replaced, not doubled"
    );
    assert_eq!(rust.count("SELECT count(*) FROM raw_my_api._dlt_loads"), 2);
}

#[test]
fn a_wrong_token_fails_loads_nothing_and_is_never_shown() {
    let api = mock_api().bearer("right-token").start();
    let p = Project::new("version: \"1.0\"\nsources: []\n");
    let wrong = ("SOURCES__MY_API__API_KEY", "wrong-token-456");
    let run = run_example(&p, "my_api", &api, wrong);
    run.assert_failed();
    assert!(run.all().contains("401"), "{}", run.all());
    run.assert_hides(&["wrong-token-456"]);
    assert!(!p.warehouse().exists() || !p.tables("raw_my_api").contains(&"users".to_string()));
}

#[test]
fn hubspot_example_fetches_only_changed_contacts_on_the_second_run() {
    let api = mock_api().bearer("hs-key").start();
    let p = Project::new("version: \"1.0\"\nsources: []\n");
    let first = run_example(&p, "hubspot_contacts", &api, ("HUBSPOT_API_KEY", "hs-key"));
    first.assert_ok();
    assert!(
        first.stdout().contains("contacts: 3 pages, 250 rows"),
        "{}",
        first.all()
    );
    let columns: Vec<String> = p
        .columns("raw_hubspot", "contacts")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        columns,
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "phone",
            "created_at",
            "updated_at",
            "_dlt_load_id",
            "_dlt_id"
        ]
    );

    api.edit_contacts([3, 7]);
    let second = run_example(&p, "hubspot_contacts", &api, ("HUBSPOT_API_KEY", "hs-key"));
    second.assert_ok();
    assert!(
        second.stdout().contains("contacts: 1 pages, 2 rows"),
        "{}",
        second.all()
    );
    assert_eq!(p.count("select count(*) from raw_hubspot.contacts"), 250);
    assert_eq!(
        p.text("select email from raw_hubspot.contacts where id = '7'"),
        "contact7@new.example.com"
    );
    // A third run with nothing changed loads nothing and keeps the cursor.
    let third = run_example(&p, "hubspot_contacts", &api, ("HUBSPOT_API_KEY", "hs-key"));
    assert!(
        third.stdout().contains("contacts: 1 pages, 0 rows"),
        "{}",
        third.all()
    );
}

/// A source built with the library: an Arrow resource (loaded as dlt loads Arrow items) and a
/// resource run once per parent record, into a fresh warehouse.
#[test]
fn arrow_pages_and_dependent_resources_load_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("w.duckdb");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = |batch_rows: Vec<i64>| {
        let teams = resource("teams", move |mut ctx| async move {
            let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(
                batch_rows.iter().map(|&i| Some(vec![Some(i as i32), None])),
            );
            let mut fields = vec![
                Field::new("teamId", DataType::Int64, false),
                Field::new("name", DataType::Utf8, true),
                Field::new("tags", tags.data_type().clone(), true),
            ];
            let names: Vec<String> = batch_rows.iter().map(|i| format!("team {i}")).collect();
            let mut columns: Vec<Arc<dyn Array>> = vec![
                Arc::new(Int64Array::from(batch_rows.clone())),
                Arc::new(StringArray::from(names)),
                Arc::new(tags),
            ];
            // The second run's batches bring a new column: the table grows one.
            if batch_rows.contains(&4) {
                fields.push(Field::new("homeCity", DataType::Utf8, true));
                let cities: Vec<String> = batch_rows.iter().map(|i| format!("city {i}")).collect();
                columns.push(Arc::new(StringArray::from(cities)));
            }
            let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
            ctx.send_batch(batch).await?;
            Ok::<_, BoxError>(())
        })
        .merge_on(["teamId"]);
        let members = resource("members", |mut ctx| async move {
            let records = ctx
                .parents()
                .iter()
                .map(|team| json!({"team": team["teamId"], "people": [{"n": 1}, {"n": 2}]}))
                .collect();
            ctx.send(records).await?;
            Ok::<_, BoxError>(())
        })
        .depends_on("teams", ["teamId"]);
        let source = Source::new(
            "league",
            "raw_league",
            vec![Box::new(members), Box::new(teams)],
        )
        .unwrap();
        runtime.block_on(Pipeline::new(dir.path()).warehouse(&warehouse).run(source))
    };
    run(vec![1, 2, 3]).expect("first run");
    run(vec![3, 4]).expect("second run");
    let db = dango::warehouse::Location::File(warehouse.clone())
        .open("1GB")
        .unwrap();
    let one = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        one("select count(*) from raw_league.teams"),
        4,
        "merged on team_id"
    );
    assert_eq!(
        one("select count(*) from raw_league.teams where tags::varchar = '[4,null]'"),
        1
    );
    let ty: String = db
        .query_row(
            "select data_type from information_schema.columns \
             where table_schema = 'raw_league' and table_name = 'teams' and column_name = 'tags'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        ty, "JSON",
        "a nested Arrow column is kept whole, no child table"
    );
    assert_eq!(
        one("select count(*) from raw_league.teams where home_city is not null"),
        2,
        "teams 3 and 4, from the second run"
    );
    let tables: i64 = one("select count(*) from information_schema.tables \
         where table_schema = 'raw_league' and starts_with(table_name, 'teams__')");
    assert_eq!(tables, 0, "no child tables of an Arrow resource");
    assert_eq!(
        one("select count(*) from raw_league.members"),
        5,
        "once per parent record"
    );
    assert_eq!(one("select count(*) from raw_league.members__people"), 10);
    assert_eq!(one("select count(*) from raw_league._dlt_loads"), 2);
}

/// State a Rust resource saves comes back to it on the next run, and not after a failed one.
#[test]
fn state_goes_through_the_interface_and_only_commits_with_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("w.duckdb");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let run = |values: Vec<i64>, fail: bool| {
        let starts = starts.clone();
        let events = resource("events", move |mut ctx| async move {
            let mut cursor = ctx.incremental("seq", Some(json!(0)));
            starts.lock().unwrap().push(cursor.start_value().cloned());
            let records = values.iter().map(|v| json!({"seq": v})).collect();
            ctx.send(cursor.filter(records)?).await?;
            if fail {
                return Err("the API went away".into());
            }
            Ok::<_, BoxError>(())
        });
        let source = Source::new("log", "raw_log", vec![Box::new(events)]).unwrap();
        runtime.block_on(Pipeline::new(dir.path()).warehouse(&warehouse).run(source))
    };
    run(vec![1, 2, 3], false).expect("first");
    let err = run(vec![4, 5], true).unwrap_err();
    assert!(err.to_string().contains("the API went away"), "{err}");
    run(vec![3, 4, 5], false).expect("third");
    // The failed run's cursor never landed: the third run started from 3 again.
    assert_eq!(
        *starts.lock().unwrap(),
        [Some(json!(0)), Some(json!(3)), Some(json!(3))]
    );
    let db = dango::warehouse::Location::File(warehouse.clone())
        .open("1GB")
        .unwrap();
    let seqs: Vec<i64> = db
        .prepare("select seq from raw_log.events order by seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // 3, at the cursor, was recognised and not loaded twice.
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

/// A Rust resource sending ten pages of ten records numbered by `seq`, committing a checkpoint
/// every 20 records, into `warehouse`. It fails after sending page `fail_after` (0-based), and
/// notes where each run resumed in `resumed_at`.
fn checkpointed_events(
    dir: &std::path::Path,
    fail_after: Option<u64>,
    resumed_at: Arc<std::sync::Mutex<Vec<Option<serde_json::Value>>>>,
) -> Result<dango::SourceReport, dango::PipelineError> {
    let events = resource("events", move |mut ctx| async move {
        let from = ctx
            .resume()
            .and_then(|p| p["next_page"].as_u64())
            .unwrap_or(0);
        resumed_at.lock().unwrap().push(ctx.resume().cloned());
        let mut cursor = ctx.incremental("seq", Some(json!(0)));
        for page in from..10 {
            let records = (0..10).map(|i| json!({"seq": page * 10 + i + 1})).collect();
            let kept = cursor.filter(records)?;
            ctx.send_at(kept, json!({"next_page": page + 1})).await?;
            if fail_after == Some(page) {
                return Err("the API went away".into());
            }
        }
        Ok::<_, BoxError>(())
    })
    .checkpoint_every(20);
    let source = Source::new("log", "raw_log", vec![Box::new(events)]).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(
        Pipeline::new(dir)
            .warehouse(dir.join("w.duckdb"))
            .run(source),
    )
}

/// Rows of `raw_log.events` in `dir`'s warehouse, distinct `seq`s, and the saved cursor.
fn events_loaded(dir: &std::path::Path) -> (i64, i64, String) {
    let db = dango::warehouse::Location::File(dir.join("w.duckdb"))
        .open("1GB")
        .unwrap();
    let query = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let cursor: String = db
        .query_row(
            "select last_value from raw_log._dango_cursors where resource = 'events'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (
        query("select count(*) from raw_log.events"),
        query("select count(distinct seq) from raw_log.events"),
        cursor,
    )
}

#[test]
fn a_rust_resource_that_fails_midway_resumes_at_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let resumed_at = Arc::new(std::sync::Mutex::new(Vec::new()));
    // Failing after page 6: pages 0 to 5 are committed (three checkpoints), 6 rolled back.
    let err = checkpointed_events(dir.path(), Some(6), resumed_at.clone()).unwrap_err();
    assert!(err.to_string().contains("the API went away"), "{err}");
    let report = checkpointed_events(dir.path(), None, resumed_at.clone()).expect("resumed");
    assert_eq!(report.resources[0].rows, 40, "only pages 6 to 9 again");
    assert_eq!(
        *resumed_at.lock().unwrap(),
        [None, Some(json!({"next_page": 6}))]
    );
    // The cursor covers both runs: the next one starts after the last record.
    assert_eq!(events_loaded(dir.path()), (100, 100, "100".to_string()));
}

#[test]
fn a_resumed_rust_resource_with_nothing_left_still_saves_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let resumed_at = Arc::new(std::sync::Mutex::new(Vec::new()));
    // Failing after the last page, which completed a checkpoint: every record is committed.
    let err = checkpointed_events(dir.path(), Some(9), resumed_at.clone()).unwrap_err();
    assert!(err.to_string().contains("the API went away"), "{err}");
    let report = checkpointed_events(dir.path(), None, resumed_at.clone()).expect("resumed");
    assert_eq!(report.resources[0].rows, 0);
    assert_eq!(
        resumed_at.lock().unwrap()[1],
        Some(json!({"next_page": 10}))
    );
    assert_eq!(events_loaded(dir.path()), (100, 100, "100".to_string()));
}

#[test]
fn resources_that_cannot_run_together_are_refused_with_names() {
    let noop = |name: &str| resource(name, |_ctx| async { Ok::<_, BoxError>(()) });
    let cycle = Source::new(
        "s",
        "raw_s",
        vec![
            Box::new(noop("a").depends_on("b", ["id"])),
            Box::new(noop("b").depends_on("a", ["id"])),
        ],
    )
    .unwrap_err();
    assert!(matches!(cycle, SourceError::Cycle { .. }));
    assert!(cycle.to_string().contains("a, b"), "{cycle}");
    let unknown = Source::new(
        "s",
        "raw_s",
        vec![Box::new(noop("a").depends_on("zz", ["id"]))],
    )
    .unwrap_err();
    assert!(unknown.to_string().contains("`zz`"), "{unknown}");
    let twice =
        Source::new("s", "raw_s", vec![Box::new(noop("a")), Box::new(noop("a"))]).unwrap_err();
    assert!(
        twice.to_string().contains("two resources are named `a`"),
        "{twice}"
    );
}

/// The Rust API takes dlt's merge strategies: a scd2 resource keeps the version a run changed
/// and retires the old one; an Arrow page under it is refused (its ids hash JSON records).
#[test]
fn a_rust_resource_keeps_history_by_scd2() {
    use dango::hints::{MergeStrategy, Scd2};
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("w.duckdb");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = |names: [&'static str; 2]| {
        let customers = resource("customers", move |mut ctx| async move {
            let records = vec![
                json!({"id": 1, "name": names[0]}),
                json!({"id": 2, "name": names[1]}),
            ];
            ctx.send(records).await?;
            Ok::<_, BoxError>(())
        })
        .merge_strategy(MergeStrategy::Scd2(Scd2::default()), None);
        let source = Source::new("crm", "raw_crm", vec![Box::new(customers)]).unwrap();
        runtime.block_on(Pipeline::new(dir.path()).warehouse(&warehouse).run(source))
    };
    run(["a", "b"]).expect("first run");
    run(["a", "b"]).expect("an unchanged run");
    run(["a", "b2"]).expect("a change");
    let db = dango::warehouse::Location::File(warehouse.clone())
        .open("1GB")
        .unwrap();
    let one = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(one("select count(*) from raw_crm.customers"), 3);
    assert_eq!(
        one("select count(*) from raw_crm.customers where _dlt_valid_to is null"),
        2
    );
    assert_eq!(
        one(
            "select count(*) from raw_crm.customers where name = 'b' and _dlt_valid_to is not null"
        ),
        1
    );

    let arrow = resource("customers", |mut ctx| async move {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))])?;
        ctx.send_batch(batch).await?;
        Ok::<_, BoxError>(())
    })
    .merge_strategy(MergeStrategy::Scd2(Scd2::default()), None);
    let source = Source::new("crm", "raw_crm", vec![Box::new(arrow)]).unwrap();
    let refused = runtime
        .block_on(Pipeline::new(dir.path()).warehouse(&warehouse).run(source))
        .expect_err("Arrow pages under scd2");
    assert!(
        refused.to_string().contains("cannot be merged by `scd2`"),
        "{refused}"
    );
    assert_eq!(
        one("select count(*) from raw_crm.customers"),
        3,
        "unchanged"
    );
}

/// A Rust resource that sends its whole collection deletes, with `deletes`, the records that
/// stopped coming, and says how many; one that reads from an incremental cursor is refused.
#[test]
fn a_rust_resource_deletes_what_stops_coming() {
    use dango::hints::{AbsentDeletes, DeleteMode};
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("w.duckdb");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let run = |ids: Vec<i64>, incremental: bool| {
        let customers = resource("customers", move |mut ctx| async move {
            let records: Vec<serde_json::Value> =
                ids.iter().map(|id| json!({"id": id, "seq": id})).collect();
            let records = match incremental {
                true => ctx.incremental("seq", Some(json!(0))).filter(records)?,
                false => records,
            };
            ctx.send(records).await?;
            Ok::<_, BoxError>(())
        })
        .merge_on(["id"])
        .deletes(AbsentDeletes::new(DeleteMode::Hard));
        let source = Source::new("crm", "raw_crm", vec![Box::new(customers)]).unwrap();
        runtime.block_on(Pipeline::new(dir.path()).warehouse(&warehouse).run(source))
    };
    run(vec![1, 2, 3, 4], false).expect("first run");
    let report = run(vec![1, 2, 4], false).expect("one gone");
    assert_eq!(report.resources[0].deleted, Some(1));
    let refused = run(vec![5], true).expect_err("an incremental read");
    assert!(
        refused.to_string().contains("detects deletes by absence"),
        "{refused}"
    );
    let db = dango::warehouse::Location::File(warehouse.clone())
        .open("1GB")
        .unwrap();
    let ids: String = db
        .query_row(
            "select string_agg(id::varchar, ',' order by id) from raw_crm.customers",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ids, "1,2,4");
}
