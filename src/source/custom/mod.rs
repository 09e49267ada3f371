//! Sources written in Rust: each resource an async function that sends pages of records,
//! loaded by the same engine into the same warehouse layout as a declarative source.
//!
//! ```no_run
//! use dango::source::custom::{HttpClient, resource};
//! use dango::source::{BoxError, Source};
//!
//! # async fn run() -> Result<(), BoxError> {
//! let client = HttpClient::builder().bearer_token("secret").build()?;
//! let users = resource("users", move |mut ctx| async move {
//!     let page = client.get_json("http://127.0.0.1:8080/users", &[]).await?;
//!     let records = page["data"].as_array().cloned().unwrap_or_default();
//!     ctx.send(records).await?;
//!     Ok(())
//! })
//! .merge_on(["id"]);
//! let source = Source::new("my_api", "raw_my_api", vec![Box::new(users)])?;
//! dango::Pipeline::new(".").run(source).await?;
//! # Ok(())
//! # }
//! ```

mod client;

pub use crate::source::rest::config::{HttpMethod, PaginationConfig, RateLimitConfig, RetryConfig};

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::record_batch::RecordBatch;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;

pub use client::{HttpClient, HttpClientBuilder, Pages};

use super::rest::incremental::{
    FilterError, Incremental, IncrementalConfig, IncrementalPosition, WindowMismatch,
};
use super::{
    BoxError, CheckpointInterval, CursorWindow, FetchInput, FetchOutcome, PageSender, ParentLink,
    ParentRow, Records,
};
use super::{Resource, Stopped};
use crate::hints::{AbsentDeletes, CursorState, MergeStrategy, TableHints, WriteDisposition};
use crate::normalize::naming::normalize_identifier;

type RunFn = Box<dyn FnOnce(ResourceContext) -> BoxFuture<'static, Result<(), BoxError>> + Send>;

/// A resource whose pages come from an async function (see [`resource`]).
pub struct FnResource {
    name: String,
    hints: TableHints,
    parent: Option<ParentLink>,
    selected: bool,
    checkpoint: Option<CheckpointInterval>,
    run: RunFn,
}

/// A resource named `name` whose records `run` sends through its [`ResourceContext`]. It
/// appends to table `name` (in dlt's naming) unless told otherwise: [`FnResource::merge_on`]
/// a key, or [`FnResource::replace`].
pub fn resource<F, Fut>(name: impl Into<String>, run: F) -> FnResource
where
    F: FnOnce(ResourceContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let name = name.into();
    FnResource {
        hints: TableHints {
            write_disposition: WriteDisposition::Append,
            ..TableHints::named(&normalize_identifier(&name))
        },
        name,
        parent: None,
        selected: true,
        checkpoint: None,
        run: Box::new(move |ctx| run(ctx).boxed()),
    }
}

impl FnResource {
    /// Loads into table `table` (in dlt's naming) instead of the resource's name.
    pub fn table_name(mut self, table: &str) -> Self {
        self.hints.table_name = normalize_identifier(table);
        self
    }

    /// `merge`: one row per `key` (latest wins), as dlt's `primary_key`.
    pub fn merge_on<I, S>(mut self, key: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.hints.write_disposition = WriteDisposition::Merge;
        self.hints.primary_key = key
            .into_iter()
            .map(|k| normalize_identifier(k.as_ref()))
            .collect();
        self
    }

    /// `merge` by dlt's `strategy` instead of delete-insert (upsert and insert-only match on
    /// the key [`Self::merge_on`] sets; scd2 needs none). A `hard_delete` column: a record with
    /// a value there (`true`, for a bool column) removes its key, or retires it under scd2.
    pub fn merge_strategy(mut self, strategy: MergeStrategy, hard_delete: Option<&str>) -> Self {
        self.hints.write_disposition = WriteDisposition::Merge;
        self.hints.merge.hard_delete = hard_delete.map(normalize_identifier);
        self.hints.merge.strategy = strategy;
        let root = self.hints.table_name.clone();
        let merge = self.hints.merge.clone();
        merge.declare_columns(&root, &mut self.hints.columns);
        self
    }

    /// Deletes the rows whose key did not come in a sync (`merge` only; see
    /// [`AbsentDeletes`]): the resource must send its whole collection every sync, and a sync
    /// that uses its incremental cursor is refused.
    pub fn deletes(mut self, deletes: AbsentDeletes) -> Self {
        self.hints.merge.deletes = Some(deletes);
        let root = self.hints.table_name.clone();
        let merge = self.hints.merge.clone();
        merge.declare_columns(&root, &mut self.hints.columns);
        self
    }

    /// `append`: every row is added (the default).
    pub fn append(mut self) -> Self {
        self.hints.write_disposition = WriteDisposition::Append;
        self
    }

    /// `replace`: the table afterwards holds exactly this sync's rows.
    pub fn replace(mut self) -> Self {
        self.hints.write_disposition = WriteDisposition::Replace;
        self
    }

    /// Keeps nested data deeper than `depth` below the root table as JSON.
    pub fn max_table_nesting(mut self, depth: usize) -> Self {
        self.hints.max_table_nesting = depth;
        self
    }

    /// Runs once per record of resource `parent`, which hands over each record's `fields`
    /// (JSONPaths) as [`ResourceContext::parents`].
    pub fn depends_on<I, S>(mut self, parent: &str, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parent = Some(ParentLink {
            resource: parent.to_string(),
            fields: fields.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Runs only to feed the resources that depend on it; its own rows are not loaded.
    pub fn not_loaded(mut self) -> Self {
        self.selected = false;
        self
    }

    /// Commits a checkpoint every `rows` records, for a function that sends its pages with
    /// [`ResourceContext::send_at`]: a sync that stops midway keeps what it loaded, and the next
    /// one calls the function again with [`ResourceContext::resume`] set to the position sent
    /// with the last committed page. A dependent resource gets the same
    /// [`ResourceContext::parents`] again, in the same order: its position should say which of
    /// them it was on.
    pub fn checkpoint_every(mut self, rows: usize) -> Self {
        self.checkpoint = Some(CheckpointInterval::exactly(rows));
        self
    }
}

impl Resource for FnResource {
    fn name(&self) -> &str {
        &self.name
    }

    fn hints(&self) -> &TableHints {
        &self.hints
    }

    fn selected(&self) -> bool {
        self.selected
    }

    fn parent(&self) -> Option<&ParentLink> {
        self.parent.as_ref()
    }

    fn checkpoint_every(&self) -> Option<CheckpointInterval> {
        self.checkpoint
    }

    fn fetch(
        self: Box<Self>,
        input: FetchInput,
        pages: PageSender,
    ) -> BoxFuture<'static, Result<FetchOutcome, BoxError>> {
        if input.window.as_ref().is_some_and(|w| w.split.is_some()) {
            let name = self.name.clone();
            return Box::pin(async move {
                Err(format!(
                    "resource `{name}`: --window cuts the ranges of REST resources only; a Rust \
                     source reads its range in one run: load each window with --since and --until"
                )
                .into())
            });
        }
        let state = Arc::new(Mutex::new(None));
        let window = Arc::new(Mutex::new(input.window.map(WindowUse::Given)));
        let resume = input.resume.and_then(|r| serde_json::from_value(r).ok());
        let ctx = ResourceContext {
            name: self.name.clone(),
            pages,
            parents: input.parents.unwrap_or_default(),
            saved: input.saved,
            state: state.clone(),
            window: window.clone(),
            resume,
            cursor: Arc::new(Mutex::new(None)),
        };
        let run = (self.run)(ctx);
        let name = self.name.clone();
        let deletes = self.hints.merge.deletes.is_some();
        Box::pin(async move {
            let ran = run.await;
            if deletes
                && state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .is_some()
            {
                return Err(format!(
                    "resource `{name}` detects deletes by absence but read from an incremental \
                     cursor: every record it did not ask for would be deleted; nothing was \
                     loaded. Read the whole collection, or drop `deletes`"
                )
                .into());
            }
            // A range the resource could not apply fails the load (rolled back) rather than
            // loading records outside it.
            match window.lock().unwrap_or_else(PoisonError::into_inner).take() {
                Some(WindowUse::Refused(e)) => return Err(format!("resource `{name}`: {e}").into()),
                Some(WindowUse::Given(_)) => {
                    return Err(format!(
                        "resource `{name}` has no incremental cursor, so --since, --until and \
                         --backfill cannot apply to it"
                    )
                    .into());
                }
                Some(WindowUse::Applied) | None => {}
            }
            ran?;
            let cursor = state.lock().unwrap_or_else(PoisonError::into_inner).take();
            Ok(FetchOutcome {
                cursor,
                ..FetchOutcome::default()
            })
        })
    }
}

/// What a resource function works with: where its pages go, its parent's records and its
/// saved incremental state.
pub struct ResourceContext {
    name: String,
    pages: PageSender,
    parents: Vec<ParentRow>,
    saved: Option<CursorState>,
    state: Arc<Mutex<Option<CursorState>>>,
    window: Arc<Mutex<Option<WindowUse>>>,
    /// What the last committed checkpoint saved, when the function resumes an interrupted sync.
    resume: Option<Saved>,
    /// Where the resource's incremental cursor stands, saved with each checkpoint.
    cursor: Arc<Mutex<Option<IncrementalPosition>>>,
}

/// What a Rust resource's checkpoint saves: the function's own position, and its cursor's.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    position: Value,
    #[serde(default)]
    cursor: Option<IncrementalPosition>,
}

/// What became of a `--since`/`--until` range given to a Rust resource.
enum WindowUse {
    /// Given, and no cursor has taken it (yet).
    Given(CursorWindow),
    /// The resource's cursor loads it.
    Applied,
    /// The cursor's values do not compare with it.
    Refused(WindowMismatch),
}

impl ResourceContext {
    /// Sends one page of records (JSON objects, normalised into the root and child tables as
    /// dlt does). Waits while the warehouse catches up; an error means the sync stopped and the
    /// function should return it.
    pub async fn send(&mut self, records: Vec<Value>) -> Result<(), Stopped> {
        self.pages.send(Records::Parsed(records)).await
    }

    /// Sends one page of records with `position`, what the function needs to go on after it
    /// (a page number, a next URL): a checkpoint committed after this page saves it, and a
    /// resumed sync hands it back as [`ResourceContext::resume`]. Needs
    /// [`FnResource::checkpoint_every`].
    pub async fn send_at(&mut self, records: Vec<Value>, position: Value) -> Result<(), Stopped> {
        let cursor = self
            .cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let saved = serde_json::to_value(Saved { position, cursor }).ok();
        self.pages.send_at(Records::Parsed(records), saved).await
    }

    /// The position sent with the last page an interrupted sync committed, when this run
    /// resumes it: go on from there. `None` in a sync that starts from the beginning.
    pub fn resume(&self) -> Option<&Value> {
        self.resume.as_ref().map(|s| &s.position)
    }

    /// Sends one page as an Arrow batch, loaded as dlt loads Arrow items (no child tables).
    pub async fn send_batch(&mut self, batch: RecordBatch) -> Result<(), Stopped> {
        self.pages.send(Records::Arrow(batch)).await
    }

    /// For a dependent resource, the fields it asked for of each of its parent's records.
    pub fn parents(&self) -> &[ParentRow] {
        &self.parents
    }

    /// An incremental cursor over `cursor_path` that starts where the last successful sync of
    /// this resource stopped (else at `initial_value`); a `--since`/`--until` range replaces
    /// both ends for one run. Its state is committed with the rows.
    pub fn incremental(&self, cursor_path: &str, initial_value: Option<Value>) -> Cursor {
        let config = IncrementalConfig::on(cursor_path, initial_value);
        let resumed = self.resume.as_ref().and_then(|s| s.cursor.clone());
        let mut inner = match resumed {
            // The interrupted sync's range, and what it had seen.
            Some(at) => Incremental::resumed(config, at),
            None => Incremental::new(config, self.saved.as_ref()),
        };
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if self.resume.is_some() {
            // A resumed run keeps the range it started with; the flags do not move it.
            if let Some(WindowUse::Given(_)) = window.take() {
                *window = Some(WindowUse::Applied);
            }
        }
        if let Some(WindowUse::Given(range)) = window.take() {
            *window = Some(
                match inner.clone().with_window(&range, self.saved.as_ref()) {
                    Ok(ranged) => {
                        inner = ranged;
                        WindowUse::Applied
                    }
                    Err(e) => WindowUse::Refused(e),
                },
            );
        }
        *self.cursor.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner.position());
        if self.resume.is_some() {
            // What the interrupted sync had seen is saved even if no record comes now.
            *self.state.lock().unwrap_or_else(PoisonError::into_inner) = inner.state(&self.name);
        }
        Cursor {
            name: self.name.clone(),
            inner,
            state: self.state.clone(),
            position: self.cursor.clone(),
        }
    }
}

/// dlt's `dlt.sources.incremental` for a Rust resource: where to start, and which records
/// are new.
pub struct Cursor {
    name: String,
    inner: Incremental,
    state: Arc<Mutex<Option<CursorState>>>,
    /// Shared with the context, which saves it with each page's position.
    position: Arc<Mutex<Option<IncrementalPosition>>>,
}

impl Cursor {
    /// The value to ask the API for records from: the newest value already loaded, else the
    /// initial value.
    pub fn start_value(&self) -> Option<&Value> {
        self.inner.start_value()
    }

    /// Keeps the records not loaded before (newer than the start, or at it but not seen), and
    /// moves the cursor to the newest; the cursor is saved with the rows when the sync commits.
    pub fn filter(&mut self, records: Vec<Value>) -> Result<Vec<Value>, FilterError> {
        let kept = self.inner.filter(records)?;
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = self.inner.state(&self.name);
        *self.position.lock().unwrap_or_else(PoisonError::into_inner) = Some(self.inner.position());
        Ok(kept)
    }
}
