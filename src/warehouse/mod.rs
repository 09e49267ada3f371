//! The DuckDB warehouse: one writer thread, staging tables filled through Arrow, and the
//! transactional commit that applies them. It knows nothing of HTTP or JSON.

pub mod catalog;
pub mod commit;
pub mod sql;
pub mod staging;
pub mod writer;

pub use commit::{CommitError, CommitPlan, ResourceCommit, StagedTable};
pub use writer::{Warehouse, WarehouseError, WriterState};

/// The staging schema of dataset `dataset`, named as dlt names it.
pub fn staging_schema(dataset: &str) -> String {
    format!("{dataset}_staging")
}
