//! Running sources built in Rust (see [`crate::source::custom`]) into a project's warehouse:
//! what `dango sync` does with the sources of `sources.yml`, with the same engine, commit and
//! table layout.

use std::path::{Path, PathBuf};

use crate::engine::{SourceReport, SyncError, SyncOptions, sync};
use crate::project::ProjectLayout;
use crate::source::Source;
use crate::warehouse::{Location, Warehouse, WarehouseError};

/// Loads sources into one warehouse.
#[derive(Debug, Clone)]
pub struct Pipeline {
    warehouse: Location,
    options: SyncOptions,
}

/// Why a pipeline run loaded nothing.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The warehouse could not be opened.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// The source failed; its tables and state are as they were.
    #[error("source `{source_name}`: {error}")]
    Sync {
        /// The source.
        source_name: String,
        /// What went wrong (boxed: a resource's error is large, and this is the rare path).
        error: Box<SyncError>,
    },
}

impl Pipeline {
    /// A pipeline loading into the warehouse of the project at `project_dir`
    /// (`data/warehouse.duckdb`).
    pub fn new(project_dir: impl AsRef<Path>) -> Self {
        let layout = ProjectLayout::new(project_dir.as_ref());
        Self {
            warehouse: Location::File(layout.warehouse_file()),
            options: SyncOptions::default(),
        }
    }

    /// Loads into the DuckDB file at `path` instead.
    pub fn warehouse(mut self, path: impl Into<PathBuf>) -> Self {
        self.warehouse = Location::File(path.into());
        self
    }

    /// Loads into `location` instead (a DuckLake, say).
    pub fn location(mut self, location: Location) -> Self {
        self.warehouse = location;
        self
    }

    /// Runs with `options` (parallelism, full refresh, empty-replace protection, Ctrl-C).
    pub fn options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    /// Loads `source` in one transaction: its rows, its resources' state and its `_dlt_loads`
    /// row land together, or nothing does.
    pub async fn run(&self, source: Source) -> Result<SourceReport, PipelineError> {
        let mut reports = self.run_all(vec![source]).await?;
        let report = reports.remove(0);
        match report.error {
            Some(error) => Err(PipelineError::Sync {
                source_name: report.name,
                error: Box::new(error),
            }),
            None => Ok(report),
        }
    }

    /// Loads `sources` at once (each in its own transaction); a report per source, in order.
    pub async fn run_all(&self, sources: Vec<Source>) -> Result<Vec<SourceReport>, WarehouseError> {
        let location = self.warehouse.clone();
        let warehouse = tokio::task::spawn_blocking(move || Warehouse::open(&location))
            .await
            .map_err(|_| WarehouseError::WriterGone)??;
        Ok(sync(&warehouse, sources, &self.options).await)
    }
}
