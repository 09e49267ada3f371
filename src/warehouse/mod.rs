//! The DuckDB warehouse: one writer thread, staging tables filled through Arrow, and the
//! transactional commit that applies them. It knows nothing of HTTP or JSON.

pub mod catalog;
pub mod commit;
pub mod sql;
pub mod staging;
pub mod writer;

pub use commit::{CommitError, CommitPlan, ResourceCommit, StagedTable};
pub use writer::{Warehouse, WarehouseError, WriterState};

/// Opens the DuckDB file at `path` with extension auto-install and auto-load turned off: Dango
/// never reaches out to the network from inside the database.
pub fn connect(path: &std::path::Path) -> duckdb::Result<duckdb::Connection> {
    duckdb::Connection::open_with_flags(path, offline_config()?)
}

/// An in-memory database with the same settings as [`connect`].
pub fn connect_in_memory() -> duckdb::Result<duckdb::Connection> {
    duckdb::Connection::open_in_memory_with_flags(offline_config()?)
}

fn offline_config() -> duckdb::Result<duckdb::Config> {
    duckdb::Config::default().enable_autoload_extension(false)
}

/// The staging schema of dataset `dataset`, named as dlt names it.
pub fn staging_schema(dataset: &str) -> String {
    format!("{dataset}_staging")
}
