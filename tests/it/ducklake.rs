//! A DuckLake warehouse with its catalog in a real PostgreSQL server: many `dango sync`
//! processes loading one lake at once (split by `--shard`, or colliding on one table), and what a
//! user sees when the lake cannot be reached. The semantics shared with the DuckDB warehouse are
//! tested on both by `both_warehouses!` in the other test files.

use crate::support;

use std::process::{Child, Command, Stdio};

use support::lake::{Postgres, extension_dir};
use support::{MockApi, Project, Run, mock_api, rest_source};

/// A `sources.yml` loading into the lake of `pg` with one `orders` source per name.
fn lake_project(pg: &Postgres, api: &MockApi, names: &[&str], disposition: &str) -> Project {
    let mut yml = format!(
        "version: \"1.0\"\nwarehouse:\n  type: ducklake\n  catalog: \"postgres:dbname=lake \
         host=127.0.0.1 port={} user=postgres\"\n  data_path: data/lake/\nsources:\n",
        pg.port
    );
    for name in names {
        let one = rest_source(
            name,
            &api.base_url(),
            "",
            &format!(
                "        - name: orders\n          endpoint: /orders\n          \
                 write_disposition: {disposition}\n          \
                 pagination: {{type: offset, limit: 50, total_path: total}}\n"
            ),
        );
        // rest_source writes a whole file; keep its source entry only.
        let entry = one
            .split_once("sources:\n")
            .map(|(_, s)| s)
            .unwrap_or_default();
        yml.push_str(entry);
    }
    Project::new(&yml)
}

fn spawn_dango(p: &Project, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dango"))
        .args(args)
        .current_dir(p.path())
        .env("DANGO_EXTENSION_DIR", extension_dir())
        .env_remove("DANGO_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dango")
}

fn finish(child: Child) -> Run {
    Run {
        output: child.wait_with_output().expect("dango ran"),
    }
}

fn lake_dango(p: &Project, args: &[&str]) -> Run {
    p.dango_env(
        args,
        &[("DANGO_EXTENSION_DIR", &extension_dir().to_string_lossy())],
    )
}

/// Rows of `sql` in the lake, read through a connection of the test's own.
fn lake_count(p: &Project, sql: &str) -> i64 {
    support::lake::open(p.path())
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Three workers, each `--shard K/3` of six sources, at once into one Postgres-catalogued lake:
/// each source is synced by exactly one worker, all commit, nothing is lost or doubled.
#[test]
fn three_sharded_workers_load_six_sources_into_one_lake_at_once() {
    let pg = Postgres::start("lake");
    let api = mock_api().orders(300).start();
    let names = ["s1", "s2", "s3", "s4", "s5", "s6"];
    let p = lake_project(&pg, &api, &names, "merge");
    // Before any sync the catalog database is empty: the read-only commands say so.
    lake_dango(&p, &["validate"]).assert_ok();
    let history = lake_dango(&p, &["history"]);
    assert!(
        history.assert_ok().stdout().contains("No syncs yet"),
        "{}",
        history.all()
    );
    let workers: Vec<Child> = (1..=3)
        .map(|k| spawn_dango(&p, &["sync", "--quiet", "--shard", &format!("{k}/3")]))
        .collect();
    let runs: Vec<Run> = workers.into_iter().map(finish).collect();
    for run in &runs {
        run.assert_ok();
    }
    // Round-robin in name order: worker 1 has s1 and s4, and so on.
    assert!(
        runs[0].stdout().contains("s1 → raw_s1"),
        "{}",
        runs[0].all()
    );
    assert!(
        runs[0].stdout().contains("s4 → raw_s4"),
        "{}",
        runs[0].all()
    );
    assert!(!runs[0].stdout().contains("s2 →"), "{}", runs[0].all());
    for name in names {
        let table = format!("raw_{name}.orders");
        assert_eq!(
            lake_count(&p, &format!("SELECT count(*) FROM {table}")),
            300
        );
        assert_eq!(
            lake_count(&p, &format!("SELECT count(DISTINCT id) FROM {table}")),
            300
        );
        let loads = format!("SELECT count(*) FROM raw_{name}._dlt_loads WHERE status = 0");
        assert_eq!(lake_count(&p, &loads), 1, "{name} was loaded once");
    }
    // The catalog really is PostgreSQL's, and the rows are Parquet files in data_path.
    let snapshots: i64 = pg
        .psql("lake", "SELECT count(*) FROM ducklake_snapshot")
        .parse()
        .unwrap();
    assert!(
        snapshots >= 6,
        "one commit per source at least: {snapshots}"
    );
    let parquet = walk(&p.path().join("data/lake"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert!(parquet >= 6, "{parquet} Parquet files");
    // A second round merges: the same rows, no duplicates.
    let again: Vec<Run> = (1..=3)
        .map(|k| spawn_dango(&p, &["sync", "--quiet", "--shard", &format!("{k}/3")]))
        .map(finish)
        .collect();
    for run in &again {
        run.assert_ok();
    }
    assert_eq!(lake_count(&p, "SELECT count(*) FROM raw_s6.orders"), 300);
}

/// Two processes merging into the same table at once: DuckLake lets one commit; the other
/// either commits after it (DuckLake retried the commit) or fails saying why with nothing
/// loaded. Either way the table holds each order once, and a rerun succeeds.
#[test]
fn two_processes_merging_one_table_at_once_never_double_a_row() {
    let pg = Postgres::start("lake");
    let api = mock_api().orders(400).start();
    let p = lake_project(&pg, &api, &["shop"], "merge");
    lake_dango(&p, &["sync", "--quiet"]).assert_ok();
    let runs: Vec<Run> = (0..2)
        .map(|_| spawn_dango(&p, &["sync", "--quiet"]))
        .collect::<Vec<_>>()
        .into_iter()
        .map(finish)
        .collect();
    let ok = runs.iter().filter(|r| r.ok()).count();
    assert!(ok >= 1, "at least one commits:\n{}", runs[0].all());
    for run in runs.iter().filter(|r| !r.ok()) {
        let text = run.all();
        assert!(text.contains("conflict"), "{text}");
        assert!(text.contains("run the sync again"), "{text}");
        assert!(
            text.contains("Nothing from this source was loaded"),
            "{text}"
        );
    }
    assert_eq!(lake_count(&p, "SELECT count(*) FROM raw_shop.orders"), 400);
    let loads = "SELECT count(*) FROM raw_shop._dlt_loads WHERE status = 0";
    assert_eq!(lake_count(&p, loads), 1 + ok as i64);
    lake_dango(&p, &["sync", "--quiet"]).assert_ok();
    assert_eq!(lake_count(&p, "SELECT count(*) FROM raw_shop.orders"), 400);
}

/// A catalog that cannot be reached is named with its password hidden; an extension that
/// cannot be installed says where to put it.
#[test]
fn an_unreachable_catalog_or_a_missing_extension_is_told_without_secrets() {
    let api = mock_api().start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let yml = format!(
        "warehouse:\n  type: ducklake\n  catalog: \"postgres:dbname=lake host=127.0.0.1 \
         port={port} user=dango password=${{LAKE_PG_PASSWORD}}\"\n{}",
        rest_source(
            "shop",
            &api.base_url(),
            "",
            "        - name: users\n          endpoint: /users\n"
        )
    );
    let p = Project::new(&yml);
    p.write(".env", "LAKE_PG_PASSWORD=sekrit-pg-value\n");
    let run = lake_dango(&p, &["sync"]);
    run.assert_failed();
    let text = run.all();
    assert!(!text.contains("sekrit-pg-value"), "{text}");
    assert!(text.contains("password=***"), "{text}");
    assert!(text.contains(&format!("port={port}")), "{text}");
    let empty = tempfile::tempdir().unwrap();
    let run = p.dango_env(
        &["sync"],
        &[("DANGO_EXTENSION_DIR", &empty.path().to_string_lossy())],
    );
    run.assert_failed();
    let text = run.all();
    assert!(
        text.contains("needs DuckDB's `parquet` extension"),
        "{text}"
    );
    assert!(text.contains("DANGO_EXTENSION_DIR"), "{text}");
    assert!(!text.contains("sekrit-pg-value"), "{text}");
    // Nothing was synced, so nothing was recorded; `validate` says what is wrong too.
    let validate = p.dango_env(
        &["validate"],
        &[("DANGO_EXTENSION_DIR", &empty.path().to_string_lossy())],
    );
    validate.assert_failed();
    assert!(
        validate.all().contains("extension, which is not installed"),
        "{}",
        validate.all()
    );
}

/// A lake whose Postgres catalog goes away while a sync is loading: before it opens, while
/// pages are appended, and while it commits (its connections cut, then the server stopped).
/// The catalog's password is in no output and no history row, whichever step failed.
#[test]
fn a_catalog_lost_mid_sync_never_shows_its_password() {
    const PASSWORD: &str = "pg-pass-4f9d2c";
    let pg = Postgres::start("lake");
    let api = mock_api()
        .orders(3000)
        .latency(std::time::Duration::from_millis(100))
        .start();
    let p = lake_project(&pg, &api, &["shop"], "merge");
    let yml = std::fs::read_to_string(p.path().join(".dango/sources.yml")).unwrap();
    p.write(
        ".dango/sources.yml",
        &yml.replace(
            "user=postgres",
            "user=postgres password=${LAKE_PG_PASSWORD}",
        ),
    );
    p.write(".env", &format!("LAKE_PG_PASSWORD={PASSWORD}\n"));
    lake_dango(&p, &["sync"]).assert_ok();
    let pages = api.counters().path("/orders");

    // Starts a sync and waits until it has fetched `after` of its pages (or, past the last
    // page, until the commit has had a moment to begin).
    let sync_until = |after: u64| {
        let start = api.counters().path("/orders");
        let child = spawn_dango(&p, &["sync", "--full-refresh", "-y"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while api.counters().path("/orders") < start + after.min(pages)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if after >= pages {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        child
    };
    let cut = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
               WHERE datname = 'lake' AND pid <> pg_backend_pid()";
    let mut outputs = Vec::new();
    // The catalog's connections cut while pages are appended, and as the commit begins.
    for after in [3, pages] {
        let child = sync_until(after);
        pg.psql("postgres", cut);
        let run = finish(child);
        run.assert_failed();
        outputs.push(run.all());
    }
    let history = lake_dango(&p, &["history"]);
    history.assert_ok();
    let recorded: String = support::lake::open(p.path())
        .query_row(
            "SELECT coalesce(string_agg(error, ' | '), '') FROM _dango.syncs",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("history table: {e}"));
    // The server gone while pages are appended: the commit cannot reconnect.
    let child = sync_until(3);
    pg.stop();
    let stopped = finish(child);
    stopped.assert_failed();
    let after = lake_dango(&p, &["sync"]);
    after.assert_failed();
    outputs.extend([stopped.all(), after.all(), history.all(), recorded]);
    for text in &outputs {
        assert!(!text.contains(PASSWORD), "password shown:\n{text}");
    }
    let stopped = &outputs[outputs.len() - 4];
    assert!(stopped.contains("password=***"), "{stopped}");
}

/// A lake's data folder that cannot be written is told by `validate` and `sync` before any
/// catalog records it; a folder moved in `sources.yml` is refused while the old one holds the
/// lake's files, and taken (and recorded) once they were moved there.
#[test]
fn an_unwritable_or_moved_data_path_is_told_in_dangos_terms() {
    let api = mock_api().start();
    let users = "        - name: users\n          endpoint: /users\n          data_selector: data\n          \
                 write_disposition: append\n";
    let with_path = |path: &str| {
        format!(
            "warehouse: {{type: ducklake, catalog: data/lake.ducklake, data_path: {path}}}\n{}",
            rest_source("crm", &api.base_url(), "", users)
        )
    };
    let p = Project::new(&with_path("blocker/lake/"));
    // A file where a folder must go: unwritable even for root.
    p.write("blocker", "not a folder");
    for command in ["validate", "sync"] {
        let run = lake_dango(&p, &[command]);
        run.assert_failed();
        assert!(
            run.all().contains("cannot write to the lake's data_path"),
            "{command}: {}",
            run.all()
        );
    }
    assert!(
        !p.path().join("data/lake.ducklake").exists(),
        "no catalog made"
    );

    p.write(".dango/sources.yml", &with_path("data/lake-a/"));
    lake_dango(&p, &["sync"]).assert_ok();
    p.write(".dango/sources.yml", &with_path("data/lake-b/"));
    let moved = lake_dango(&p, &["sync"]);
    moved.assert_failed();
    assert!(
        moved.all().contains("Set data_path back to")
            && !moved.all().contains("OVERRIDE_DATA_PATH"),
        "{}",
        moved.all()
    );
    std::fs::rename(p.path().join("data/lake-a"), p.path().join("data/lake-b")).unwrap();
    lake_dango(&p, &["sync"]).assert_ok();
    let count = lake_dango(&p, &["query", "select count(*) as n from raw_crm.users"]);
    count.assert_ok();
    assert!(
        count.stdout().contains("50"),
        "both syncs' rows read: {}",
        count.stdout()
    );
    // Recorded: the next sync attaches the new place without moving anything.
    let again = lake_dango(&p, &["sync"]);
    again.assert_ok();
    assert!(!again.all().contains("data path moved"), "{}", again.all());
}

/// `dango init --warehouse ducklake` makes a project whose lake `validate` accepts and whose
/// `warehouse:` block a sync loads into (a local catalog and Parquet files under data/).
#[test]
fn init_scaffolds_a_lake_that_syncs() {
    let api = mock_api().start();
    let dir = tempfile::tempdir().unwrap();
    let init = support::run_dango(dir.path(), &["init", "proj", "--warehouse", "ducklake"]);
    init.assert_ok();
    let root = dir.path().join("proj");
    let yml = std::fs::read_to_string(root.join(".dango/sources.yml")).unwrap();
    assert!(yml.contains("type: ducklake"), "{yml}");
    // Point the example at the mock API instead of the internet.
    let block = yml.split("sources:\n").next().unwrap().to_string();
    let ours = rest_source(
        "shop",
        &api.base_url(),
        "",
        "        - name: users\n          endpoint: /users\n",
    );
    std::fs::write(
        root.join(".dango/sources.yml"),
        format!("{block}{}", ours.replacen("version: \"1.0\"\n", "", 1)),
    )
    .unwrap();
    let env = [("DANGO_EXTENSION_DIR", extension_dir())];
    let run = |args: &[&str]| {
        let env: Vec<(&str, String)> = env
            .iter()
            .map(|(k, v)| (*k, v.to_string_lossy().into_owned()))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        support::run_dango_env(&root, args, &env)
    };
    run(&["validate"]).assert_ok();
    run(&["sync", "--quiet"]).assert_ok();
    assert!(root.join("data/lake.ducklake").exists());
    let out = run(&[
        "query",
        "SELECT count(*) AS n FROM raw_shop.users",
        "--format",
        "csv",
    ]);
    out.assert_ok();
    assert!(out.stdout().contains("n\n"), "{}", out.all());
    assert!(!root.join("data/warehouse.duckdb").exists());
    // DuckDB spills into the project's data/, not the directory dango runs from.
    let spill = run(&[
        "query",
        "SELECT current_setting('temp_directory') AS t",
        "--format",
        "csv",
    ]);
    spill.assert_ok();
    let expected = root.join("data/.tmp");
    assert!(
        spill.stdout().contains(&*expected.to_string_lossy()),
        "{}",
        spill.all()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A bucket as `data_path`: the Parquet files go to an S3-compatible server on 127.0.0.1 (moto,
/// from its own pinned virtual environment), with keys from `.env`, which appear in no output
/// and not in the catalog.
#[test]
fn a_bucket_data_path_loads_through_s3_with_keys_never_shown() {
    let venv = support::lake::target_dir().join("moto-venv");
    let python = support::run_script(
        "pinned_venv.sh",
        &[venv.as_os_str(), "moto[server]==5.2.5".as_ref()],
    );
    let bin = std::path::Path::new(&python)
        .parent()
        .expect("bin")
        .to_path_buf();
    let port = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().port()
    };
    let mut server = Command::new(bin.join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let (key, secret) = ("AKIADANGOTEST", "sekrit-s3-value");
    let endpoint = format!("http://127.0.0.1:{port}");
    let boto = format!(
        "import boto3, time\n\
         s3 = boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='{key}', \
         aws_secret_access_key='{secret}', region_name='us-east-1')\n\
         for _ in range(100):\n    \
           try:\n        s3.create_bucket(Bucket='lake'); break\n    \
           except Exception: time.sleep(0.1)\n\
         print('ready', flush=True)\n\
         import sys; sys.stdin.read()\n\
         print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket='lake').get('Contents', [])))\n"
    );
    let mut client = Command::new(bin.join("python"))
        .args(["-c", &boto])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    // The sync needs the server up and the bucket made.
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(client.stdout.as_mut().expect("piped")),
        &mut ready,
    )
    .expect("the client says when the bucket is made");
    assert_eq!(ready.trim(), "ready");
    let api = mock_api().start();
    let yml = format!(
        "warehouse: {{type: ducklake, catalog: data/lake.ducklake, data_path: 's3://lake/raw/'}}\n{}",
        rest_source(
            "shop",
            &api.base_url(),
            "",
            "        - name: orders\n          endpoint: /orders\n          \
             pagination: {type: offset, limit: 50, total_path: total}\n"
        )
    );
    let p = Project::new(&yml);
    p.write(
        ".env",
        &format!(
            "AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_REGION=us-east-1\n\
             AWS_ENDPOINT_URL={endpoint}\n"
        ),
    );
    let run = lake_dango(&p, &["-vv", "sync"]);
    // Read back through the bucket while the server runs.
    let sql = "SELECT count(*) = count(DISTINCT id) AND count(*) > 0 AS ok FROM raw_shop.orders";
    let read = lake_dango(&p, &["query", sql, "--format", "csv"]);
    drop(client.stdin.take());
    let listed = client.wait_with_output().expect("listing");
    let _ = server.kill();
    let _ = server.wait();
    run.assert_ok();
    assert_eq!(
        read.assert_ok().stdout().trim(),
        "ok\ntrue",
        "{}",
        read.all()
    );
    let keys = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        keys.lines()
            .any(|k| k.starts_with("raw/raw_shop/orders/") && k.ends_with(".parquet")),
        "{keys}"
    );
    run.assert_hides(&[secret]);
    let catalog = std::fs::read(p.path().join("data/lake.ducklake")).unwrap();
    let needle = secret.as_bytes();
    assert!(!catalog.windows(needle.len()).any(|w| w == needle));
}
