//! The load API: [`Warehouse::begin`] opens one source's load (a transaction of its own),
//! [`LoadWriter`]s append to it from any task, and [`OpenLoad::commit`] applies the write
//! dispositions and commits. An `OpenLoad` dropped without a commit is rolled back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use super::catalog::{SchemaColumns, schema_columns};
use super::checkpoints::Checkpoint;
use super::chunks::{Checkpointed, ChunkOptions};
use super::commit::{CommitError, Committed, ResourceCommit};
use super::writer::{LoadSlot, Pending, Warehouse, WarehouseError};
use crate::hints::{CursorState, LoadId, TableHints};
use crate::source::CheckpointInterval;

/// How a load starts.
#[derive(Debug, Clone, Default)]
pub struct BeginOptions {
    /// Drop the dataset's tables, cursors and checkpoints first (inside the load, so a failure
    /// restores them).
    pub full_refresh: bool,
    /// How the load is checkpointed.
    pub chunks: ChunkOptions,
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
    /// A checkpoint could not be committed.
    #[error("committing a checkpoint failed: {0}")]
    Checkpoint(#[source] Box<CommitError>),
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
    checkpoints: HashMap<String, Checkpoint>,
    load_id: LoadId,
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
        let (id, (before, cursors, checkpoints, load_id)) = self
            .run(move |w| {
                let id = w
                    .begin(&ds, options.full_refresh, options.chunks)
                    .map_err(BeginError::Db)?;
                let started = w.load(id).map_err(BeginError::from).and_then(|load| {
                    // Read inside the load: after a full refresh there are no tables, cursors
                    // or checkpoints.
                    let cursors = super::cursors::load(load.conn(), &ds).map_err(BeginError::Db)?;
                    let checkpoints = match load.chunks.enabled() {
                        true => load.chunks.prior().clone(),
                        false => HashMap::new(),
                    };
                    let first = load.chunks.load_id().clone();
                    Ok((load.before().clone(), cursors, checkpoints, first))
                });
                match started {
                    Ok(started) => Ok((id, started)),
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
            checkpoints,
            load_id,
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

    /// The checkpoints an interrupted sync of the dataset left, by resource (none when this
    /// load does not checkpoint: it then leaves them as they are).
    pub fn checkpoints(&self) -> &HashMap<String, Checkpoint> {
        &self.checkpoints
    }

    /// The id of the load's first chunk, which rows are built with (the writer stamps a later
    /// chunk's id on the rows it appends after a checkpoint).
    pub fn load_id(&self) -> &LoadId {
        &self.load_id
    }

    /// A handle that appends to this load.
    pub fn writer(&self) -> LoadWriter {
        self.writer.clone()
    }

    /// Applies the finished resources' work and commits: the rows, the cursors and the
    /// `_dlt_loads` row become visible together. On an error nothing of the last chunk does.
    /// Says what it committed: the last chunk's load id, the records deleted by absence.
    pub async fn commit(mut self) -> Result<Committed, CommitError> {
        self.open = false;
        let id = self.writer.id;
        self.writer.warehouse.run(move |w| w.commit(id)).await?
    }

    /// Rolls the load back to its last checkpoint (to where it began, without one), and says
    /// what the checkpoints before it committed.
    pub async fn roll_back(mut self) -> Checkpointed {
        self.open = false;
        let id = self.writer.id;
        let checkpointed = self.writer.checkpointed().await;
        let _ = self.writer.warehouse.run(move |w| w.roll_back(id)).await;
        checkpointed
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

    /// Queues the appending of every row held back.
    pub async fn flush(&self) -> Result<Appending, AppendError> {
        self.on_load(|load| load.flush()).await
    }

    /// Resource `name` starts loading into `hints`' table: a `replace` table is emptied now
    /// (not when the load began, so a checkpoint before never shows it empty). It is
    /// checkpointed every `every` records; `None`: it cannot resume, and no checkpoint is
    /// taken while it runs.
    pub async fn start(
        &self,
        name: String,
        hints: TableHints,
        every: Option<CheckpointInterval>,
    ) -> Result<(), AppendError> {
        let job = self
            .on_load(move |load| {
                if hints.write_disposition == crate::hints::WriteDisposition::Replace {
                    load.replace(&hints.table_name)?;
                }
                load.chunks.start(&name, &hints, every);
                Ok(())
            })
            .await?;
        job.result().await??;
        Ok(())
    }

    /// Queues one page of resource `name`: its batches (`staged`: to staging tables, see
    /// [`super::Load::stage`]), then where the resource continues after it. Appended as one
    /// job, so a checkpoint falls between pages, never inside one; the checkpoint, when one is
    /// due, is committed right after.
    pub async fn append_page(
        &self,
        name: String,
        (batches, staged): (Vec<(String, RecordBatch)>, bool),
        records: usize,
        (position, settled): (Option<serde_json::Value>, bool),
    ) -> Result<Appending, AppendError> {
        let id = self.id;
        Ok(self
            .warehouse
            .submit(move |w| {
                let started = Instant::now();
                let load = w.load(id)?;
                for (table, batch) in batches {
                    match staged {
                        true => load.stage(&table, batch)?,
                        false => load.append(&table, batch)?,
                    }
                }
                load.chunks.page(&name, records, position, settled);
                if load.chunks.due() {
                    super::commit::checkpoint(load)
                        .map_err(|e| AppendError::Checkpoint(Box::new(e)))?;
                }
                Ok(started.elapsed())
            })
            .await?)
    }

    /// Resource `name`, resumed from a checkpoint it could not replay, starts over (`why`):
    /// an `append` resource's rows from the interrupted sync go, in this load, since it loads
    /// them again; a `merge` resource's stay, replaced by key as they come again.
    pub async fn restart(&self, name: String, why: String) -> Result<(), AppendError> {
        let job = self
            .on_load(move |load| {
                tracing::debug!(resource = %name, "{why}");
                let loads = load.chunks.restart(&name);
                match load.chunks.hints(&name) {
                    Some(h) if h.write_disposition == crate::hints::WriteDisposition::Append => {
                        let root = h.table_name.clone();
                        load.forget(&root, &loads)
                    }
                    _ => Ok(()),
                }
            })
            .await?;
        job.result().await??;
        Ok(())
    }

    /// Resource `name` finished: its commit work joins the next checkpoint's, or the final
    /// commit's; `parent_rows`, what its dependents need of its records, is kept with its
    /// checkpoint so a resumed sync need not fetch it again.
    pub async fn finish(
        &self,
        name: String,
        commits: Vec<ResourceCommit>,
        parent_rows: Option<Vec<crate::source::ParentRow>>,
    ) -> Result<(), AppendError> {
        let job = self
            .on_load(move |load| {
                load.chunks.finish(&name, commits, parent_rows);
                Ok(())
            })
            .await?;
        job.result().await??;
        Ok(())
    }

    /// What the load's checkpoints committed so far.
    async fn checkpointed(&self) -> Checkpointed {
        let id = self.id;
        let asked = self
            .warehouse
            .run(move |w| w.load(id).map(|l| l.chunks.checkpointed()))
            .await;
        asked.ok().and_then(Result::ok).unwrap_or_default()
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
