//! Sources written in Rust: the tutorial's two custom sources as examples run against the mock
//! API (twice, the second run incremental), and the custom-source API itself: Arrow pages,
//! dependent resources, state, and sources that cannot run.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, ListArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use dango::Pipeline;
use dango::mock_api::{MockApi, MockApiConfig, MockAuth};
use dango::source::custom::resource;
use dango::source::{BoxError, Source, SourceError};
use serde_json::json;
use support::{Project, Run};

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

fn bearer_api(token: &str) -> MockApi {
    MockApi::start(MockApiConfig {
        auth: MockAuth::Bearer(token.into()),
        ..MockApiConfig::default()
    })
    .unwrap()
}

#[test]
fn my_api_example_loads_users_and_merges_orders_incrementally() {
    let api = bearer_api("tok-123");
    let p = Project::new("version: \"1.0\"\nsources: []\n");
    // The token from `.dlt/secrets.toml`, as the tutorial keeps it.
    p.write(".dlt/secrets.toml", "MY_API_TOKEN = \"tok-123\"\n");
    let first = run_example(&p, "my_api", &api, ("UNRELATED", "x"));
    first.assert_ok();
    assert!(
        first.stdout().contains("users: 3 pages, 25 rows"),
        "{}",
        first.all()
    );
    assert_eq!(p.count("select count(*) from raw_my_api.users"), 25);
    assert_eq!(p.count("select count(*) from raw_my_api.orders"), 120);
    assert!(
        p.tables("raw_my_api")
            .contains(&"orders__line_items".to_string())
    );
    let before = api.counters().total();

    // Ten new orders: the second run asks only for orders updated since the last one loaded.
    api.set_orders(130);
    let second = run_example(&p, "my_api", &api, ("UNRELATED", "x"));
    second.assert_ok();
    assert!(
        second.stdout().contains("orders: 1 pages, 10 rows"),
        "{}",
        second.all()
    );
    assert_eq!(p.count("select count(*) from raw_my_api.orders"), 130);
    assert_eq!(
        p.count("select count(distinct id) from raw_my_api.orders"),
        130
    );
    assert_eq!(
        p.count("select count(*) from raw_my_api.users"),
        25,
        "replaced, not doubled"
    );
    assert_eq!(p.count("select count(*) from raw_my_api._dlt_loads"), 2);
    // users: 3 pages; orders: one page from the cursor on.
    assert_eq!(api.counters().total() - before, 4);
}

#[test]
fn a_wrong_token_fails_loads_nothing_and_is_never_shown() {
    let api = bearer_api("right-token");
    let p = Project::new("version: \"1.0\"\nsources: []\n");
    let run = run_example(&p, "my_api", &api, ("MY_API_TOKEN", "wrong-token-456"));
    run.assert_failed();
    assert!(run.all().contains("401"), "{}", run.all());
    assert!(!run.all().contains("wrong-token-456"), "{}", run.all());
    assert!(!p.warehouse().exists() || !p.tables("raw_my_api").contains(&"users".to_string()));
}

#[test]
fn hubspot_example_fetches_only_changed_contacts_on_the_second_run() {
    let api = bearer_api("hs-key");
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
    let db = dango::warehouse::connect(&warehouse).unwrap();
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
    let db = dango::warehouse::connect(&warehouse).unwrap();
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
