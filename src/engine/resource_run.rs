//! Runs one resource: fetch + parse (async task, parsing on blocking workers) → normalize
//! (several pages at once on blocking workers) → each root table's [`TableStages`] (build,
//! rules, merge dedupe, in page order) → load (writer thread). This file only wires them:
//! tasks, and bounded channels and buffers between them, which keep memory flat whatever the
//! size of the resource.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::progress::ResourceProgress;
use crate::decode::page::{DecodeError, NormalizedPage, PageNormalizer};
use crate::hints::{CursorState, LoadId, TableHints, WriteDisposition};
use crate::source::{
    BoxError, CursorWindow, FetchInput, HttpCounts, Page, PageSender, ParentRow, RecordsError,
    Resource,
};
use crate::table::rules::Dropped;
use crate::table::{self, StageError, TableStages};
use crate::warehouse::catalog::SchemaColumns;
use crate::warehouse::checkpoints::Checkpoint;
use crate::warehouse::{AppendError, Appending, LoadWriter, ResourceCommit, WarehouseError};

/// Pages fetched ahead of decoding.
const PAGE_BUFFER: usize = 4;

/// Pages built ahead of the writer.
const LOAD_BUFFER: usize = 8;

/// Pages queued on the writer thread beyond the one it is appending.
const WRITES_AHEAD: usize = 2;

/// One page's batches for the writer (one per table it touches, none if all were filtered),
/// with where the resource continues after it.
struct BuiltPage {
    /// Set on the marker of a resource that starts over (why): what the interrupted sync
    /// appended of it goes.
    restart: Option<String>,
    batches: Vec<(String, RecordBatch)>,
    /// The batches go to staging tables: the page's table keeps scd2 history.
    staged: bool,
    records: usize,
    position: Option<serde_json::Value>,
    /// It ends a unit of work: a checkpoint may be taken after it early.
    settled: bool,
}

/// Time spent in each stage of one resource, summed over its pages (and over workers, for the
/// stages that run several pages at once), for `-v` output.
#[derive(Debug, Default, Clone, Copy)]
struct StageTimes {
    /// Parsing response bodies.
    parse: Duration,
    /// Normalising records into rows.
    normalize: Duration,
    /// Building, the rules and dedupe, in the tables' stages.
    tables: table::StageTimes,
    /// Appending batches to the load's tables in DuckDB.
    load: Duration,
}

impl StageTimes {
    /// Logs the times at `-v`.
    fn log(&self, resource: &str) {
        tracing::info!(
            resource = %resource,
            parse = ?self.parse,
            normalize = ?self.normalize,
            build = ?self.tables.build,
            rules = ?self.tables.rules,
            dedupe = ?self.tables.dedupe,
            load = ?self.load,
            "time per stage (summed over pages and workers)"
        );
    }
}

/// Runs `f`, returning how long it took with its result.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed(), out)
}

/// Waits for an append queued on the writer; returns the writer's time on it.
async fn appended(job: Appending) -> Result<Duration, ResourceError> {
    Ok(job.result().await??)
}

/// What a resource did.
#[derive(Debug, Clone)]
pub struct ResourceReport {
    /// Resource name.
    pub name: String,
    /// Root table name.
    pub table: String,
    /// Responses fetched.
    pub pages: usize,
    /// Records selected (root rows).
    pub rows: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether `--limit` stopped it early (then no cursor was saved).
    pub limited: bool,
    /// Records its transform filtered out and rows its schema contract discarded.
    pub dropped: Dropped,
    /// Where an interrupted sync's checkpoint left it, when this sync went on from there.
    pub resumed: Option<Resumed>,
    /// Why it started over instead, when its checkpoint could not be replayed.
    pub restarted: Option<String>,
    /// What the resource says of how it ran (a backfill's windows), for the summary.
    pub note: Option<String>,
    /// Records its commit deleted (or marked, or retired) because they no longer came, when
    /// it detects deletes by absence.
    pub deleted: Option<u64>,
    /// Its HTTP requests.
    pub http: HttpCounts,
    /// When it started.
    pub started_at: std::time::SystemTime,
}

/// What an interrupted sync had committed of a resource this sync resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// Pages committed before.
    pub pages: u64,
    /// Records committed before.
    pub rows: u64,
    /// When its last checkpoint was committed (ISO 8601, UTC).
    pub at: String,
    /// Whether it had finished: then this sync did not run it again.
    pub done: bool,
}

impl From<&Checkpoint> for Resumed {
    fn from(c: &Checkpoint) -> Self {
        Self {
            pages: c.pages,
            rows: c.rows,
            at: c.at.clone(),
            done: c.done(),
        }
    }
}

/// Why a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// The resource failed to fetch its pages.
    #[error(transparent)]
    Fetch(BoxError),
    /// The fields its dependents need could not be read from its records.
    #[error("reading the fields its dependent resources need: {0}")]
    Capture(#[from] RecordsError),
    /// A page could not be normalised.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A page could not go through its table's stages.
    #[error(transparent)]
    Table(Box<StageError>),
    /// Appending rows to the warehouse failed.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The writer is gone.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// A worker task died.
    #[error("internal error: a worker task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<StageError> for ResourceError {
    fn from(e: StageError) -> Self {
        // Boxed: the stages' errors carry the record that broke them, which would make every
        // resource's result as large.
        Self::Table(Box::new(e))
    }
}

/// What a resource run needs besides the resource.
pub struct RunInput<'a> {
    /// The load's id, stamped on root rows.
    pub load_id: &'a LoadId,
    /// Current warehouse tables of the dataset, so types stay as they are.
    pub known: SchemaColumns,
    /// Appends to the source's open load.
    pub writer: LoadWriter,
    /// Parent records' fields, for a dependent resource.
    pub parents: Option<Vec<ParentRow>>,
    /// Fields of this resource's records that its dependents need.
    pub capture: Vec<String>,
    /// The resource's last committed state.
    pub saved: Option<CursorState>,
    /// Records to load at most (`--limit`).
    pub limit: Option<usize>,
    /// The range of its incremental cursor to load, if not "from the saved cursor on".
    pub window: Option<CursorWindow>,
    /// Where an interrupted sync's checkpoint left it, to go on from.
    pub resume: Option<serde_json::Value>,
    /// Where its pages and rows are reported as they are built.
    pub progress: ResourceProgress,
}

/// What a resource run hands back to its source's load.
pub struct ResourceRun {
    /// The commit work for its rows: one per root table it loaded (its own first).
    pub commits: Vec<ResourceCommit>,
    /// What it did, for the summary.
    pub report: ResourceReport,
    /// The fields its dependents asked for, one entry per record.
    pub captured: Vec<ParentRow>,
}

/// Counts of what came through the pipeline.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    pages: usize,
    records: usize,
}

/// One page after its blocking worker.
struct Normalized {
    /// Records on the page.
    records: usize,
    /// Where the resource continues after it.
    position: Option<serde_json::Value>,
    /// It ends a unit of work ([`Page::settled`]).
    settled: bool,
    /// The resource starts over, and why (a marker without records).
    restart: Option<String>,
    /// Pages the resource expects in all, if the API said.
    expected: Option<usize>,
    /// The fields its dependents need.
    captured: Vec<ParentRow>,
    /// The root table it lands in.
    table: Arc<TableHints>,
    /// The stages of that table, with the first page that names a table found while running.
    new_table: Option<Result<TableStages, StageError>>,
    /// Its rows (unless the resource is not loaded), with the time normalising took.
    rows: Option<(Duration, Result<NormalizedPage, DecodeError>)>,
}

/// What building a resource's pages gathered besides the batches it sent to the writer.
struct Built {
    tables: Vec<TableStages>,
    counts: Counts,
    captured: Vec<ParentRow>,
    times: StageTimes,
    /// Why the resource started over, if it did.
    restarted: Option<String>,
}

/// Fetches, decodes and loads `resource`'s rows into its source's open load. Unselected
/// resources are fetched (for their dependents) but not loaded.
pub async fn run_resource(
    resource: Box<dyn Resource>,
    input: RunInput<'_>,
) -> Result<ResourceRun, ResourceError> {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let hints = resource.hints().clone();
    let name = resource.name().to_string();
    let load = resource.selected();
    let tables = TableStages::of_resource(resource.as_ref(), input.load_id, &input.known);
    let (pages_tx, pages_rx) = mpsc::channel::<Page>(PAGE_BUFFER);
    let fetch_input = FetchInput {
        parents: input.parents,
        saved: input.saved,
        exchanges: None,
        window: input.window,
        resume: input.resume,
    };
    let sender = match input.limit {
        Some(_) => PageSender::one_at_a_time(pages_tx),
        None => PageSender::new(pages_tx),
    };
    let fetch = tokio::spawn(resource.fetch(fetch_input, sender));
    let normalizers = Normalizers::of(&tables, input.load_id, input.known);
    let limit = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pages_rx = at_most(pages_rx, input.limit, limit.clone());
    let normalized = normalize_pages(pages_rx, normalizers, input.capture, load);
    // The writer loads one page while the next is built: a bounded channel between them.
    let (batches_tx, batches_rx) = mpsc::channel::<BuiltPage>(LOAD_BUFFER);
    let appender = tokio::spawn(append_pages(input.writer, name.clone(), batches_rx));
    let built = build_pages(normalized, tables, batches_tx, &input.progress).await;
    let loaded = appender.await?;
    let fetched = fetch.await?;
    // A writer failure is the cause of any build failure that follows it (a closed channel),
    // and either is the cause of a fetch stopped for want of a receiver.
    let load_time = loaded?;
    let Built {
        tables,
        counts,
        captured,
        mut times,
        restarted,
    } = built?;
    let limited = limit.load(std::sync::atomic::Ordering::SeqCst);
    // A resource stopped by `--limit` sees its pages refused: that is not its failure.
    let outcome = match (fetched, limited) {
        (Ok(outcome), _) => outcome,
        (Err(_), true) => Default::default(),
        (Err(e), false) => return Err(ResourceError::Fetch(e)),
    };
    times.load = load_time;
    times.parse = outcome.parse;
    let note = outcome.note.clone();
    let http = outcome.http;
    // A limited run did not see everything its cursor would claim.
    let cursor = outcome.cursor.filter(|_| !limited);
    let (commits, dropped) = finish_tables(tables, cursor, &mut times).await?;
    times.log(&name);
    // A resource loading several root tables (a Python source) names them all.
    let loaded: Vec<&str> = commits
        .iter()
        .filter(|c| !c.tables.is_empty() || c.hints.table_name == hints.table_name)
        .map(|c| c.hints.table_name.as_str())
        .collect();
    let report = ResourceReport {
        name,
        table: loaded.join(", "),
        pages: counts.pages,
        rows: counts.records,
        elapsed: started.elapsed(),
        limited,
        dropped,
        resumed: None,
        restarted,
        note,
        deleted: None,
        http,
        started_at,
    };
    Ok(ResourceRun {
        commits,
        report,
        captured,
    })
}

/// The commit entries of a resource's tables, its own first with the resource's `cursor`, and
/// what their rules dropped; their stage times are added to `times`.
async fn finish_tables(
    tables: Vec<TableStages>,
    mut cursor: Option<CursorState>,
    times: &mut StageTimes,
) -> Result<(Vec<ResourceCommit>, Dropped), ResourceError> {
    let mut commits = Vec::new();
    let mut dropped = Dropped::default();
    for table in tables {
        let done = table.finish().await?;
        dropped.filtered += done.dropped.filtered;
        dropped.discarded += done.dropped.discarded;
        times.tables += done.times;
        commits.push(ResourceCommit {
            // Saved once, with the resource's own table.
            cursor: cursor.take(),
            ..done.commit
        });
    }
    Ok((commits, dropped))
}

/// The normalisers of a resource's root tables, by name; a page naming a table not seen yet
/// gets new stages, handed to the builder with that page.
struct Normalizers {
    by_table: HashMap<String, (Arc<TableHints>, PageNormalizer)>,
    own: Arc<TableHints>,
    load_id: LoadId,
    known: SchemaColumns,
}

impl Normalizers {
    /// The normalisers of `tables` (the resource's own first), loading as `load_id` into a
    /// dataset whose tables are `known`.
    fn of(tables: &[TableStages], load_id: &LoadId, known: SchemaColumns) -> Self {
        let by_table = tables
            .iter()
            .filter_map(|t| {
                let normalizer = t.normalizer()?;
                Some((
                    t.hints().table_name.clone(),
                    (t.hints().clone(), normalizer),
                ))
            })
            .collect();
        Self {
            by_table,
            own: tables[0].hints().clone(),
            load_id: load_id.clone(),
            known,
        }
    }

    /// The table `page` lands in, its normaliser (none for a table refused), and its new
    /// stages if it is new.
    #[allow(clippy::type_complexity)]
    fn for_page(
        &mut self,
        page: &Page,
    ) -> (
        Arc<TableHints>,
        Option<PageNormalizer>,
        Option<Result<TableStages, StageError>>,
    ) {
        let hints = page.table.clone().unwrap_or_else(|| self.own.clone());
        if let Some((hints, normalizer)) = self.by_table.get(&hints.table_name) {
            return (hints.clone(), Some(normalizer.clone()), None);
        }
        let stages =
            TableStages::found_while_running(hints.clone(), &self.load_id, self.known.clone());
        let normalizer = stages.as_ref().ok().and_then(TableStages::normalizer);
        if let Some(normalizer) = &normalizer {
            self.by_table.insert(
                hints.table_name.clone(),
                (hints.clone(), normalizer.clone()),
            );
        }
        (hints, normalizer, Some(stages))
    }
}

/// The pages of `pages` up to `limit` records in all (the last one cut to fit), then none:
/// the channel is dropped, which stops the resource. `hit` says whether the limit was reached.
fn at_most(
    mut pages: mpsc::Receiver<Page>,
    limit: Option<usize>,
    hit: Arc<std::sync::atomic::AtomicBool>,
) -> mpsc::Receiver<Page> {
    let Some(limit) = limit else {
        return pages;
    };
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut left = limit;
        while let Some(mut page) = pages.recv().await {
            if page.records.len() >= left {
                page.records.truncate(left);
                hit.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = tx.send(page).await;
                return;
            }
            left -= page.records.len();
            if tx.send(page).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// The pages of `pages`, normalised (and their dependents' fields captured) several at once
/// on blocking workers; handed on in page order, which the type inference of building needs.
fn normalize_pages(
    mut pages: mpsc::Receiver<Page>,
    mut normalizers: Normalizers,
    capture: Vec<String>,
    load: bool,
) -> impl futures::Stream<Item = Result<Result<Normalized, ResourceError>, tokio::task::JoinError>>
{
    let capture = std::sync::Arc::new(capture);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    futures::stream::poll_fn(move |cx| pages.poll_recv(cx))
        .map(move |page| {
            let (table, normalizer, new_table) = normalizers.for_page(&page);
            let capture = capture.clone();
            tokio::task::spawn_blocking(move || {
                let records = page.records.len();
                let expected = page.expected;
                let position = page.position.clone();
                let settled = page.settled;
                let restart = page.restart.clone();
                let captured = match capture.is_empty() {
                    true => Vec::new(),
                    false => page.records.capture(&capture)?,
                };
                let rows = match normalizer {
                    Some(mut normalizer) if load => Some(timed(|| normalizer.normalize(page))),
                    _ => None,
                };
                Ok(Normalized {
                    records,
                    position,
                    settled,
                    restart,
                    expected,
                    captured,
                    table,
                    new_table,
                    rows,
                })
            })
        })
        .buffered(workers)
}

/// Hands each normalised page, in page order, to its table's stages, and the batches they
/// make to the writer, a page at a time with where the resource continues after it.
async fn build_pages(
    normalized: impl futures::Stream<
        Item = Result<Result<Normalized, ResourceError>, tokio::task::JoinError>,
    >,
    mut tables: Vec<TableStages>,
    pages: mpsc::Sender<BuiltPage>,
    progress: &ResourceProgress,
) -> Result<Built, ResourceError> {
    let mut times = StageTimes::default();
    let mut counts = Counts::default();
    let mut captured = Vec::new();
    let mut restarted = None;
    let mut normalized = std::pin::pin!(normalized);
    while let Some(page) = normalized.next().await {
        let Normalized {
            records,
            position,
            settled,
            restart,
            expected,
            captured: mut rows,
            table,
            new_table,
            rows: normalized_page,
        } = page??;
        if let Some(why) = restart {
            restarted = Some(why.clone());
            let marker = BuiltPage {
                restart: Some(why),
                batches: Vec::new(),
                staged: false,
                records: 0,
                position: None,
                settled: false,
            };
            if pages.send(marker).await.is_err() {
                break;
            }
            continue;
        }
        counts.pages += 1;
        counts.records += records;
        progress.advanced(counts.pages, counts.records, expected);
        captured.append(&mut rows);
        if let Some(stages) = new_table {
            tables.push(stages?);
        }
        // A resource that is not loaded appends nothing and has no position to keep.
        let Some((took, page)) = normalized_page else {
            continue;
        };
        times.normalize += took;
        let page = page?;
        let batches = match tables
            .iter_mut()
            .find(|t| t.hints().table_name == table.table_name)
        {
            Some(stages) => stages.page(page).await?,
            None => Vec::new(),
        };
        let built = BuiltPage {
            restart: None,
            batches,
            staged: table.write_disposition == WriteDisposition::Merge && table.merge.is_scd2(),
            records,
            position,
            settled,
        };
        if pages.send(built).await.is_err() {
            // The writer stopped on an error, reported as the cause. Returning drops the
            // pages' receiver, which stops the fetch.
            break;
        }
    }
    Ok(Built {
        tables,
        counts,
        captured,
        times,
        restarted,
    })
}

/// Appends the pages that arrive to the load as resource `name`'s; the writer's time on them.
/// Pages are queued before the previous one is in, so the writer never waits for this task to
/// hand it the next.
async fn append_pages(
    writer: LoadWriter,
    name: String,
    mut pages: mpsc::Receiver<BuiltPage>,
) -> Result<Duration, ResourceError> {
    let mut busy = Duration::ZERO;
    let mut pending = VecDeque::new();
    while let Some(page) = pages.recv().await {
        if let Some(why) = page.restart {
            writer.restart(name.clone(), why).await?;
            continue;
        }
        if pending.len() > WRITES_AHEAD
            && let Some(done) = pending.pop_front()
        {
            busy += appended(done).await?;
        }
        let job = writer
            .append_page(
                name.clone(),
                (page.batches, page.staged),
                page.records,
                (page.position, page.settled),
            )
            .await?;
        pending.push_back(job);
    }
    for done in pending {
        busy += appended(done).await?;
    }
    // The load holds rows back to append several pages at once: a failure to append this
    // resource's rows is reported here, as its own.
    busy += appended(writer.flush().await?).await?;
    Ok(busy)
}
