//! Test helpers: a temporary Dango project, the real `dango` binary, and DuckDB queries on the
//! warehouse it writes. The mock API is `dango::mock_api`, a real HTTP server, started by
//! [`mock_api`].

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use duckdb::Connection;

pub mod api;
#[macro_use]
pub mod lake;
pub mod layout;
pub mod pages;
pub mod schema;

#[allow(unused_imports)]
pub use api::{MockApi, MockAuth, TUTORIAL_TOKEN, mock_api, tutorial_my_api};

/// A project directory that disappears with the test.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project whose `.dango/sources.yml` is `sources_yml`.
    pub fn new(sources_yml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".dango")).expect("mkdir");
        let text = lake::sources_yml(sources_yml);
        std::fs::write(dir.path().join(".dango/sources.yml"), text).expect("write");
        Self { dir }
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` inside the project.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let text = match relative == ".dango/sources.yml" {
            true => lake::sources_yml(text),
            false => text.to_string(),
        };
        std::fs::write(path, text).expect("write");
    }

    /// Runs `dango ARGS` in the project directory.
    pub fn dango(&self, args: &[&str]) -> Run {
        run_dango(self.path(), args)
    }

    /// Runs `dango` here with `args` and these environment variables set.
    pub fn dango_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run_dango_env(self.path(), args, env)
    }

    /// Starts `dango ARGS` here in the background, its output discarded (for a test that kills
    /// it or waits on its lock).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_with(args, Stdio::null)
    }

    /// Starts `dango ARGS` here in the background with its output captured, to read from the
    /// child or collect with [`Run::of`].
    pub fn spawn_captured(&self, args: &[&str]) -> Child {
        self.spawn_with(args, Stdio::piped)
    }

    fn spawn_with(&self, args: &[&str], output: fn() -> Stdio) -> Child {
        dango_command()
            .args(args)
            .current_dir(self.path())
            .env_remove("DANGO_LOG")
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("start dango")
    }

    /// The warehouse file (in a lake test, the lake's catalog file).
    pub fn warehouse(&self) -> PathBuf {
        match lake::active() {
            true => self.path().join("data/lake.ducklake"),
            false => self.path().join("data/warehouse.duckdb"),
        }
    }

    /// Opens the warehouse (the DuckDB file, or the lake) for assertions.
    pub fn db(&self) -> Connection {
        match lake::active() {
            true => lake::open(self.path()),
            false => dango::warehouse::Location::File(self.warehouse())
                .open("1GB")
                .expect("open warehouse"),
        }
    }

    /// A single integer from `sql`.
    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A single string from `sql`.
    pub fn text(&self, sql: &str) -> String {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `column → data_type` of a table, in column order.
    pub fn columns(&self, schema: &str, table: &str) -> Vec<(String, String)> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_catalog = current_database() AND table_schema = ? \
                 AND table_name = ? ORDER BY ordinal_position",
            )
            .expect("prepare");
        stmt.query_map([schema, table], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Every table of `schema` with its columns and rows, to compare after a sync that fails:
    /// empty if the warehouse does not exist yet (so taking it creates nothing).
    pub fn dataset(&self, schema: &str) -> Dataset {
        let mut tables = BTreeMap::new();
        if self.warehouse().exists() {
            for table in self.tables(schema) {
                let rows = self.text(&format!(
                    "SELECT coalesce(string_agg(t::VARCHAR, chr(10) ORDER BY t::VARCHAR), '') \
                     FROM \"{schema}\".\"{table}\" AS t"
                ));
                let columns = self.columns(schema, &table);
                tables.insert(table, (columns, rows));
            }
        }
        Dataset {
            schema: schema.to_string(),
            tables,
        }
    }

    /// Panics unless the dataset holds exactly what it held when `before` was taken: a sync that
    /// fails rolls back every table, column, row, cursor and load record of its source.
    pub fn assert_as_before(&self, before: &Dataset) {
        let now = self.dataset(&before.schema);
        assert!(
            now == *before,
            "a failed sync changed `{}`:\nbefore: {before:#?}\nnow: {now:#?}",
            before.schema
        );
    }

    /// Tables of `schema`, sorted.
    pub fn tables(&self, schema: &str) -> Vec<String> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_catalog = current_database() AND table_schema = ? ORDER BY 1",
            )
            .expect("prepare");
        stmt.query_map([schema], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }
}

/// A dataset's tables, each with its columns (name, type) and its rows as text, sorted: what
/// [`Project::assert_as_before`] compares.
#[derive(Debug, PartialEq)]
pub struct Dataset {
    schema: String,
    tables: BTreeMap<String, (Vec<(String, String)>, String)>,
}

/// The outcome of one `dango` run.
pub struct Run {
    pub output: Output,
}

impl Run {
    /// The outcome of a `dango` started with [`Project::spawn_captured`], once it exits.
    pub fn of(child: Child) -> Self {
        Self {
            output: child.wait_with_output().expect("dango ran"),
        }
    }
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Everything printed, for messages and assertions.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
    /// Panics with the output unless the run succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "dango failed:\n{}", self.all());
        self
    }
    /// Panics if any of `secrets` shows anywhere in what the run printed.
    pub fn assert_hides(&self, secrets: &[&str]) -> &Self {
        let all = self.all();
        for secret in secrets {
            assert!(!all.contains(secret), "`{secret}` shown:\n{all}");
        }
        self
    }
    /// Panics with the output unless the run failed.
    pub fn assert_failed(&self) -> &Self {
        assert!(!self.ok(), "dango should have failed:\n{}", self.all());
        self
    }
}

/// Runs the real `dango` binary in `dir`.
pub fn run_dango(dir: &Path, args: &[&str]) -> Run {
    run_dango_env(dir, args, &[])
}

/// The `dango` binary as a command, with what a lake test needs in its environment.
pub fn dango_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dango"));
    if lake::active() {
        command.env("DANGO_EXTENSION_DIR", lake::extension_dir());
    }
    command
}

/// Runs `dango` in `dir` with `args` and these environment variables set.
pub fn run_dango_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = dango_command()
        .args(args)
        .current_dir(dir)
        .env_remove("DANGO_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("run dango");
    // A config Dango loaded must pass the schema editors check it with.
    if output.status.success() && matches!(args.first(), Some(&"sync" | &"validate")) {
        schema::assert_project_file_valid(dir);
    }
    Run { output }
}

/// A one-source `sources.yml` for `base_url` with the given resources block (indented YAML list).
pub fn rest_source(name: &str, base_url: &str, extra: &str, resources: &str) -> String {
    format!(
        "version: \"1.0\"\nsources:\n  - name: {name}\n    type: rest_api\n    rest_api:\n      base_url: \"{base_url}\"\n      retry: {{backoff_seconds: 0.01, max_backoff_seconds: 0.05}}\n{extra}      resources:\n{resources}"
    )
}

/// A `shop` source whose `orders` are loaded incrementally by `updatedAt` with `append` (so any
/// duplicate would show), `limit` per page, starting at `initial_value`.
pub fn incremental_orders(base_url: &str, limit: usize, initial_value: &str) -> Project {
    let resources = format!(
        r#"        - name: orders
          endpoint: /orders
          write_disposition: append
          params:
            updated_after: "{{incremental.start_value}}"
          pagination: {{type: offset, limit: {limit}, total_path: total}}
          incremental:
            cursor_path: updatedAt
            initial_value: "{initial_value}"
"#
    );
    Project::new(&rest_source("shop", base_url, "", &resources))
}

/// The Python of the project's own virtual environment holding the pinned reference dlt,
/// made on first use by `scripts/dlt_venv.sh` next to the build (so it is reused across runs).
pub fn reference_python() -> PathBuf {
    let dir = lake::target_dir().join("dlt-venv");
    PathBuf::from(run_script("dlt_venv.sh", &[dir.as_os_str()]))
}

/// Runs `tests/it/support/<script>` (a reference run of dlt) with the reference Python and `args`,
/// dlt's telemetry off; its standard output. Panics with its error output if it fails.
pub fn run_reference<I, A>(script: &str, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/support")
        .join(script);
    let out = Command::new(reference_python())
        .arg(&path)
        .args(args)
        .env("RUNTIME__DLTHUB_TELEMETRY", "false")
        .output()
        .expect("the reference Python runs");
    assert!(
        out.status.success(),
        "dlt ({script}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `scripts/<name>` with `args` and returns what it printed, trimmed; panics with its
/// error output if it fails.
pub fn run_script(name: &str, args: &[&std::ffi::OsStr]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
