//! Running a test against a DuckLake warehouse as well as the DuckDB file: [`both_warehouses!`]
//! makes two tests of one test function, and in the lake one every [`Project`](super::Project)
//! loads into a DuckLake (DuckDB-file catalog, Parquet files in the project) and opens it for the
//! assertions. The DuckDB extensions come from `scripts/duckdb_extensions.sh`, made once next to
//! the build; [`Postgres`] is a real PostgreSQL server for the many-writer tests.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

thread_local! {
    static LAKE: Cell<bool> = const { Cell::new(false) };
}

/// `mod name { duckdb, ducklake }`: test function `name` run once against each warehouse.
#[macro_export]
macro_rules! both_warehouses {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn duckdb() {
                super::$name()
            }
            #[test]
            fn ducklake() {
                $crate::support::lake::with_lake(super::$name)
            }
        }
    )+};
}

/// Runs `test` with every project of this thread loading into a DuckLake.
pub fn with_lake(test: fn()) {
    LAKE.with(|l| l.set(true));
    test();
}

/// Whether this thread's projects load into a DuckLake.
pub fn active() -> bool {
    LAKE.with(Cell::get)
}

/// The `warehouse:` block of a lake project: a DuckDB-file catalog (one process at a time, so
/// the assertions open it between syncs) and Parquet files in the project.
pub const LAKE_BLOCK: &str =
    "warehouse: {type: ducklake, catalog: data/lake.ducklake, data_path: data/lake/}\n";

/// `sources_yml` loading into a lake when this thread's projects do (unchanged if it has a
/// `warehouse:` block already, such as a project's file read back to be edited).
pub fn sources_yml(sources_yml: &str) -> String {
    let has_block = sources_yml.starts_with("warehouse:") || sources_yml.contains("\nwarehouse:");
    match active() && !has_block {
        true => format!("{LAKE_BLOCK}{sources_yml}"),
        false => sources_yml.to_string(),
    }
}

/// The DuckDB extension directory with what a lake needs (`ducklake`, `parquet`, `postgres`,
/// `httpfs`), made on first use.
pub fn extension_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = target_dir().join("duckdb-extensions");
        PathBuf::from(super::run_script(
            "duckdb_extensions.sh",
            &[dir.as_os_str()],
        ))
    })
    .clone()
}

/// The build's target directory (this test binary is `<target>/<profile>/deps/<name>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

/// Opens the warehouse of the project at `root` as `dango` does, for assertions.
pub fn open(root: &Path) -> duckdb::Connection {
    let creds = dango::Credentials::from_parts(Default::default(), root).expect("creds");
    let mut location = dango::warehouse::Location::of_project(root, &creds).expect("warehouse");
    if let dango::warehouse::Location::Lake(lake) = &mut location {
        lake.extension_dir = Some(extension_dir());
    }
    location.open("1GB").expect("open the warehouse")
}

/// A PostgreSQL server of its own, on a free port on 127.0.0.1, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    /// Its port.
    pub port: u16,
}

impl Postgres {
    /// Starts a server (`scripts/postgres.sh`) with database `db` created.
    pub fn start(db: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let cluster = dir.path().join("pg");
        let started = super::run_script("postgres.sh", &["start".as_ref(), cluster.as_os_str()]);
        let port = started.parse().expect("port");
        let pg = Self { dir, port };
        pg.psql("postgres", &format!("CREATE DATABASE {db}"));
        pg
    }

    /// Runs `sql` in database `db` with psql; its output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-At",
                "-d",
                db,
                "-c",
                sql,
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Postgres {
    /// Stops the server at once (as a crash would), for tests of a catalog that goes away.
    pub fn stop(&self) {
        let cluster = self.dir.path().join("pg");
        super::run_script("postgres.sh", &["stop".as_ref(), cluster.as_os_str()]);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let cluster = self.dir.path().join("pg");
        super::run_script("postgres.sh", &["stop".as_ref(), cluster.as_os_str()]);
    }
}
