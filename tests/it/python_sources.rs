//! Python dlt sources (`type: dlt_native`) run by Dango against the in-repo mock API, with the
//! reference dlt's interpreter: the tutorial's `my_api.py` byte for byte, a working
//! `hubspot_contacts.py`, incremental state kept across syncs, the same layout as dlt's own
//! `pipeline.run`, every error the user can meet, a kill in the middle of a sync, and Ctrl-C or
//! SIGTERM while the user's code hangs.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::layout::{self, Layout};
use support::{MockApi, Project, TUTORIAL_TOKEN, mock_api, reference_python, tutorial_my_api};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/python/custom_sources"
);

/// A project with the fixtures' `custom_sources/` and one `dlt_native` source named `name`
/// whose block is `block` (indented YAML under `dlt_native:`).
fn python_project(name: &str, block: &str, secrets: &str) -> Project {
    let yml = format!("sources:\n  - name: {name}\n    type: dlt_native\n    dlt_native:\n{block}");
    let project = Project::new(&yml);
    for file in ["my_api.py", "hubspot_contacts.py", "shapes.py"] {
        let text = std::fs::read_to_string(Path::new(FIXTURES).join(file)).unwrap();
        project.write(&format!("custom_sources/{file}"), &text);
    }
    project.write(".dlt/secrets.toml", secrets);
    project
}

/// The `my_api` source of the tutorial, against `api`.
fn my_api(api: &MockApi, secrets: &str) -> Project {
    let block = format!(
        "      source_module: \"custom_sources.my_api\"\n      source_name: \"my_api_source\"\n      python: \"{}\"\n      function_kwargs:\n        base_url: \"{}/my_api\"\n",
        reference_python().display(),
        api.base_url()
    );
    python_project("my_custom_api", &block, secrets)
}

const MY_API_SECRET: &str = "[sources.my_api]\napi_key = \"tutorial-token\"\n";

#[test]
fn the_tutorials_my_api_loads_and_a_second_sync_loads_only_new_orders() {
    let api = tutorial_my_api();
    let project = my_api(&api, MY_API_SECRET);
    let first = project.dango(&["sync"]);
    first.assert_ok();
    let schema = "raw_my_custom_api";
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.users"),
        25
    );
    assert_eq!(
        project.count("SELECT count(DISTINCT id) FROM raw_my_custom_api.orders"),
        120
    );
    let tables = project.tables(schema);
    for t in ["users", "orders", "orders__line_items", "orders__tags"] {
        assert!(tables.contains(&t.to_string()), "{tables:?}");
    }
    assert_eq!(
        api.counters().path("/my_api/orders"),
        3,
        "120 orders, 50 a page"
    );

    api.set_orders(130);
    project.dango(&["sync"]).assert_ok();
    // The second sync asked only for orders from the last one on (the tutorial's
    // `updated_after`), and dlt's boundary hashes kept the last old order out.
    let asked: Vec<String> = api
        .counters()
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("/my_api/orders"))
        .collect();
    assert!(
        asked[3].contains("updated_after=2024-01-07T00%3A00%3A00Z"),
        "{asked:?}"
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.orders"),
        130,
        "merge on id: no duplicates"
    );
    let newest_load = project.text("SELECT max(_dlt_load_id) FROM raw_my_custom_api.orders");
    assert_eq!(
        project.count(&format!(
            "SELECT count(*) FROM raw_my_custom_api.orders WHERE _dlt_load_id = '{newest_load}'"
        )),
        10,
        "only the 10 new orders were loaded again"
    );
    // `replace` users: the table holds exactly the last sync's rows.
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.users"),
        25
    );
    let state = project.text("SELECT state FROM raw_my_custom_api._dango_cursors");
    assert!(state.contains("unique_hashes"), "{state}");
}

#[test]
fn hubspot_contacts_merge_and_reload_only_edited_contacts() {
    let api = mock_api().bearer("hs-key").start();
    let block = format!(
        "      source_module: custom_sources.hubspot_contacts\n      source_function: hubspot_contacts_source\n      pipeline_name: hubspot\n      python: \"{}\"\n      function_kwargs: {{base_url: \"${{HUBSPOT_BASE}}\"}}\n",
        reference_python().display()
    );
    let project = python_project("hubspot", &block, "");
    // The key from `.env`, the base URL from `${VAR}` in the config.
    project.write(
        ".env",
        &format!(
            "SOURCES__HUBSPOT_CONTACTS__API_KEY=hs-key\nHUBSPOT_BASE={}\n",
            api.base_url()
        ),
    );
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.count("SELECT count(*) FROM raw_hubspot.contacts"),
        250
    );
    let before = api.counters().path("/crm/v3/objects/contacts");
    assert_eq!(before, 3, "250 contacts, 100 a page");

    api.edit_contacts([7, 42]);
    let run = project.dango(&["sync"]);
    run.assert_ok();
    assert!(run.stdout().contains(" 2 rows"), "{}", run.stdout());
    assert_eq!(api.counters().path("/crm/v3/objects/contacts") - before, 1);
    assert_eq!(
        project.count("SELECT count(*) FROM raw_hubspot.contacts"),
        250
    );
    assert_eq!(
        project.text("SELECT email FROM raw_hubspot.contacts WHERE id = '42'"),
        "contact42@new.example.com"
    );
}

/// Whether a table holds data (not `_dlt_*`/`_dango_*` bookkeeping).
fn data_table(table: &str) -> bool {
    !table.starts_with("_d")
}

/// The layout dlt's own `pipeline.run` gives `function` of `module` in `project`.
fn dlt_layout(
    project: &Project,
    module: &str,
    function: &str,
    kwargs: &str,
    dataset: &str,
) -> Layout {
    let work = tempfile::tempdir().unwrap();
    let db_file = work.path().join("dlt.duckdb");
    let out = support::run_reference(
        "dlt_python_reference.py",
        [
            project.path().to_str().unwrap(),
            module,
            function,
            kwargs,
            db_file.to_str().unwrap(),
            work.path().join("pipelines").to_str().unwrap(),
            dataset,
        ],
    );
    // dlt's DuckDB writes a newer file format: it prints its layout itself, on the last line
    // (the user's code may print before).
    let stdout = String::from_utf8_lossy(&out);
    let theirs = layout::printed(stdout.lines().last().unwrap_or_default(), data_table);
    assert!(!theirs.is_empty());
    theirs
}

#[test]
fn the_layout_equals_dlts_own_pipeline_run() {
    let api = tutorial_my_api();
    let project = my_api(&api, MY_API_SECRET);
    project.dango(&["sync"]).assert_ok();
    let ours = layout::of_warehouse(&project.db(), "raw_my_custom_api", data_table);
    let kwargs = format!("{{\"base_url\": \"{}/my_api\"}}", api.base_url());
    let theirs = dlt_layout(
        &project,
        "custom_sources.my_api",
        "my_api_source",
        &kwargs,
        "raw_my_custom_api",
    );
    assert_eq!(ours, theirs);
}

#[test]
fn typed_values_transformers_and_table_names_from_data_land_as_dlt_lands_them() {
    let block = format!(
        "      source_module: shapes\n      python: \"{}\"\n      source_function: shapes_source\n",
        reference_python().display()
    );
    let project = python_project("shapes", &block, "");
    let run = project.dango(&["-v", "sync"]);
    run.assert_ok();
    // The user's print() reached the log, not the data.
    assert!(
        run.stderr().contains("fetching invoices"),
        "{}",
        run.stderr()
    );
    let ours = layout::of_warehouse(&project.db(), "raw_shapes", data_table);
    let theirs = dlt_layout(&project, "shapes", "shapes_source", "{}", "raw_shapes");
    assert_eq!(ours, theirs);
    let types: Vec<String> = ours["invoices"]
        .0
        .iter()
        .map(|(c, t)| format!("{c} {t}"))
        .collect();
    for expected in [
        "amount DECIMAL(38,9)",
        "due DATE",
        "issued_at TIMESTAMP WITH TIME ZONE",
    ] {
        assert!(types.contains(&expected.to_string()), "{types:?}");
    }
    assert_eq!(ours["events_click"].1 + ours["events_view"].1, 30);
    assert_eq!(ours["invoice_events"].1, 30);
    // The resource's column hints: a declared type and a column declared before any value.
    let profiles: Vec<String> = ours["profiles"]
        .0
        .iter()
        .map(|(c, t)| format!("{c} {t}"))
        .collect();
    for expected in ["code VARCHAR", "score DOUBLE"] {
        assert!(profiles.contains(&expected.to_string()), "{profiles:?}");
    }
}

#[test]
fn arrow_tables_load_as_they_are() {
    let block = format!(
        "      source_module: shapes\n      python: \"{}\"\n      source_function: arrow_source\n      function_kwargs: {{n: 1000}}\n",
        reference_python().display()
    );
    let project = python_project("arrow", &block, "");
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.count("SELECT count(*) FROM raw_arrow.measurements"),
        1000
    );
    assert_eq!(
        project.count("SELECT sum(id) FROM raw_arrow.measurements"),
        499_500
    );
    assert_eq!(
        project.count("SELECT max(point.y) FROM raw_arrow.measurements"),
        0,
        "the struct column kept whole"
    );
    assert_eq!(
        project
            .tables("raw_arrow")
            .iter()
            .filter(|t| t.starts_with("measurements__"))
            .count(),
        0
    );
}

/// Runs `dango sync` on a project whose source is `block`; the failure's output.
fn failure(block: &str, secrets: &str) -> String {
    let project = python_project("broken", block, secrets);
    let run = project.dango(&["sync"]);
    run.assert_failed();
    assert!(!project.warehouse().exists() || project.tables("raw_broken").is_empty());
    run.all()
}

fn block(module: &str, function: &str, python: &str, base_url: &str) -> String {
    format!(
        "      source_module: {module}\n      source_name: {function}\n      python: \"{python}\"\n      function_kwargs: {{base_url: \"{base_url}\"}}\n"
    )
}

#[test]
fn each_failure_is_one_clear_message_and_loads_nothing() {
    let api = tutorial_my_api();
    let py = reference_python().display().to_string();
    let base = format!("{}/my_api", api.base_url());

    let missing_secret = failure(
        &block("custom_sources.my_api", "my_api_source", &py, &base),
        "",
    );
    assert!(missing_secret.contains("api_key"), "{missing_secret}");
    assert!(
        missing_secret.contains("SOURCES__MY_API__API_KEY"),
        "{missing_secret}"
    );

    let no_module = failure(
        &block("custom_sources.nope", "x", &py, &base),
        MY_API_SECRET,
    );
    assert!(
        no_module.contains("importing `custom_sources.nope` failed"),
        "{no_module}"
    );
    assert!(no_module.contains("ModuleNotFoundError"), "{no_module}");

    let no_function = failure(
        &block("custom_sources.my_api", "my_source", &py, &base),
        MY_API_SECRET,
    );
    assert!(
        no_function.contains("has no function `my_source`"),
        "{no_function}"
    );
    assert!(no_function.contains("my_api_source"), "{no_function}");

    let wrong_key = failure(
        &block("custom_sources.my_api", "my_api_source", &py, &base),
        "[sources.my_api]\napi_key = \"wrong-token\"\n",
    );
    assert!(wrong_key.contains("resource `users`"), "{wrong_key}");
    assert!(wrong_key.contains("401"), "{wrong_key}");
    assert!(
        wrong_key.contains("my_api.py"),
        "the user's traceback: {wrong_key}"
    );
    assert!(
        !wrong_key.contains("wrong-token"),
        "the secret leaked: {wrong_key}"
    );

    let no_python = failure(
        &block(
            "custom_sources.my_api",
            "my_api_source",
            "/nonexistent/python3",
            &base,
        ),
        MY_API_SECRET,
    );
    assert!(
        no_python.contains("python: /nonexistent/python3"),
        "{no_python}"
    );

    let bare = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .args(["-m", "venv", bare.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(made.success());
    let bare_python = bare.path().join("bin/python").display().to_string();
    let no_dlt = failure(
        &block(
            "custom_sources.my_api",
            "my_api_source",
            &bare_python,
            &base,
        ),
        MY_API_SECRET,
    );
    assert!(no_dlt.contains("dlt is not importable"), "{no_dlt}");
    assert!(
        no_dlt.contains(&format!("{bare_python} -m pip install")),
        "{no_dlt}"
    );
}

#[test]
fn the_tutorials_hubspot_file_as_printed_fails_as_dlt_fails() {
    let api = mock_api().start();
    let project = python_project(
        "hubspot",
        &format!(
            "      source_module: custom_sources.hubspot_printed\n      source_name: hubspot_contacts_source\n      python: \"{}\"\n",
            reference_python().display()
        ),
        "[sources.hubspot_printed]\napi_key = \"k\"\n",
    );
    // The tutorial's file with only its hard-coded URL pointed at the mock API.
    let printed = std::fs::read_to_string(Path::new(FIXTURES).join("../hubspot_printed.py"))
        .unwrap()
        .replace("https://api.hubapi.com", &api.base_url());
    project.write("custom_sources/hubspot_printed.py", &printed);
    let run = project.dango(&["sync"]);
    run.assert_failed();
    assert!(run.all().contains("resource `contacts`"), "{}", run.all());
    assert!(run.all().contains("updatedAt"), "{}", run.all());
    assert!(
        run.all().contains("IncrementalCursorPathMissing"),
        "{}",
        run.all()
    );
}

#[test]
fn a_killed_python_sync_loses_and_duplicates_nothing() {
    let api = mock_api()
        .bearer(TUTORIAL_TOKEN)
        .orders(400)
        .page_size(20)
        .latency(Duration::from_millis(40))
        .start();
    let project = my_api(&api, MY_API_SECRET);
    let mut child = project.spawn(&["sync"]);
    // Kill once some order pages were served, well before the 20 of them.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while api.counters().path("/my_api/orders") < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        api.counters().path("/my_api/orders") < 20,
        "killed too late"
    );
    // No Python process is left behind to hold anything.
    std::thread::sleep(Duration::from_millis(300));
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.orders"),
        400
    );
    assert_eq!(
        project.count("SELECT count(DISTINCT id) FROM raw_my_custom_api.orders"),
        400
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api._dlt_loads"),
        1
    );
}

#[test]
fn a_misspelt_field_of_a_python_source_is_named_with_a_suggestion() {
    let project = python_project(
        "my_custom_api",
        "      source_module: \"custom_sources.my_api\"\n      source_nme: \"my_api_source\"\n",
        MY_API_SECRET,
    );
    let run = project.dango(&["validate"]);
    run.assert_failed();
    let line = run
        .stderr()
        .lines()
        .find(|l| l.contains("sources.yml:6"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", run.stderr()));
    assert!(line.contains("dlt_native.source_nme"), "{line}");
    assert!(line.contains("did you mean `source_name`?"), "{line}");
}

#[test]
fn validate_shows_the_interpreter_dlt_version_and_tables() {
    let api = tutorial_my_api();
    let project = my_api(&api, MY_API_SECRET);
    let run = project.dango(&["validate"]);
    run.assert_ok();
    let out = run.stdout();
    assert!(out.contains("tables users, orders"), "{out}");
    assert!(out.contains("chosen by python:"), "{out}");
    assert!(out.contains("dlt 1.31.0"), "{out}");
    assert_eq!(api.counters().total(), 0, "validate makes no request");
}

#[test]
fn a_failed_python_sync_keeps_rows_and_state_as_they_were() {
    let api = tutorial_my_api();
    let project = my_api(&api, MY_API_SECRET);
    project.dango(&["sync"]).assert_ok();
    let state = "SELECT state FROM raw_my_custom_api._dango_cursors";
    let saved = project.text(state);
    let before = project.dataset("raw_my_custom_api");

    api.set_orders(130);
    project.write(
        ".dlt/secrets.toml",
        "[sources.my_api]\napi_key = \"revoked\"\n",
    );
    project.dango(&["sync"]).assert_failed();
    project.assert_as_before(&before);
    assert_eq!(project.text(state), saved);
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.orders"),
        120
    );
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api._dlt_loads"),
        1
    );

    project.write(".dlt/secrets.toml", MY_API_SECRET);
    project.dango(&["sync"]).assert_ok();
    assert_eq!(
        project.count("SELECT count(*) FROM raw_my_custom_api.orders"),
        130
    );
    assert_ne!(project.text(state), saved);
}

#[test]
fn state_shows_a_python_sources_cursors_and_reset_clears_one_resource() {
    let api = tutorial_my_api();
    let project = my_api(&api, MY_API_SECRET);
    project.dango(&["sync"]).assert_ok();
    let state = project.dango(&["state", "my_custom_api"]);
    state.assert_ok();
    assert!(
        state
            .stdout()
            .contains("cursor orders.updated_at = 2024-01-07T00:00:00Z"),
        "{}",
        state.stdout()
    );
    project
        .dango(&[
            "state",
            "reset",
            "my_custom_api",
            "--resource",
            "orders",
            "--yes",
        ])
        .assert_ok();
    assert!(!project.dango(&["state"]).stdout().contains("cursor orders"));
    let before = api.counters().path("/my_api/orders");
    project.dango(&["sync"]).assert_ok();
    let asked: Vec<String> = api.counters().requests();
    let first = asked
        .iter()
        .filter(|r| r.starts_with("/my_api/orders"))
        .nth(before as usize)
        .cloned()
        .unwrap_or_default();
    assert!(
        first.contains("updated_after=2024-01-01T00%3A00%3A00Z"),
        "from the initial value: {first}"
    );
}

/// A source that loads a page, then hangs as a stuck source does: it starts a helper process
/// and sleeps, after writing both pids. With `ignore_signals` it ignores SIGINT and SIGTERM, as
/// code stuck in C or swallowing its interrupts does, and so does its helper (ignored signals
/// are inherited).
const BLOCKING_SOURCE: &str = r#"
import os
import signal
import subprocess
import time

import dlt


@dlt.source
def blocking_source(ignore_signals=False):
    @dlt.resource(write_disposition="append")
    def rows():
        # Five pages' worth in one item: Dango receives and loads them before the hang.
        yield [{"id": i, "pad": "x" * 30} for i in range(5000)]
        if ignore_signals:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        helper = subprocess.Popen(["sleep", "3600"])
        with open("pids.tmp", "w") as f:
            f.write(f"{os.getpid()} {helper.pid}")
        os.rename("pids.tmp", "pids")
        try:
            time.sleep(3600)
        finally:
            open("stopped_cleanly", "w").close()

    return rows
"#;

/// How long Dango may take to stop after a signal: the grace it gives a Python process that
/// ignores its interrupt (seconds), with room to spare.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// A `dango sync` of [`BLOCKING_SOURCE`], running, its output going to files.
struct BlockedSync {
    project: Project,
    dango: std::process::Child,
    logs: tempfile::TempDir,
    /// The Python process and its helper, each with its name (`comm`) when it was seen alive.
    processes: Vec<(i32, String)>,
}

impl BlockedSync {
    /// Starts the sync and waits until the rows are loaded (not committed) and the source hangs.
    fn start(ignore_signals: bool) -> Self {
        let block = format!(
            "      source_module: blocking\n      source_function: blocking_source\n      python: \"{}\"\n      function_kwargs: {{ignore_signals: {ignore_signals}}}\n",
            reference_python().display()
        );
        let project = python_project("blocked", &block, "");
        project.write("custom_sources/blocking.py", BLOCKING_SOURCE);
        let logs = tempfile::tempdir().unwrap();
        let file = |name: &str| std::fs::File::create(logs.path().join(name)).unwrap();
        let dango = support::dango_command()
            .arg("sync")
            .current_dir(project.path())
            // Every page advances the progress lines: they tell when the rows are loaded.
            .env("DANGO_PROGRESS_SECONDS", "0")
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .unwrap();
        let mut sync = Self {
            project,
            dango,
            logs,
            processes: Vec::new(),
        };
        let pids = sync.project.path().join("pids");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !(pids.exists() && sync.output().contains("5000 rows so far")) {
            assert!(
                std::time::Instant::now() < deadline,
                "the source never hung:\n{}",
                sync.output()
            );
            assert!(
                sync.dango.try_wait().unwrap().is_none(),
                "dango ended:\n{}",
                sync.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let pids = std::fs::read_to_string(pids).unwrap();
        for pid in pids.split_whitespace() {
            let pid: i32 = pid.parse().unwrap();
            let name = process_name(pid).unwrap_or_else(|| panic!("process {pid} is not running"));
            sync.processes.push((pid, name));
        }
        assert_eq!(sync.processes.len(), 2, "{pids}");
        sync
    }

    /// Sends `signal` to dango.
    fn signal(&self, signal: libc::c_int) {
        // SAFETY: signals the child we spawned and have not reaped yet.
        unsafe {
            libc::kill(self.dango.id() as i32, signal);
        }
    }

    /// Waits up to `limit` for dango to exit; its status, or a panic with its output.
    fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.dango.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "dango did not exit within {limit:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What dango printed so far, stdout then stderr.
    fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.logs.path().join(name)).unwrap();
        format!("{}{}", read("stdout"), read("stderr"))
    }

    /// The source's processes still running, waiting up to a second for ones being killed.
    fn left_running(&self) -> Vec<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        loop {
            let running: Vec<i32> = self
                .processes
                .iter()
                .filter(|(pid, name)| process_name(*pid).as_ref() == Some(name))
                .map(|(pid, _)| *pid)
                .collect();
            if running.is_empty() || std::time::Instant::now() > deadline {
                return running;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics unless the warehouse holds none of the rows and the history has the sync as
    /// interrupted (by `signal`).
    fn assert_rolled_back_and_recorded(&self, signal: &str) {
        assert!(
            !self
                .project
                .tables("raw_blocked")
                .contains(&"rows".to_string()),
            "the interrupted load is visible"
        );
        let history = self.project.dango(&["history"]);
        history.assert_ok();
        let line = history
            .stdout()
            .lines()
            .find(|l| l.contains("blocked"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no history row: {}", history.stdout()));
        assert!(line.contains("interrupted"), "{line}");
        assert!(
            history
                .stdout()
                .contains(&format!("error: interrupted ({signal}): rolled back")),
            "{}",
            history.stdout()
        );
    }
}

impl Drop for BlockedSync {
    /// Leaves nothing running when a test fails.
    fn drop(&mut self) {
        let _ = self.dango.kill();
        let _ = self.dango.wait();
        for (pid, name) in &self.processes {
            if process_name(*pid).as_ref() == Some(name) {
                // SAFETY: kills a process this test's source started, still running as itself.
                unsafe {
                    libc::kill(*pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// The name (`comm`) of a live process; `None` once it has ended (gone, or a zombie).
fn process_name(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    let state = rest.trim_start().chars().next()?;
    (!matches!(state, 'Z' | 'X')).then(|| name.to_string())
}

#[test]
fn ctrl_c_stops_a_python_source_blocked_in_its_code_and_rolls_back() {
    let mut sync = BlockedSync::start(false);
    sync.signal(libc::SIGINT);
    let status = sync.exit_within(STOP_LIMIT);
    let out = sync.output();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(
        out.contains("interrupted: 1 source(s) rolled back (blocked)"),
        "{out}"
    );
    assert_eq!(sync.left_running(), Vec::<i32>::new(), "{out}");
    assert!(
        sync.project.path().join("stopped_cleanly").exists(),
        "the source was interrupted (its `finally` ran), not killed: {out}"
    );
    sync.assert_rolled_back_and_recorded("Ctrl-C");
}

#[test]
fn sigterm_stops_a_python_source_that_ignores_signals_and_exits_143() {
    let mut sync = BlockedSync::start(true);
    sync.signal(libc::SIGTERM);
    let status = sync.exit_within(STOP_LIMIT);
    let out = sync.output();
    assert_eq!(status.code(), Some(143), "{out}");
    assert!(
        out.contains("terminated (SIGTERM): 1 source(s) rolled back (blocked)"),
        "{out}"
    );
    // SIGINT and SIGTERM ignored: only the SIGKILL to its process group ends the source and
    // its helper.
    assert_eq!(sync.left_running(), Vec::<i32>::new(), "{out}");
    sync.assert_rolled_back_and_recorded("SIGTERM");
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_leaves_no_process() {
    let mut sync = BlockedSync::start(true);
    sync.signal(libc::SIGINT);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sync.output().contains("Ctrl-C again to quit now") {
        assert!(std::time::Instant::now() < deadline, "{}", sync.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    sync.signal(libc::SIGINT);
    // Well before the source, which ignores its interrupt, would be terminated (4 s).
    let status = sync.exit_within(Duration::from_secs(2));
    let out = sync.output();
    assert_eq!(status.code(), Some(130), "{out}");
    assert_eq!(sync.left_running(), Vec::<i32>::new(), "{out}");
}

#[test]
fn a_python_process_that_dies_mid_page_is_told_with_its_status_and_stderr() {
    let source = r#"
import os
import sys

import dlt


@dlt.source
def dying_source():
    @dlt.resource
    def rows():
        # Two pages of about 40 KB: the second's header leaves the process with the first
        # page, its body is still buffered when the process exits without flushing.
        for i in range(2000):
            yield {"id": i, "pad": "x" * 20}
        print("giving up on the upstream", file=sys.stderr, flush=True)
        os._exit(3)

    return rows
"#;
    let block = format!(
        "      source_module: dying\n      source_function: dying_source\n      python: \"{}\"\n",
        reference_python().display()
    );
    let project = python_project("dying", &block, "");
    project.write("custom_sources/dying.py", source);
    let run = project.dango(&["sync"]);
    run.assert_failed();
    let out = run.all();
    assert!(
        out.contains("the Python process exited with status 3"),
        "{out}"
    );
    assert!(out.contains("giving up on the upstream"), "{out}");
    assert!(!out.contains("failed to fill whole buffer"), "{out}");
    assert!(
        !project.warehouse().exists() || !project.tables("raw_dying").contains(&"rows".to_string())
    );
}

/// dlt's incremental options reach a Python source's own `dlt.sources.incremental` untouched:
/// `lag` re-reads the two hours before the saved cursor (an `append` table gets those orders
/// twice, as under dlt, the `merge` one keeps one row each) and the cursor never moves back.
#[test]
fn a_python_sources_incremental_lag_works_as_under_dlt() {
    let api = tutorial_my_api();
    let module = r#"import dlt
from dlt.sources.helpers import requests


@dlt.source
def lagged_source(base_url: str, api_key: str = dlt.secrets.value):
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {api_key}"})

    def pages(since):
        url, params = f"{base_url}/orders", {"updated_after": since}
        while url:
            data = session.get(url, params=params).json()
            yield data["data"]
            url, params = data.get("next_page_url"), {}

    @dlt.resource(write_disposition="append")
    def appended(at=dlt.sources.incremental("updated_at", initial_value="2024-01-01T00:00:00Z", lag=7200)):
        yield from pages(at.last_value)

    @dlt.resource(write_disposition="merge", primary_key="id")
    def merged(at=dlt.sources.incremental("updated_at", initial_value="2024-01-01T00:00:00Z", lag=7200)):
        yield from pages(at.last_value)

    return appended, merged
"#;
    let block = format!(
        "      source_module: \"custom_sources.lagged\"\n      python: \"{}\"\n      function_kwargs:\n        base_url: \"{}/my_api\"\n",
        reference_python().display(),
        api.base_url()
    );
    let secrets = MY_API_SECRET.replace("[sources.my_api]", "[sources.lagged]");
    let project = python_project("lagged", &block, &secrets);
    project.write("custom_sources/lagged.py", module);
    project.dango(&["sync"]).assert_ok();
    api.set_orders(130);
    project.dango(&["sync"]).assert_ok();
    let ids = |table: &str| {
        project.text(&format!(
            "SELECT string_agg(id::varchar, ',' ORDER BY id) FROM raw_lagged.{table}"
        ))
    };
    // Orders are an hour apart, the last of the first sync at 2024-01-07T00:00Z: the second
    // sync starts two hours before it, at order 118.
    let mut twice: Vec<i64> = (1..=130).chain(118..=120).collect();
    twice.sort();
    let expected = |ids: Vec<i64>| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    assert_eq!(ids("appended"), expected(twice));
    assert_eq!(ids("merged"), expected((1..=130).collect()));
    let state = project.dango(&["state", "lagged"]).stdout();
    assert!(
        state.contains("cursor appended.updated_at = 2024-01-07T10:00:00Z"),
        "{state}"
    );
}

/// dlt hints Dango cannot honour are refused naming the resource and the hint, never dropped:
/// a merge key under upsert (which dlt ignores with a log line), a second `hard_delete` column.
#[test]
fn a_dlt_hint_dango_lacks_is_refused_by_name_and_nothing_loads() {
    let cases = [
        (
            r#"write_disposition={"disposition": "merge", "strategy": "upsert"}, primary_key="id", merge_key="v""#,
            "`merge_key` is not used by the `upsert` strategy",
        ),
        (
            r#"write_disposition="merge", primary_key="id", columns={"deleted": {"hard_delete": True}, "v": {"hard_delete": True}}"#,
            "`hard_delete` is set on 2 columns",
        ),
    ];
    for (hints, says) in cases {
        let module = format!(
            "import dlt\n\n\n@dlt.source\ndef hinted_source():\n    @dlt.resource({hints})\n    def customers():\n        yield [{{\"id\": 1, \"v\": 1, \"deleted\": False}}]\n\n    return customers\n"
        );
        let block = format!(
            "      source_module: \"custom_sources.hinted\"\n      python: \"{}\"\n",
            reference_python().display()
        );
        let project = python_project("hinted", &block, "");
        project.write("custom_sources/hinted.py", &module);
        let validate = project.dango(&["validate"]);
        validate.assert_failed();
        assert!(validate.all().contains(says), "{hints}: {}", validate.all());
        assert!(
            validate.all().contains("resource `customers`"),
            "{}",
            validate.all()
        );
        let sync = project.dango(&["sync"]);
        sync.assert_failed();
        assert!(sync.all().contains(says), "{hints}: {}", sync.all());
        assert!(
            !project.warehouse().exists() || project.tables("raw_hinted").is_empty(),
            "nothing loaded"
        );
    }
}
