//! The load API: [`Warehouse::begin`] opens one source's load (a transaction of its own),
//! [`LoadWriter`]s append to it from any task, and [`OpenLoad::commit`] applies the write
//! dispositions and commits. An `OpenLoad` dropped without a commit is rolled back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use super::catalog::{SchemaColumns, schema_columns};
use super::commit::{CommitError, CommitPlan};
use super::writer::{LoadSlot, Pending, Warehouse, WarehouseError};
use crate::hints::CursorState;

/// How a load starts.
#[derive(Debug, Clone, Default)]
pub struct BeginOptions {
    /// Drop the dataset's tables and cursors first (inside the load, so a failure restores
    /// them).
    pub full_refresh: bool,
    /// Root tables of `replace` resources, emptied (with their child tables) inside the load.
    pub replace: Vec<String>,
}

/// Why rows could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// DuckDB refused the rows.
    #[error("loading rows into the warehouse failed: {}", super::describe(.0))]
    Db(duckdb::Error),
    /// DuckDB's memory budget is too small even to append rows.
    #[error(
        "loading rows ran out of DuckDB's memory budget ({}); set DANGO_MEMORY_LIMIT higher \
         than the default {default} (for example 1GB) and sync again",
        super::describe(.0),
        default = super::DEFAULT_MEMORY_LIMIT
    )]
    OutOfMemory(duckdb::Error),
    /// The writer could not run the append.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

impl From<duckdb::Error> for AppendError {
    fn from(e: duckdb::Error) -> Self {
        match super::out_of_memory(&e) {
            true => Self::OutOfMemory(e),
            false => Self::Db(e),
        }
    }
}

/// An append queued on the writer: its time on the writer once done.
pub type Appending = Pending<Result<Duration, AppendError>>;

/// One source's load in progress. Commit it, or drop it to roll it back.
pub struct OpenLoad {
    writer: LoadWriter,
    before: SchemaColumns,
    cursors: HashMap<String, CursorState>,
    open: bool,
}

/// Appends rows to an open load; cheap to clone, so each resource's task has its own.
#[derive(Clone)]
pub struct LoadWriter {
    warehouse: Warehouse,
    id: LoadSlot,
    dataset: String,
}

impl Warehouse {
    /// Opens a load of `dataset`: a transaction in which its rows are appended, invisible to
    /// anyone until [`OpenLoad::commit`].
    pub async fn begin(
        &self,
        dataset: &str,
        options: BeginOptions,
    ) -> Result<OpenLoad, BeginError> {
        let ds = dataset.to_string();
        let (id, before, cursors) = self
            .run(move |w| {
                let id = w.begin(&ds, options.full_refresh).map_err(BeginError::Db)?;
                let started = w.load(id).map_err(BeginError::from).and_then(|load| {
                    for root in &options.replace {
                        load.replace(root).map_err(BeginError::Db)?;
                    }
                    // Read inside the load: after a full refresh there are no tables and no
                    // cursors.
                    let before = load.before().clone();
                    let cursors = super::cursors::load(load.conn(), &ds).map_err(BeginError::Db)?;
                    Ok((before, cursors))
                });
                match started {
                    Ok((before, cursors)) => Ok((id, before, cursors)),
                    Err(e) => {
                        w.roll_back(id);
                        Err(e)
                    }
                }
            })
            .await??;
        Ok(OpenLoad {
            writer: LoadWriter {
                warehouse: self.clone(),
                id,
                dataset: dataset.to_string(),
            },
            before,
            cursors,
            open: true,
        })
    }
}

/// Why a load could not begin.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// DuckDB refused to start it.
    #[error("starting the load in the warehouse failed: {}", super::describe(.0))]
    Db(duckdb::Error),
    /// The writer is gone.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

impl OpenLoad {
    /// The dataset's tables as they were when the load began.
    pub fn before(&self) -> &SchemaColumns {
        &self.before
    }

    /// The state each resource committed last, by resource name.
    pub fn cursors(&self) -> &HashMap<String, CursorState> {
        &self.cursors
    }

    /// A handle that appends to this load.
    pub fn writer(&self) -> LoadWriter {
        self.writer.clone()
    }

    /// Applies `plan` and commits: the rows, the cursors and the `_dlt_loads` row become
    /// visible together. On an error nothing does.
    pub async fn commit(mut self, plan: CommitPlan) -> Result<(), CommitError> {
        self.open = false;
        let id = self.writer.id;
        self.writer
            .warehouse
            .run(move |w| w.commit(id, &plan))
            .await?
    }

    /// Rolls the load back: the warehouse is as it was.
    pub async fn roll_back(mut self) {
        self.open = false;
        let id = self.writer.id;
        let _ = self.writer.warehouse.run(move |w| w.roll_back(id)).await;
    }
}

impl Drop for OpenLoad {
    /// A load dropped without a commit is rolled back. The rollback is queued, not awaited:
    /// if the queue is full, the writer rolls the load back when it shuts down.
    fn drop(&mut self) {
        if self.open {
            let id = self.writer.id;
            self.writer.warehouse.try_submit(move |w| w.roll_back(id));
        }
    }
}

impl LoadWriter {
    /// The dataset's tables and columns as they are inside the load now.
    pub async fn columns(&self) -> Result<SchemaColumns, AppendError> {
        let (id, ds) = (self.id, self.dataset.clone());
        self.warehouse
            .run(move |w| Ok(schema_columns(w.load(id)?.conn(), &ds)?))
            .await?
    }

    /// Queues `batch` for table `table` (created or widened as needed) and returns at once;
    /// the rows may be held back until more arrive (see [`LoadWriter::flush`]).
    pub async fn append(
        &self,
        table: String,
        batch: RecordBatch,
    ) -> Result<Appending, AppendError> {
        self.on_load(move |load| load.append(&table, batch)).await
    }

    /// Queues the appending of every row held back.
    pub async fn flush(&self) -> Result<Appending, AppendError> {
        self.on_load(|load| load.flush()).await
    }

    async fn on_load(
        &self,
        work: impl FnOnce(&mut super::Load) -> duckdb::Result<()> + Send + 'static,
    ) -> Result<Appending, AppendError> {
        let id = self.id;
        Ok(self
            .warehouse
            .submit(move |w| {
                let started = Instant::now();
                let load = w.load(id)?;
                work(load)?;
                Ok(started.elapsed())
            })
            .await?)
    }
}
