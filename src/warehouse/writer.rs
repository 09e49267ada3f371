//! The single writer: one thread owns the DuckDB connection (it is `Send`, not `Sync`) and runs
//! the jobs sent to it in order. A bounded queue makes producers wait when loading falls behind;
//! it is an async channel, so waiting for room never ties up a runtime thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use duckdb::Connection;
use tokio::sync::{mpsc, oneshot};

use super::commit::{CommitError, Committed};
use super::load::Load;
use super::location::Location;
use super::space;

/// What the writer thread owns: the warehouse connection and the loads in progress, each
/// with its own connection and open transaction.
pub(super) struct WriterState {
    conn: Connection,
    loads: HashMap<LoadSlot, Load>,
    next_id: u64,
    /// A load rolled back since the file's space was last reclaimed.
    rolled_back: bool,
    /// Whether rolled-back space is given back: a DuckDB file's is; a lake's rolled-back
    /// Parquet files are deleted by DuckLake itself.
    reclaims: bool,
}

/// Which open load a job is for (the writer's own key, not the load id written to the
/// warehouse): loads of one dataset come one after another, and a late rollback of an old one
/// must not touch the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct LoadSlot(u64);

impl WriterState {
    /// Begins a load on a connection of its own (see [`Load::begin`]).
    pub(super) fn begin(
        &mut self,
        dataset: &str,
        full_refresh: bool,
        chunks: super::chunks::ChunkOptions,
    ) -> duckdb::Result<LoadSlot> {
        let load = Load::begin(&self.conn, dataset, full_refresh, chunks)?;
        self.next_id += 1;
        let id = LoadSlot(self.next_id);
        self.loads.insert(id, load);
        Ok(id)
    }

    /// The connection outside any load, for statements that commit on their own.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The open load `id`.
    pub(super) fn load(&mut self, id: LoadSlot) -> Result<&mut Load, WarehouseError> {
        self.loads.get_mut(&id).ok_or(WarehouseError::NoLoad)
    }

    /// Ends load `id` without committing: its rows are gone and the warehouse is as it was, file
    /// size included once no other load is open.
    pub(super) fn roll_back(&mut self, id: LoadSlot) {
        if self.loads.remove(&id).is_some() {
            self.rolled_back = true;
        }
        self.reclaim_when_idle();
    }

    /// Commits load `id` (see [`commit`](super::commit::commit)); a commit that fails rolls the
    /// load back.
    pub(super) fn commit(&mut self, id: LoadSlot) -> Result<Committed, CommitError> {
        let load = self
            .loads
            .remove(&id)
            .ok_or(CommitError::Warehouse(WarehouseError::NoLoad))?;
        let committed = super::commit::commit(load);
        self.rolled_back |= committed.is_err();
        self.reclaim_when_idle();
        committed
    }

    /// Gives back the space of rolled-back loads once no load is open (DuckDB cannot
    /// checkpoint while one is).
    fn reclaim_when_idle(&mut self) {
        if !self.reclaims || !self.rolled_back || !self.loads.is_empty() {
            return;
        }
        self.rolled_back = false;
        if let Err(e) = space::reclaim(&self.conn) {
            tracing::warn!(
                "could not give back the space of a rolled-back load: {}",
                describe(&e)
            );
        }
    }
}

type Job = Box<dyn FnOnce(&mut WriterState) + Send>;

/// Why the warehouse could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The database file could not be opened.
    #[error("cannot open the warehouse {}: {reason}{}", path.display(), open_hint(reason))]
    Open {
        /// The file.
        path: PathBuf,
        /// DuckDB's reason, as `describe` words it (kept as text: printed once, not again as
        /// an error's source).
        reason: String,
    },
    /// `DANGO_MEMORY_LIMIT` is not a size.
    #[error(
        "DANGO_MEMORY_LIMIT={0:?} is not a memory size; set it like `512MB` or `2GB`, or unset it \
         for the default ({default})",
        default = super::DEFAULT_MEMORY_LIMIT
    )]
    MemoryLimit(String),
    /// Work arrived for a load that is no longer open (a bug, reported rather than hidden).
    #[error("internal error: the load is no longer open")]
    NoLoad,
    /// The writer thread is gone (it panicked or was shut down).
    #[error("the warehouse writer stopped unexpectedly")]
    WriterGone,
    /// The DuckLake could not be attached.
    #[error("cannot open {catalog}: {reason}{}", lake_hint(reason))]
    Lake {
        /// The catalog, password hidden.
        catalog: String,
        /// DuckDB's reason, secrets hidden.
        reason: String,
    },
    /// A DuckDB extension the lake needs is neither installed nor installable.
    #[error(
        "a DuckLake warehouse needs DuckDB's `{name}` extension, which is not installed here \
         and could not be downloaded ({reason}). With internet access Dango installs it by \
         itself; offline, put {file}.duckdb_extension for DuckDB {version} into \
         {}/{version}/linux_amd64/ (the PyPI wheel duckdb-extension-{name}=={number} holds it; \
         `scripts/duckdb_extensions.sh DIR` fetches every one a lake needs) and set \
         DANGO_EXTENSION_DIR=DIR",
        dir.display(),
        file = super::location::extension_file(name),
        version = super::location::DUCKDB_VERSION,
        number = super::location::DUCKDB_VERSION.trim_start_matches('v'),
    )]
    Extension {
        /// The extension.
        name: String,
        /// DuckDB's reason.
        reason: String,
        /// Where DuckDB looks for it.
        dir: PathBuf,
    },
    /// A lake's local `data_path` cannot be written.
    #[error(
        "cannot write to the lake's data_path {path}: {source}. Make the folder writable, or \
         set another `data_path` in the `warehouse:` block of .dango/sources.yml"
    )]
    DataPath {
        /// The folder.
        path: String,
        /// Why not.
        source: std::io::Error,
    },
    /// `sources.yml` names another data path than the one the lake's files are in.
    #[error(
        "the lake's catalog keeps its files in {recorded}, but the `warehouse:` block of \
         .dango/sources.yml says data_path: {configured}. Set data_path back to {recorded}; or, \
         to move the lake, move everything in {recorded} into {configured} and sync again \
         (Dango records the new place once the old one holds no files)"
    )]
    DataPathMoved {
        /// Where the catalog says the files are.
        recorded: String,
        /// Where `sources.yml` says they are.
        configured: String,
    },
    /// A statement of Dango's own bookkeeping (the sync history) failed.
    #[error("warehouse error: {}", describe(.0))]
    Db(duckdb::Error),
}

/// What to do about a file DuckDB would not open, told from its reason: only the causes the
/// reason shows get a hint.
fn open_hint(reason: &str) -> &'static str {
    if reason.contains("Could not set lock") || reason.contains("Conflicting lock") {
        " (another dango or duckdb process has it open: wait for it to finish, or close it)"
    } else if reason.contains("newer version") || reason.contains("version number") {
        " (the file was written by a newer DuckDB than Dango's 1.5.5: load into another file, or \
         export it with that DuckDB and import it here)"
    } else if reason.contains("Corrupt database file") {
        " (the file is damaged: restore it from a backup, or move it away and sync again to \
         start a new warehouse)"
    } else if reason.contains("not a valid DuckDB database") {
        " (it is not a DuckDB database: move it away, or point Dango at another project)"
    } else {
        ""
    }
}

/// What to do about a lake that would not attach, told from DuckDB's reason.
fn lake_hint(reason: &str) -> &'static str {
    if reason.contains("Unable to connect to Postgres") || reason.contains("connection to server") {
        " (check the catalog's host, port, database and user, and that the server is running)"
    } else if reason.contains("Could not set lock") || reason.contains("Conflicting lock") {
        " (another process has the catalog file open: a DuckDB-file catalog takes one process at \
         a time; use a PostgreSQL catalog for many writers)"
    } else {
        ""
    }
}

/// A DuckDB error as users read it: DuckDB's own message, without the code line duckdb-rs shows
/// when DuckDB gave no message, and without any connection string's password.
pub fn describe(e: &duckdb::Error) -> String {
    let message = match e {
        duckdb::Error::DuckDBFailure(_, Some(message)) => message.trim().to_string(),
        duckdb::Error::DuckDBFailure(_, None) => "DuckDB failed without saying why".into(),
        other => other.to_string(),
    };
    super::location::scrub_passwords(&message)
}

/// Handle to the writer thread; cheap to clone, usable from async code. When the last clone is
/// dropped the thread finishes its queue and closes the database before the drop returns, so the
/// file can be opened again right away.
#[derive(Clone)]
pub struct Warehouse {
    inner: Arc<WriterThread>,
}

struct WriterThread {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Where the warehouse is, to scrub its secrets from messages.
    location: Location,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// DuckDB's threads while rows are appended. An appender flush does its work on the calling
/// thread, and DuckDB's other threads spent their time spinning for tasks: one thread uses
/// less CPU and runs faster (docs/performance.md, "Measurements behind the code"). The
/// commit's joins and deletes do run in parallel, so it uses every core (see `commit`).
pub const APPEND_THREADS: &str = "SET threads = 1";

/// Jobs queued ahead of the writer before senders wait.
const QUEUE_DEPTH: usize = 8;

impl Warehouse {
    /// Opens (creating if needed) the warehouse at `location` on a new writer thread.
    pub fn open(location: &Location) -> Result<Self, WarehouseError> {
        let limit = super::memory_limit()?;
        let conn = location.open(&limit)?;
        conn.execute_batch(APPEND_THREADS)
            .map_err(WarehouseError::Db)?;
        let reclaims = !location.is_lake();
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("dango-warehouse".into())
            .spawn(move || {
                let mut state = WriterState {
                    conn,
                    loads: HashMap::new(),
                    next_id: 0,
                    rolled_back: false,
                    reclaims,
                };
                while let Some(job) = queue.blocking_recv() {
                    job(&mut state);
                }
            })
            .map_err(|_| WarehouseError::WriterGone)?;
        let inner = WriterThread {
            jobs: Some(jobs),
            thread: Some(thread),
            location: location.clone(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Where the warehouse is.
    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// `text` without this warehouse's secrets: every error about a source's load passes
    /// through it before it is shown, logged or recorded in the history.
    pub fn redact(&self, text: &str) -> String {
        self.inner.location.redact(text)
    }

    /// Runs `f` on the writer thread and returns its result.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterState) -> T + Send + 'static,
    {
        self.submit(f).await?.result().await
    }

    /// Queues `f` on the writer thread (waiting only for room in the queue) and returns the
    /// future of its result. Jobs run in the order they were queued, so a producer can queue
    /// its next job before the last one is done and the writer never waits for it.
    pub(super) async fn submit<T, F>(&self, f: F) -> Result<Pending<T>, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterState) -> T + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |state| {
            let _ = reply.send(f(state));
        });
        let jobs = self.inner.jobs.as_ref().ok_or(WarehouseError::WriterGone)?;
        jobs.send(job)
            .await
            .map_err(|_| WarehouseError::WriterGone)?;
        Ok(Pending(result))
    }
}

/// The result of a job queued on the writer thread, once the writer has run it.
pub struct Pending<T>(oneshot::Receiver<T>);

impl Warehouse {
    /// Queues `f` without waiting for room or result: for a rollback from `Drop`, where
    /// nothing can wait. Returns whether it was queued.
    pub(super) fn try_submit<F>(&self, f: F) -> bool
    where
        F: FnOnce(&mut WriterState) + Send + 'static,
    {
        let job: Job = Box::new(f);
        self.inner
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.try_send(job).is_ok())
    }
}

impl<T> Pending<T> {
    /// Waits for the writer to run the job.
    pub async fn result(self) -> Result<T, WarehouseError> {
        self.0.await.map_err(|_| WarehouseError::WriterGone)
    }
}
