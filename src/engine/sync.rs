//! `sync`: each source loads in one transaction (see [`crate::warehouse::Load`]): every resource's
//! rows are appended as they arrive, then the commit applies the write dispositions. Up to
//! `parallel` resources run at once, across all sources; a dependent resource waits for its
//! parent. A source that fails leaves its tables exactly as they were; the others go on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{join_all, try_join_all};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::interrupt::{Interrupt, StopSignal};
use super::progress::ResourceProgress;
use super::resource_run::{
    ResourceError, ResourceReport, ResourceRun, Resumed, RunInput, run_resource,
};
use crate::hints::{CursorState, LoadId, WriteDisposition};
use crate::source::{CursorWindow, ParentRow, Resource, Source};
use crate::warehouse::catalog::SchemaColumns;
use crate::warehouse::checkpoints::Checkpoint;
use crate::warehouse::history::SyncRecord;
use crate::warehouse::{
    AppendError, BeginError, BeginOptions, Checkpointed, ChunkOptions, CommitError, LoadWriter,
    Warehouse,
};

/// Options of a sync run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Allow `replace` resources that return no rows to empty their tables.
    pub allow_empty_replace: bool,
    /// Drop each source's tables and cursors and load from scratch (in the commit).
    pub full_refresh: bool,
    /// Resources fetched and loaded at the same time, across all sources (default: one per
    /// CPU core).
    pub parallel: Option<usize>,
    /// Pulled by a signal (Ctrl-C, SIGTERM): every source not yet committing rolls back and
    /// reports [`SyncError::Interrupted`].
    pub interrupt: Interrupt,
    /// Load at most this many records per resource (trying a config); a limited run saves no
    /// cursor, so the next full sync starts where it would have.
    pub limit: Option<usize>,
    /// Where to report progress, if anywhere.
    pub progress: Option<super::Progress>,
    /// The range of every incremental cursor to load in this run (`--since`, `--until`,
    /// `--backfill`).
    pub window: Option<CursorWindow>,
}

impl SyncOptions {
    /// Resources fetched at once: `parallel`, else one per CPU core.
    pub fn workers(&self) -> usize {
        self.parallel
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }
}

/// Why a source loaded nothing; its tables and state are as they were.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The sync was interrupted (Ctrl-C, SIGTERM) before the source committed.
    #[error("interrupted ({0}): rolled back")]
    Interrupted(StopSignal),
    /// The load could not begin.
    #[error(transparent)]
    Begin(#[from] BeginError),
    /// A resource failed.
    #[error("resource `{resource}`: {error}")]
    Resource {
        /// The resource.
        resource: String,
        /// What went wrong.
        error: ResourceError,
    },
    /// The commit was refused (e.g. a `replace` that would empty a table) or failed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The load's tables could not be read.
    #[error(transparent)]
    Warehouse(#[from] AppendError),
    /// `--limit` on a resource whose table a partial load would damage.
    #[error(
        "--limit cannot load resource `{resource}`: {why}. Nothing was loaded; sync it without \
         --limit, or try the config with `dango source test`"
    )]
    LimitWouldDamage {
        /// The resource.
        resource: String,
        /// What a partial load would do to its table.
        why: String,
    },
    /// A resource detects deletes by absence but reads only part of its collection.
    #[error(
        "resource `{0}` detects deletes by absence but loads incrementally: every record not \
         changed since the last sync would be deleted. Nothing was loaded; drop one of the two"
    )]
    DeletesOfIncremental(String),
}

/// The outcome of one source.
#[derive(Debug)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Warehouse schema.
    pub dataset: String,
    /// The load id, when the source committed.
    pub load_id: Option<LoadId>,
    /// Per-resource reports (of resources that finished loading).
    pub resources: Vec<ResourceReport>,
    /// The error that stopped the source, if any.
    pub error: Option<SyncError>,
    /// The error as it may be shown, logged or recorded: the warehouse's secrets (a catalog
    /// password in a connection error) scrubbed, whichever stage raised it.
    pub message: Option<String>,
    /// What its checkpoints committed before an error stopped it: the next sync resumes there.
    pub checkpointed: Checkpointed,
    /// Wall time.
    pub elapsed: Duration,
    /// When it started.
    pub started_at: std::time::SystemTime,
}

/// Syncs `sources` into `warehouse`; reports come back in the order the sources were given.
pub async fn sync(
    warehouse: &Warehouse,
    sources: Vec<Source>,
    options: &SyncOptions,
) -> Vec<SourceReport> {
    let permits = Arc::new(Semaphore::new(options.workers()));
    // A dataset has one load transaction at a time: sources sharing one run one after another.
    let mut groups: Vec<Vec<(usize, Source)>> = Vec::new();
    for (i, source) in sources.into_iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| g[0].1.dataset() == source.dataset())
        {
            Some(group) => group.push((i, source)),
            None => groups.push(vec![(i, source)]),
        }
    }
    let runs = groups.into_iter().map(|group| {
        let permits = permits.clone();
        async move {
            let mut reports = Vec::new();
            for (i, source) in group {
                let span = tracing::info_span!("source", name = %source.name());
                let report = sync_source(warehouse, source, options, &permits)
                    .instrument(span)
                    .await;
                reports.push((i, report));
            }
            reports
        }
    });
    let mut reports: Vec<(usize, SourceReport)> =
        join_all(runs).await.into_iter().flatten().collect();
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

async fn sync_source(
    warehouse: &Warehouse,
    source: Source,
    options: &SyncOptions,
    permits: &Semaphore,
) -> SourceReport {
    let started = Instant::now();
    let mut report = SourceReport {
        name: source.name().to_string(),
        dataset: source.dataset().to_string(),
        load_id: None,
        resources: Vec::new(),
        error: None,
        message: None,
        checkpointed: Checkpointed::default(),
        elapsed: Duration::ZERO,
        started_at: std::time::SystemTime::now(),
    };
    let started_at = chrono::Utc::now();
    match load_and_commit(warehouse, source, options, permits, &mut report).await {
        Ok(load_id) => report.load_id = Some(load_id),
        Err(e) => {
            report.message = Some(warehouse.redact(&e.to_string()));
            report.error = Some(e);
        }
    }
    report.elapsed = started.elapsed();
    // Recorded after the commit or rollback, in a transaction of its own: a failed sync stays in
    // the history though its rows are gone. A history that cannot be written loses no data.
    if let Err(e) = warehouse
        .record_sync(history_record(&report, started_at))
        .await
    {
        tracing::warn!(source = %report.name, "{e}");
    }
    report
}

/// The history row of a finished source.
fn history_record(report: &SourceReport, started_at: chrono::DateTime<chrono::Utc>) -> SyncRecord {
    let status = match &report.error {
        None => "ok",
        Some(SyncError::Interrupted(_)) => "interrupted",
        Some(_) => "failed",
    };
    let committed = report.error.is_none();
    let resources: Vec<serde_json::Value> = report
        .resources
        .iter()
        .map(|r| {
            let mut row = serde_json::json!({
                "resource": r.name,
                "tables": r.table,
                "pages": r.pages,
                "rows": if committed { r.rows } else { 0 },
                "filtered": r.dropped.filtered,
                "discarded": r.dropped.discarded,
            });
            if let Some(deleted) = r.deleted.filter(|_| committed) {
                row["deleted"] = serde_json::json!(deleted);
            }
            if let Some(resumed) = &r.resumed {
                row["resumed"] = serde_json::json!({
                    "rows": resumed.rows,
                    "pages": resumed.pages,
                    "checkpoint_at": resumed.at,
                    "finished_before": resumed.done,
                });
            }
            row
        })
        .collect();
    let rows = match committed {
        true => report.resources.iter().map(|r| r.rows as i64).sum(),
        false => i64::try_from(report.checkpointed.rows).unwrap_or(i64::MAX),
    };
    let iso =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    SyncRecord {
        source: report.name.clone(),
        dataset: report.dataset.clone(),
        load_id: report.load_id.as_ref().map(LoadId::to_string),
        started_at: iso(started_at),
        finished_at: iso(chrono::Utc::now()),
        status: status.to_string(),
        rows,
        resources: serde_json::Value::Array(resources),
        error: report
            .message
            .as_ref()
            .map(|m| match report.checkpointed.chunks {
                0 => m.clone(),
                n => format!(
                    "stopped after {n} checkpoint(s) had committed {} rows (the next sync resumes \
                 there): {m}",
                    report.checkpointed.rows
                ),
            }),
    }
}

/// What every resource of one source's load shares.
struct LoadContext<'a> {
    load_id: LoadId,
    writer: LoadWriter,
    known: SchemaColumns,
    cursors: HashMap<String, CursorState>,
    /// Where an interrupted sync's checkpoints left each resource.
    checkpoints: HashMap<String, Checkpoint>,
    permits: &'a Semaphore,
    limit: Option<usize>,
    progress: Option<super::Progress>,
    source: String,
    window: Option<CursorWindow>,
}

/// Loads `source` in one transaction and commits it, unless a resource fails or the sync is
/// cancelled first.
async fn load_and_commit(
    warehouse: &Warehouse,
    source: Source,
    options: &SyncOptions,
    permits: &Semaphore,
    report: &mut SourceReport,
) -> Result<LoadId, SyncError> {
    if options.limit.is_some() {
        refuse_damaging_limit(&source)?;
    }
    // Configs are validated against this already; resources built in code are not.
    let resources = source.resources().iter();
    if let Some(r) = resources
        .filter(|r| r.selected() && r.incremental())
        .find(|r| r.hints().merge.deletes.is_some())
    {
        return Err(SyncError::DeletesOfIncremental(r.name().to_string()));
    }
    let begin = BeginOptions {
        full_refresh: options.full_refresh,
        chunks: ChunkOptions {
            // A limited run or a range loads part of what an interrupted sync was loading:
            // it neither resumes nor clears its checkpoints; a backfill cut into windows is
            // resumable itself. A full refresh is one transaction, or readers would see the
            // dataset half dropped.
            enabled: options.limit.is_none()
                && options.window.as_ref().is_none_or(|w| w.split.is_some())
                && !options.full_refresh,
            schema_name: source.name().to_string(),
            allow_empty_replace: options.allow_empty_replace,
        },
    };
    let load = warehouse.begin(source.dataset(), begin).await?;
    let ctx = LoadContext {
        load_id: load.load_id().clone(),
        writer: load.writer(),
        known: load.before().clone(),
        cursors: load.cursors().clone(),
        checkpoints: load.checkpoints().clone(),
        permits,
        limit: options.limit,
        progress: options.progress.clone(),
        source: source.name().to_string(),
        window: options.window.clone(),
    };
    let loaded = tokio::select! {
        loaded = load_resources(&ctx, source.into_resources()) => loaded,
        by = options.interrupt.interrupted() => Err(SyncError::Interrupted(by)),
    };
    // Past this point the commit runs whole: a Ctrl-C during it does not undo it.
    let loaded = loaded.and_then(|runs| match options.interrupt.by() {
        Some(by) => Err(SyncError::Interrupted(by)),
        None => Ok(runs),
    });
    let runs = match loaded {
        Ok(runs) => runs,
        Err(e) => {
            report.checkpointed = load.roll_back().await;
            return Err(e);
        }
    };
    for run in runs.into_iter().filter(|r| r.selected) {
        report.resources.push(run.run.report);
    }
    let committed = load.commit().await?;
    for r in &mut report.resources {
        r.deleted = committed.deleted.get(&r.table).copied();
    }
    Ok(committed.load_id)
}

/// `--limit` loads part of each resource and saves no cursor: harmless where the rest can
/// follow (merge replaces by key; a plain append loads everything each run anyway), but it
/// would cut a `replace` table to the limited rows, an incremental append would load the
/// limited rows a second time in the next sync, and a merge that takes what did not come as
/// gone (deletes by absence, a full-load scd2) would delete or retire the rest.
fn refuse_damaging_limit(source: &Source) -> Result<(), SyncError> {
    for r in source.resources().iter().filter(|r| r.selected()) {
        // A Python resource writes several tables, each with its own disposition.
        for hints in r.tables() {
            let table = &hints.table_name;
            let merge = &hints.merge;
            let why = match hints.write_disposition {
                WriteDisposition::Merge if merge.deletes.is_some() => format!(
                    "it deletes the rows of `{table}` whose key did not come (deletes: absent), \
                     so it would delete every record past the limit"
                ),
                WriteDisposition::Merge if merge.is_scd2() && hints.merge_key.is_empty() => {
                    format!(
                        "scd2 retires the versions in `{table}` that did not come, so it would \
                         retire every record past the limit"
                    )
                }
                WriteDisposition::Replace => {
                    format!(
                        "its table `{table}` is replaced, so it would keep only the limited rows"
                    )
                }
                WriteDisposition::Append if r.incremental() => format!(
                    "it appends to `{table}` from an incremental cursor that a limited run does \
                     not save, so the next sync would load the limited rows again"
                ),
                _ => continue,
            };
            return Err(SyncError::LimitWouldDamage {
                resource: r.name().to_string(),
                why,
            });
        }
    }
    Ok(())
}

/// One finished resource of a load, in the source's order.
struct Loaded {
    name: String,
    selected: bool,
    run: ResourceRun,
}

/// Loads all resources of a source: each wave holds the resources whose parents are done.
/// Returns them in the source's order, whatever order they finished in.
async fn load_resources(
    ctx: &LoadContext<'_>,
    resources: Vec<Box<dyn Resource>>,
) -> Result<Vec<Loaded>, SyncError> {
    let order: Vec<String> = resources.iter().map(|r| r.name().to_string()).collect();
    // Fields each parent must capture for the resources that depend on it.
    let mut needs: HashMap<String, Vec<String>> = HashMap::new();
    for r in &resources {
        if let Some(parent) = r.parent() {
            let fields = needs.entry(parent.resource.clone()).or_default();
            fields.extend(parent.fields.iter().cloned());
            fields.sort();
            fields.dedup();
        }
    }
    let mut parent_rows: HashMap<String, Vec<ParentRow>> = HashMap::new();
    let mut pending = resources;
    let mut loaded: Vec<Loaded> = Vec::new();
    while !pending.is_empty() {
        let (wave, rest) = next_wave(pending, &parent_rows);
        pending = rest;
        if wave.is_empty() {
            // Cannot happen: sources order parents first, so the first pending resource's
            // parent ran in an earlier wave, and no resource before it is pending.
            break;
        }
        let runs = wave.into_iter().map(|resource| {
            let parents = resource
                .parent()
                .map(|p| parent_rows.get(&p.resource).cloned().unwrap_or_default());
            let capture = needs.get(resource.name()).cloned().unwrap_or_default();
            let shared = loaded.iter().any(|l| {
                l.selected
                    && l.run
                        .commits
                        .iter()
                        .any(|c| c.hints.table_name == resource.hints().table_name)
            });
            let parent = needs.contains_key(resource.name());
            load_one(ctx, resource, parents, capture, shared, parent)
        });
        for mut done in try_join_all(runs).await? {
            if needs.contains_key(&done.name) {
                parent_rows.insert(done.name.clone(), std::mem::take(&mut done.run.captured));
            }
            loaded.push(done);
        }
    }
    loaded.sort_by_key(|l| order.iter().position(|n| n == &l.name));
    Ok(loaded)
}

/// Resources of one source, to run.
type Resources = Vec<Box<dyn Resource>>;

/// Splits `pending` into the resources that can run now and the rest. A resource runs once its
/// parent is done and no resource before it loads the same table: resources sharing a table
/// load one after another, each seeing the columns the one before it made.
fn next_wave(
    pending: Resources,
    parent_rows: &HashMap<String, Vec<ParentRow>>,
) -> (Resources, Resources) {
    let (mut wave, mut rest): (Resources, Resources) = (Vec::new(), Vec::new());
    for r in pending {
        let parent_done = r
            .parent()
            .is_none_or(|p| parent_rows.contains_key(&p.resource));
        let table = &r.hints().table_name;
        let table_busy = r.selected()
            && wave
                .iter()
                .chain(&rest)
                .any(|o| o.selected() && &o.hints().table_name == table);
        if parent_done && !table_busy {
            wave.push(r);
        } else {
            rest.push(r);
        }
    }
    (wave, rest)
}

/// Runs one resource into the load. A resource whose table an earlier resource of the load
/// already `shared` builds on the table as that one left it, not as it was before the load. A
/// `parent` (others run once per record of it) hands the load the fields they need of its
/// records with its commit work, so its checkpoint can feed them after a kill; it is not
/// checkpointed while it runs, as those fields would be lost. A resource the interrupted sync
/// finished is not run again.
async fn load_one(
    ctx: &LoadContext<'_>,
    resource: Box<dyn Resource>,
    parents: Option<Vec<ParentRow>>,
    capture: Vec<String>,
    shared: bool,
    parent: bool,
) -> Result<Loaded, SyncError> {
    let name = resource.name().to_string();
    let selected = resource.selected();
    let progress = ResourceProgress::new(ctx.progress.as_ref(), &ctx.source, &name);
    let checkpoint = ctx.checkpoints.get(&name);
    // A parent whose checkpoint lacks its records' fields (written before they were kept)
    // runs again rather than feed its dependents nothing.
    if let Some(done) = checkpoint.filter(|c| c.done() && (!parent || c.parent_rows.is_some())) {
        return Ok(Loaded::finished_earlier(resource.as_ref(), done));
    }
    // The semaphore is never closed.
    let _permit = ctx.permits.acquire().await.ok();
    let known = match shared {
        false => ctx.known.clone(),
        true => ctx.writer.columns().await?,
    };
    let resumable =
        selected && !parent && resource.hints().write_disposition != WriteDisposition::Replace;
    let every = resource.checkpoint_every().filter(|_| resumable);
    let hints = resource.hints().clone();
    ctx.writer.start(name.clone(), hints, every).await?;
    let resume = checkpoint.and_then(|c| c.position.clone());
    if let Some(c) = checkpoint.filter(|_| resume.is_some()) {
        tracing::info!(
            resource = %name,
            "resuming after page {} — checkpoint of {}, {} rows",
            c.pages, c.at, c.rows
        );
        progress.resumed(c.pages, c.rows, &c.at);
    }
    let input = RunInput {
        load_id: &ctx.load_id,
        known,
        writer: ctx.writer.clone(),
        parents,
        capture,
        saved: ctx.cursors.get(&name).cloned(),
        limit: ctx.limit,
        window: ctx.window.clone(),
        resume,
        progress: progress.clone(),
    };
    progress.started();
    let run = run_resource(resource, input).await;
    progress.finished(run.as_ref().map_or(0, |r| r.report.rows), run.is_ok());
    let mut run = run.map_err(|error| SyncError::Resource {
        resource: name.clone(),
        error,
    })?;
    if let Some(c) = checkpoint {
        run.report.resumed = Some(Resumed::from(c));
    }
    let parent_rows = parent.then(|| run.captured.clone());
    ctx.writer
        .finish(name.clone(), run.commits.clone(), parent_rows)
        .await?;
    Ok(Loaded {
        name,
        selected,
        run,
    })
}

impl Loaded {
    /// A resource the interrupted sync finished (its rows and cursor are committed): reported
    /// as its checkpoint says, not run again.
    fn finished_earlier(resource: &dyn Resource, done: &Checkpoint) -> Self {
        let report = ResourceReport {
            name: resource.name().to_string(),
            table: resource.hints().table_name.clone(),
            pages: 0,
            rows: 0,
            elapsed: Duration::ZERO,
            limited: false,
            dropped: Default::default(),
            resumed: Some(Resumed::from(done)),
            restarted: None,
            note: None,
            deleted: None,
            http: crate::source::HttpCounts::default(),
            started_at: std::time::SystemTime::now(),
        };
        Self {
            name: resource.name().to_string(),
            selected: resource.selected(),
            run: ResourceRun {
                commits: Vec::new(),
                report,
                captured: done.parent_rows.clone().unwrap_or_default(),
            },
        }
    }
}
