//! Where the warehouse is, and opening a connection to it: a DuckDB file (one writer process, one
//! disk) or a DuckLake (a SQL catalog in PostgreSQL, SQLite or a DuckDB file, with the tables'
//! data as Parquet files), which many processes on many machines load at once. A lake is attached
//! to an in-memory DuckDB as [`LAKE`] and made the default catalog, so every statement Dango runs
//! reads and writes the same schema and table names in both.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use duckdb::Connection;
use regex::Regex;

use super::sql::{ident, literal};
use super::{WarehouseError, describe};
use crate::redact::Redactor;

/// The name the lake is attached under (`lake.raw_shop.users` from other DuckDB sessions).
pub const LAKE: &str = "lake";

/// The DuckDB version the bundled library is (extensions are built for one version).
pub const DUCKDB_VERSION: &str = "v1.5.5";

/// Where a project's warehouse is.
#[derive(Debug, Clone)]
pub enum Location {
    /// A DuckDB database file.
    File(PathBuf),
    /// A DuckLake.
    Lake(Box<Lake>),
}

/// A DuckLake warehouse, with every `${VAR}` substituted.
#[derive(Debug, Clone)]
pub struct Lake {
    /// The metadata catalog as DuckLake's ATTACH takes it after `ducklake:`:
    /// `postgres:dbname=...`, `mysql:...` or `/abs/lake.ducklake`.
    pub catalog: String,
    /// Where the Parquet files go: a local folder (absolute) or `s3://`, `gs://`, ... URL.
    pub data_path: String,
    /// DuckDB's extension directory, if not its default (`~/.duckdb/extensions`).
    pub extension_dir: Option<PathBuf>,
    /// Object-storage credentials for `data_path` (an `s3://`, `r2://` or `gs://` URL).
    pub storage: Option<ObjectStorage>,
    /// Where DuckDB spills what does not fit its memory budget. The lake's database is in
    /// memory, so DuckDB's default is `.tmp` in whatever directory `dango` runs from.
    pub temp_dir: Option<PathBuf>,
    /// Scrubs the catalog's password and other substituted secrets from messages.
    pub redactor: Redactor,
}

/// The secret DuckDB's `httpfs` extension reads object storage with.
#[derive(Debug, Clone, Default)]
pub struct ObjectStorage {
    /// `s3`, `r2` or `gcs`.
    pub kind: String,
    /// Key id, secret and the optional settings, as `CREATE SECRET` names them.
    pub options: Vec<(String, String)>,
}

/// Which metadata catalog a lake keeps, from the text before the first `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    /// `postgres:` (DuckDB's `postgres` extension).
    Postgres,
    /// `mysql:` (DuckDB's `mysql` extension).
    MySql,
    /// `sqlite:` (refused: one transaction at a time, see `project::warehouse`).
    Sqlite,
    /// A DuckDB file: one process at a time, as the DuckDB warehouse.
    DuckDb,
}

impl Lake {
    /// The kind of metadata catalog.
    pub fn catalog_kind(&self) -> CatalogKind {
        catalog_kind(&self.catalog)
    }

    /// The catalog with its password and known secrets replaced by `***`, for messages.
    pub fn shown_catalog(&self) -> String {
        self.redact(&self.catalog)
    }

    /// `text` without the catalog's password or any substituted secret.
    pub fn redact(&self, text: &str) -> String {
        scrub_passwords(&self.redactor.redact(text))
    }

    /// The extensions the lake needs, in the order they must be loaded (Parquet is an
    /// extension too: the bundled DuckDB is built without it, which spares every build its C++).
    fn extensions(&self) -> Vec<&'static str> {
        let mut needed = vec!["parquet", "ducklake"];
        match self.catalog_kind() {
            CatalogKind::Postgres => needed.push("postgres"),
            CatalogKind::MySql => needed.push("mysql"),
            CatalogKind::Sqlite | CatalogKind::DuckDb => {}
        }
        if self.storage.is_some() || is_remote(&self.data_path) {
            needed.push("httpfs");
        }
        needed
    }

    /// Opens an in-memory DuckDB with the lake attached as [`LAKE`] and used by default.
    fn open(&self, limit: &str, read_only: bool) -> Result<Connection, WarehouseError> {
        let fail = |e: duckdb::Error| WarehouseError::Lake {
            catalog: self.shown_catalog(),
            reason: self.redact(&describe(&e)),
        };
        let conn = super::offline_config(limit)
            .and_then(duckdb::Connection::open_in_memory_with_flags)
            .map_err(fail)?;
        if let Some(dir) = &self.extension_dir {
            let set = format!(
                "SET extension_directory = {}",
                literal(&dir.to_string_lossy())
            );
            conn.execute_batch(&set).map_err(fail)?;
        }
        if let Some(dir) = &self.temp_dir {
            let set = format!("SET temp_directory = {}", literal(&dir.to_string_lossy()));
            conn.execute_batch(&set).map_err(fail)?;
        }
        for extension in self.extensions() {
            self.load_extension(&conn, extension)?;
        }
        if let Some(storage) = &self.storage {
            conn.execute_batch(&storage.create_secret()).map_err(fail)?;
        }
        if is_remote(&self.data_path) {
            // httpfs buffers one multipart-upload part per file being written, sized as the
            // largest file over the most parts (800GB / 10,000: 80 MB), more than Dango's whole
            // memory budget; 5 MB parts (S3's smallest) allow files of 50 GB, a hundred times
            // DuckLake's target file size.
            conn.execute_batch("SET GLOBAL s3_uploader_max_filesize = '50GB'")
                .map_err(fail)?;
        }
        if !read_only {
            // Before the catalog is created: a catalog made with a folder it cannot write
            // would keep that folder as its data path.
            self.check_data_path_writable()?;
        }
        if let Err(e) = attach_retrying(&conn, &self.attach(read_only, false)) {
            match recorded_data_path(&describe(&e)) {
                Some(recorded) => self.move_data_path(&conn, &recorded, read_only)?,
                None => return Err(fail(e)),
            }
        }
        conn.execute_batch(&format!("USE {}", ident(LAKE)))
            .map_err(fail)?;
        Ok(conn)
    }

    /// The ATTACH statement of the lake, taking `data_path` over the catalog's when `moved`.
    fn attach(&self, read_only: bool, moved: bool) -> String {
        format!(
            "ATTACH {} AS {} (DATA_PATH {}{}{})",
            literal(&format!("ducklake:{}", self.catalog)),
            ident(LAKE),
            literal(&self.data_path),
            if read_only { ", READ_ONLY" } else { "" },
            if moved {
                ", OVERRIDE_DATA_PATH true"
            } else {
                ""
            },
        )
    }

    /// Makes a local `data_path` and writes a file into it, so an unwritable folder is told
    /// (by `validate` too) before any catalog records it.
    pub fn check_data_path_writable(&self) -> Result<(), WarehouseError> {
        if is_remote(&self.data_path) {
            return Ok(());
        }
        // A name of this process and call alone: workers that start together on one lake
        // probe the same folder at once, and a shared name lets one remove another's file.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nth = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = Path::new(&self.data_path);
        let probe = dir.join(format!(".dango-write-check-{}-{nth}", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&probe, b""))
            .and_then(|()| std::fs::remove_file(&probe));
        written.map_err(|source| WarehouseError::DataPath {
            path: self.redact(&self.data_path),
            source,
        })
    }

    /// The catalog keeps its data in `recorded`, and `sources.yml` now names another place.
    /// Where `recorded` is a local folder that holds no files (it was never writable, or its
    /// files were moved away), the new place is taken and recorded in the catalog; otherwise
    /// the lake's files are still there, and moving on without them would lose them.
    fn move_data_path(
        &self,
        conn: &Connection,
        recorded: &str,
        read_only: bool,
    ) -> Result<(), WarehouseError> {
        let refuse = || WarehouseError::DataPathMoved {
            recorded: self.redact(recorded),
            configured: self.redact(&self.data_path),
        };
        if is_remote(recorded) || holds_files(Path::new(recorded)) {
            return Err(refuse());
        }
        let fail = |e: duckdb::Error| WarehouseError::Lake {
            catalog: self.shown_catalog(),
            reason: self.redact(&describe(&e)),
        };
        conn.execute_batch(&self.attach(read_only, true))
            .map_err(fail)?;
        if !read_only {
            let metadata = ident(&format!("__ducklake_metadata_{LAKE}"));
            conn.execute(
                &format!(
                    "UPDATE {metadata}.ducklake_metadata SET value = ? WHERE key = 'data_path'"
                ),
                [&self.data_path],
            )
            .map_err(fail)?;
            tracing::warn!(
                from = %self.redact(recorded),
                to = %self.redact(&self.data_path),
                "the lake's data path moved (the old one held no files)"
            );
        }
        Ok(())
    }

    /// Loads `name`, installing it first from DuckDB's repository if it is not installed.
    fn load_extension(&self, conn: &Connection, name: &str) -> Result<(), WarehouseError> {
        let load = format!("LOAD {}", ident(name));
        if conn.execute_batch(&load).is_ok() {
            return Ok(());
        }
        let installed = conn
            .execute_batch(&format!("INSTALL {}", ident(name)))
            .and_then(|()| conn.execute_batch(&load));
        installed.map_err(|e| WarehouseError::Extension {
            name: name.to_string(),
            // DuckDB's first line says what failed; the rest is a link to its troubleshooting.
            reason: self.redact(describe(&e).lines().next().unwrap_or_default()),
            dir: self
                .extension_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("~/.duckdb/extensions")),
        })
    }
}

/// The data path a lake's catalog records, from DuckLake's refusal of another `DATA_PATH`.
fn recorded_data_path(reason: &str) -> Option<String> {
    static RECORDED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"does not match existing data path in the catalog "([^"]*)""#)
            .expect("valid regex")
    });
    RECORDED.captures(reason).map(|c| c[1].to_string())
}

/// Whether a folder holds any file, at any depth (a folder that does not exist holds none).
fn holds_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| match entry.file_type() {
        Ok(t) if t.is_dir() => holds_files(&entry.path()),
        _ => true,
    })
}

/// Runs `attach`, trying again while another process is creating the same new catalog: workers
/// started together on an empty PostgreSQL database all try to create DuckLake's tables, and all
/// but one fail on PostgreSQL's unique catalog names. Once the first has made them, attaching
/// just reads them.
fn attach_retrying(conn: &Connection, attach: &str) -> duckdb::Result<()> {
    let mut wait = std::time::Duration::from_millis(100);
    for _ in 0..6 {
        match conn.execute_batch(attach) {
            Err(e) if describe(&e).contains("Failed to initialize DuckLake") => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            other => return other,
        }
    }
    conn.execute_batch(attach)
}

impl ObjectStorage {
    /// `CREATE SECRET` for this storage, scoped to this connection's session.
    fn create_secret(&self) -> String {
        let mut options = vec![format!("TYPE {}", self.kind)];
        options.extend(
            self.options
                .iter()
                .map(|(k, v)| format!("{k} {}", literal(v))),
        );
        format!(
            "CREATE OR REPLACE SECRET dango_lake_storage ({})",
            options.join(", ")
        )
    }
}

/// The file name (without `.duckdb_extension`) DuckDB loads extension `name` from: the catalog
/// extensions keep their old names.
pub fn extension_file(name: &str) -> &str {
    match name {
        "postgres" => "postgres_scanner",
        "sqlite" => "sqlite_scanner",
        "mysql" => "mysql_scanner",
        other => other,
    }
}

/// Which catalog `catalog` names.
pub fn catalog_kind(catalog: &str) -> CatalogKind {
    match catalog.split_once(':').map(|(k, _)| k) {
        Some("postgres") => CatalogKind::Postgres,
        Some("mysql") => CatalogKind::MySql,
        Some("sqlite") => CatalogKind::Sqlite,
        _ => CatalogKind::DuckDb,
    }
}

/// Whether `path` is an object-storage URL rather than a local folder.
pub fn is_remote(path: &str) -> bool {
    path.contains("://")
}

/// `text` with the password of any connection string in it replaced by `***`: libpq's and
/// MySQL's `password=...` and a URL's `user:password@`. Every DuckDB error passes through it
/// ([`describe`]), so a catalog's password cannot reach a message whatever path raised it.
pub fn scrub_passwords(text: &str) -> String {
    static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(password\s*=\s*)('[^']*'|[^\s'\x22]+)").expect("valid regex")
    });
    static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@").expect("valid regex")
    });
    let text = PASSWORD.replace_all(text, "${1}***");
    USERINFO.replace_all(&text, "${1}***@").into_owned()
}

impl Location {
    /// The file beside a DuckDB warehouse where history rows wait that the warehouse could
    /// not take (a full disk); `None` for a lake, whose catalog is elsewhere.
    pub fn pending_history(&self) -> Option<PathBuf> {
        match self {
            Self::File(path) => {
                let name = path.file_name()?.to_string_lossy();
                Some(path.with_file_name(format!("{name}.history-pending.jsonl")))
            }
            Self::Lake(_) => None,
        }
    }

    /// `text` without the warehouse's secrets (a lake catalog's password, bucket keys), for
    /// every message about this warehouse.
    pub fn redact(&self, text: &str) -> String {
        match self {
            Self::Lake(lake) => lake.redact(text),
            Self::File(_) => scrub_passwords(text),
        }
    }

    /// Whether this is a lake.
    pub fn is_lake(&self) -> bool {
        matches!(self, Self::Lake(_))
    }

    /// The file whose advisory lock allows one sync at a time: the DuckDB warehouse, or a lake's
    /// DuckDB-file catalog (DuckDB lets one process at a time open it). Other lakes take many
    /// writers at once, so none.
    pub fn sync_lock_file(&self) -> Option<PathBuf> {
        match self {
            Self::File(path) => Some(path.clone()),
            Self::Lake(lake) if lake.catalog_kind() == CatalogKind::DuckDb => {
                Some(PathBuf::from(&lake.catalog))
            }
            Self::Lake(_) => None,
        }
    }

    /// Opens the warehouse for writing, creating it if needed, with DuckDB's memory limit.
    pub fn open(&self, limit: &str) -> Result<Connection, WarehouseError> {
        match self {
            Self::File(path) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                super::connect_with_limit(path, limit).map_err(|e| WarehouseError::Open {
                    path: path.clone(),
                    reason: describe(&e),
                })
            }
            Self::Lake(lake) => lake.open(limit, false),
        }
    }

    /// Opens the warehouse read-only, for the commands that only look. `Ok(None)` if nothing
    /// was ever synced into it (a file or a lake catalog that does not exist yet).
    pub fn open_read_only(&self) -> Result<Option<Connection>, WarehouseError> {
        match self {
            Self::File(path) => super::connect_read_only(path),
            Self::Lake(lake) => {
                if lake.catalog_kind() == CatalogKind::DuckDb && !Path::new(&lake.catalog).exists()
                {
                    return Ok(None);
                }
                match lake.open(super::DEFAULT_MEMORY_LIMIT, true) {
                    // A catalog database no sync has written to yet (read-only cannot create it).
                    Err(WarehouseError::Lake { reason, .. })
                        if reason.contains("creating a new DuckLake is explicitly disabled") =>
                    {
                        Ok(None)
                    }
                    other => other.map(Some),
                }
            }
        }
    }
}

impl fmt::Display for Location {
    /// The file, or the lake's catalog (password hidden) and data path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Lake(lake) => write!(
                f,
                "the DuckLake {} (data in {})",
                lake.shown_catalog(),
                lake.redact(&lake.data_path)
            ),
        }
    }
}

/// A second connection to `conn`'s database, reading and writing the same catalog (a lake's
/// connections must each be told to use it).
pub fn sibling(conn: &Connection) -> duckdb::Result<Connection> {
    let catalog: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    let other = conn.try_clone()?;
    other.execute_batch(&format!("USE {}", ident(&catalog)))?;
    Ok(other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lake(catalog: &str) -> Lake {
        Lake {
            catalog: catalog.into(),
            data_path: "/tmp/lake/".into(),
            extension_dir: None,
            storage: None,
            temp_dir: None,
            redactor: Redactor::default(),
        }
    }

    #[test]
    fn passwords_never_show() {
        let l = lake("postgres:dbname=lake host=db password=hunter22 user=dango");
        assert_eq!(
            l.shown_catalog(),
            "postgres:dbname=lake host=db password=*** user=dango"
        );
        let quoted = lake("postgres:dbname=lake password='a b c' host=db");
        assert_eq!(
            quoted.shown_catalog(),
            "postgres:dbname=lake password=*** host=db"
        );
        let secret = lake("mysql:host=db user=u passwd=s3cr3t-value");
        secret.redactor.add("s3cr3t-value");
        assert_eq!(secret.shown_catalog(), "mysql:host=db user=u passwd=***");
    }

    #[test]
    fn catalogs_are_told_apart() {
        assert_eq!(catalog_kind("postgres:dbname=x"), CatalogKind::Postgres);
        assert_eq!(catalog_kind("sqlite:/d/lake.sqlite"), CatalogKind::Sqlite);
        assert_eq!(catalog_kind("/d/lake.ducklake"), CatalogKind::DuckDb);
        assert_eq!(
            lake("postgres:x").extensions(),
            ["parquet", "ducklake", "postgres"]
        );
        let mut remote = lake("/d/l.ducklake");
        remote.data_path = "s3://bucket/raw/".into();
        assert_eq!(remote.extensions(), ["parquet", "ducklake", "httpfs"]);
        assert!(
            Location::Lake(Box::new(lake("postgres:x")))
                .sync_lock_file()
                .is_none()
        );
    }

    #[test]
    fn secrets_are_quoted_into_create_secret() {
        let s = ObjectStorage {
            kind: "s3".into(),
            options: vec![
                ("KEY_ID".into(), "AKIA".into()),
                ("SECRET".into(), "it's".into()),
            ],
        };
        assert_eq!(
            s.create_secret(),
            "CREATE OR REPLACE SECRET dango_lake_storage (TYPE s3, KEY_ID 'AKIA', SECRET 'it''s')"
        );
    }
}
