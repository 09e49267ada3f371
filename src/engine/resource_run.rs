//! Runs one resource through the stages: fetch + parse (async task, parsing on blocking workers)
//! → normalize (several pages at once on blocking workers) → build Arrow batches (one blocking
//! worker, in page order) → dedupe (DataFusion) → load (writer thread). Bounded channels and
//! buffers between them keep memory flat whatever the size of the resource.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::decode_stage::{DecodeError, PageDecoder};
use super::plan::ResourcePlan;
use crate::dedupe::{DedupeError, KeyLedger, latest_per_key_in_page};
use crate::hints::WriteDisposition;
use crate::source::Page;
use crate::source::rest::{FetchError, FetchInput, FetchOutcome, ParentRows};
use crate::state::CursorState;
use crate::warehouse::catalog::SchemaColumns;
use crate::warehouse::writer::Pending;
use crate::warehouse::{Load, ResourceCommit, Warehouse, WarehouseError};

/// Pages fetched ahead of decoding.
const PAGE_BUFFER: usize = 4;

/// Batches built ahead of the writer (a page makes one per table it touches).
const LOAD_BUFFER: usize = 16;

/// Batches queued on the writer thread beyond the one it is appending.
const WRITES_AHEAD: usize = 2;

/// Time spent in each stage of one resource, summed over its pages (and over workers, for the
/// stages that run several pages at once), for `-v` output.
#[derive(Debug, Default, Clone, Copy)]
struct StageTimes {
    /// Parsing response bodies.
    parse: Duration,
    /// Normalising records into rows.
    normalize: Duration,
    /// Building Arrow batches.
    build: Duration,
    /// Deduplicating merge batches in DataFusion.
    dedupe: Duration,
    /// Appending batches to the load's tables in DuckDB.
    load: Duration,
}

/// Runs `f`, returning how long it took with its result.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let out = f();
    (started.elapsed(), out)
}

/// Waits for an append queued on the writer; returns the writer's time on it.
async fn appended(
    job: Pending<(Duration, Result<(), ResourceError>)>,
) -> Result<Duration, ResourceError> {
    let (took, loaded) = job.result().await?;
    loaded.map(|()| took)
}

/// Queues `work` on the writer, on the open load of `dataset`, timed.
async fn on_load(
    warehouse: &Warehouse,
    dataset: &str,
    work: impl FnOnce(&mut Load) -> duckdb::Result<()> + Send + 'static,
) -> Result<Pending<(Duration, Result<(), ResourceError>)>, WarehouseError> {
    let dataset = dataset.to_string();
    warehouse
        .submit(move |w| {
            timed(|| match w.loads.get_mut(&dataset) {
                Some(load) => work(load).map_err(|e| match crate::warehouse::out_of_memory(&e) {
                    true => ResourceError::LoadOutOfMemory(e),
                    false => ResourceError::Load(e),
                }),
                None => Err(ResourceError::Warehouse(WarehouseError::NoLoad(dataset))),
            })
        })
        .await
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
}

/// Why a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A page could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Deduplication failed.
    #[error(transparent)]
    Dedupe(#[from] DedupeError),
    /// Appending rows to the warehouse failed.
    #[error("loading rows into the warehouse failed: {}", crate::warehouse::describe(.0))]
    Load(#[from] duckdb::Error),
    /// DuckDB's memory budget is too small even to append rows.
    #[error(
        "loading rows ran out of DuckDB's memory budget ({}); set DANGO_MEMORY_LIMIT higher \
         than the default {default} (for example 1GB) and sync again",
        crate::warehouse::describe(.0),
        default = crate::warehouse::DEFAULT_MEMORY_LIMIT
    )]
    LoadOutOfMemory(duckdb::Error),
    /// The writer is gone.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// A worker task died.
    #[error("internal error: a worker task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// What a resource run needs besides its plan.
pub struct RunInput<'a> {
    /// The load's id, stamped on root rows.
    pub load_id: &'a str,
    /// Current warehouse tables of the dataset, so types stay as they are.
    pub known: SchemaColumns,
    /// The writer.
    pub warehouse: &'a Warehouse,
    /// The dataset whose open load receives the rows.
    pub dataset: &'a str,
    /// Parent records' fields, for a dependent resource.
    pub parents: Option<ParentRows>,
    /// Fields of this resource's records that its dependents need.
    pub capture: Vec<String>,
    /// The resource's last committed cursor.
    pub saved: Option<CursorState>,
}

/// Fetches, decodes and loads `plan`'s rows into its dataset's open load; returns the commit
/// work, the report and the captured fields for dependent resources. Unselected resources are
/// fetched but not loaded.
pub async fn run_resource(
    plan: ResourcePlan,
    input: RunInput<'_>,
) -> Result<(ResourceCommit, ResourceReport, ParentRows), ResourceError> {
    let started = Instant::now();
    let hints = plan.hints.clone();
    let name = plan.fetcher.name.clone();
    let (pages_tx, mut pages_rx) = mpsc::channel::<Page>(PAGE_BUFFER);
    let fetch_input = FetchInput {
        parents: input.parents,
        capture: input.capture,
        saved: input.saved,
    };
    let fetch = tokio::spawn(plan.fetcher.fetch(fetch_input, pages_tx));
    let mut decoder = PageDecoder::new(hints.clone(), input.load_id, input.known);
    let normalizer = decoder.normalizer();
    let ctx = SessionContext::new();
    let dedupe = hints.write_disposition == WriteDisposition::Merge;
    let load = plan.selected;
    let (load_hints, warehouse, dataset) = (
        hints.clone(),
        input.warehouse.clone(),
        input.dataset.to_string(),
    );
    // Pages normalise independently, so several are normalised at once on blocking workers;
    // `buffered` hands them on in page order, which the type inference of `build` needs.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut normalized = futures::stream::poll_fn(move |cx| pages_rx.poll_recv(cx))
        .filter(move |_| std::future::ready(load))
        .map(move |page| {
            let mut normalizer = normalizer.clone();
            tokio::task::spawn_blocking(move || timed(|| normalizer.normalize(page)))
        })
        .buffered(workers);
    // The writer loads one page while the next is built: a bounded channel between them.
    let (batches_tx, mut batches_rx) = mpsc::channel::<(String, RecordBatch)>(LOAD_BUFFER);
    let writer = tokio::spawn(async move {
        let mut busy = Duration::ZERO;
        // Batches are queued before the previous one is in, so the writer never waits for
        // this task to hand it the next.
        let mut pending = VecDeque::new();
        while let Some((table, batch)) = batches_rx.recv().await {
            if pending.len() > WRITES_AHEAD
                && let Some(done) = pending.pop_front()
            {
                busy += appended(done).await?;
            }
            let job = on_load(&warehouse, &dataset, move |load| load.append(&table, batch));
            pending.push_back(job.await?);
        }
        for done in pending {
            busy += appended(done).await?;
        }
        // The load holds rows back to append several pages at once: a failure to append this
        // resource's rows is reported here, as its own.
        let flushed = on_load(&warehouse, &dataset, |load| load.flush()).await?;
        busy += appended(flushed).await?;
        Ok::<_, ResourceError>(busy)
    });
    let mut times = StageTimes::default();
    // Whether any key came in two batches, so the commit knows if it has duplicates to rank.
    let mut ledger = KeyLedger::default();
    let built = async {
        let hints = load_hints;
        while let Some(page) = normalized.next().await {
            let (took, page) = page?;
            times.normalize += took;
            let page = page?;
            let (back, (took, batches)) = tokio::task::spawn_blocking(move || {
                let batches = timed(|| decoder.build(page));
                (decoder, batches)
            })
            .await?;
            decoder = back;
            times.build += took;
            let mut batches = batches?;
            if dedupe {
                let started = Instant::now();
                let (root, key) = (&hints.table_name, &hints.primary_key);
                batches = latest_per_key_in_page(&ctx, batches, root, key).await?;
                if let Some((_, batch)) = batches.iter().find(|(t, _)| t == root) {
                    ledger.record(batch, key)?;
                }
                times.dedupe += started.elapsed();
            }
            for (table, batch) in batches {
                if batches_tx.send((table, batch)).await.is_err() {
                    // The writer stopped on an error, reported below.
                    return Ok(decoder);
                }
            }
        }
        Ok::<_, ResourceError>(decoder)
    }
    .await;
    drop(batches_tx);
    // Pages still coming go nowhere now: dropping their receiver stops the fetcher, which
    // would otherwise wait forever for room after a failed load or build.
    drop(normalized);
    let loaded = writer.await?;
    let fetched = fetch.await?;
    // A writer failure is the cause of any build failure that follows it (a closed channel).
    times.load = loaded?;
    let decoder = built?;
    let FetchOutcome {
        stats,
        captured,
        cursor,
    } = fetched?;
    let keys_unique = tokio::task::spawn_blocking(move || ledger.unique()).await?;
    let commit = ResourceCommit {
        hints: hints.clone(),
        tables: decoder.loaded_tables(),
        cursor,
        keys_unique,
    };
    times.parse = stats.parse;
    tracing::info!(
        resource = %name,
        parse = ?times.parse,
        normalize = ?times.normalize,
        build = ?times.build,
        dedupe = ?times.dedupe,
        load = ?times.load,
        "time per stage (summed over pages and workers)"
    );
    let report = ResourceReport {
        name,
        table: hints.table_name,
        pages: stats.pages,
        rows: stats.records,
        elapsed: started.elapsed(),
    };
    Ok((commit, report, captured))
}
