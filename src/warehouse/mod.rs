//! The DuckDB warehouse: one writer thread, per-source load transactions filled through Arrow,
//! and the commit that applies their write dispositions. It knows nothing of HTTP or JSON.

pub(crate) mod catalog;
pub(crate) mod checkpoints;
pub(crate) mod chunks;
pub(crate) mod commit;
pub(crate) mod cursors;
pub(crate) mod dlt_state;
pub(crate) mod history;
pub(crate) mod load;
pub(crate) mod location;
pub(crate) mod lock;
mod merge;
mod open_load;
pub(crate) mod space;
pub(crate) mod sql;
pub(crate) mod status;
pub(crate) mod writer;

pub(crate) use chunks::{Checkpointed, ChunkOptions};
pub use commit::{CommitError, Committed, Deleted};
pub(crate) use commit::{LoadedTable, ResourceCommit};
pub(crate) use load::Load;
pub use location::{CatalogKind, Lake, Location, ObjectStorage};
pub use open_load::{AppendError, BeginError};
pub(crate) use open_load::{Appending, BeginOptions, LoadWriter};
pub use writer::WarehouseError;
pub(crate) use writer::{Warehouse, describe};

use std::sync::LazyLock;

use regex::Regex;

/// Opens the DuckDB file at `path` with extension auto-install and auto-load turned off: Dango
/// never reaches out to the network from inside the database.
pub(crate) fn connect(path: &std::path::Path) -> duckdb::Result<duckdb::Connection> {
    connect_with_limit(path, DEFAULT_MEMORY_LIMIT)
}

/// [`connect`] with DuckDB's memory limit set to `limit` (a DuckDB size such as `512MB`).
pub(crate) fn connect_with_limit(
    path: &std::path::Path,
    limit: &str,
) -> duckdb::Result<duckdb::Connection> {
    duckdb::Connection::open_with_flags(path, offline_config(limit)?)
}

/// Opens the warehouse at `path` read-only, for the commands that only look (`state`, `query`,
/// `history`). `Ok(None)` if it does not exist yet: nothing was synced.
pub(crate) fn connect_read_only(
    path: &std::path::Path,
) -> Result<Option<duckdb::Connection>, WarehouseError> {
    if !path.exists() {
        return Ok(None);
    }
    let config = offline_config(DEFAULT_MEMORY_LIMIT)
        .and_then(|c| c.access_mode(duckdb::AccessMode::ReadOnly));
    config
        .and_then(|c| duckdb::Connection::open_with_flags(path, c))
        .map(Some)
        .map_err(|e| WarehouseError::Open {
            path: path.to_path_buf(),
            reason: describe(&e),
        })
}

/// An in-memory database with the same settings as [`connect`].
#[cfg(test)]
pub(crate) fn connect_in_memory() -> duckdb::Result<duckdb::Connection> {
    duckdb::Connection::open_in_memory_with_flags(offline_config(DEFAULT_MEMORY_LIMIT)?)
}

/// DuckDB's memory budget unless `DANGO_MEMORY_LIMIT` says otherwise (any DuckDB size, such as
/// `1GB`). DuckDB's own default is 80% of RAM, and it would keep a load's rows and the commit's
/// joins in memory in proportion to the data; with a budget it writes or spills them to disk and
/// memory stays flat.
pub(crate) const DEFAULT_MEMORY_LIMIT: &str = "64MB";

/// The memory limit to give DuckDB: `DANGO_MEMORY_LIMIT` if set and a size, else the default.
pub(crate) fn memory_limit() -> Result<String, WarehouseError> {
    static SIZE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$").expect("valid regex")
    });
    match std::env::var("DANGO_MEMORY_LIMIT") {
        Err(_) => Ok(DEFAULT_MEMORY_LIMIT.to_string()),
        Ok(v) if SIZE.is_match(v.trim()) => Ok(v.trim().to_string()),
        Ok(v) => Err(WarehouseError::MemoryLimit(v)),
    }
}

/// [`DEFAULT_MEMORY_LIMIT`] in bytes when it is in force (`DANGO_MEMORY_LIMIT` unset): a
/// budget Dango may raise for what a load needs, where one the user chose is kept.
pub(crate) fn default_memory_budget() -> Option<u64> {
    std::env::var_os("DANGO_MEMORY_LIMIT")
        .is_none()
        .then_some(DEFAULT_MEMORY_BYTES)
}

/// [`DEFAULT_MEMORY_LIMIT`] in bytes.
const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;

/// Whether DuckDB failed for lack of memory within its budget.
pub(crate) fn out_of_memory(e: &duckdb::Error) -> bool {
    let text = e.to_string();
    [
        "Out of Memory",
        "could not allocate",
        "failed to allocate",
        "failed to pin",
    ]
    .iter()
    .any(|m| text.contains(m))
}

pub(crate) fn offline_config(limit: &str) -> duckdb::Result<duckdb::Config> {
    duckdb::Config::default()
        .enable_autoload_extension(false)?
        .max_memory(limit)
}
