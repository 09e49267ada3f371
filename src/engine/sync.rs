//! `sync`: each source loads in one transaction (see [`crate::warehouse::Load`]): every resource's
//! rows are appended as they arrive, then the commit applies the write dispositions. Up to
//! `parallel` resources run at once, across all sources; a dependent resource waits for its
//! parent. A source that fails leaves its tables exactly as they were; the others go on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{join_all, try_join_all};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::plan::{ResourcePlan, SourcePlan};
use super::resource_run::{ResourceReport, RunInput, run_resource};
use crate::hints::LoadId;
use crate::hints::WriteDisposition;
use crate::source::rest::ParentRows;
use crate::state::CursorState;
use crate::warehouse::catalog::{SchemaColumns, schema_columns};
use crate::warehouse::{CommitPlan, Load, ResourceCommit, Warehouse, WarehouseError};

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
    /// Cancelled (on Ctrl-C): every source not yet committing rolls back and reports
    /// [`INTERRUPTED`].
    pub cancel: CancellationToken,
}

/// The error of a source rolled back because the sync was cancelled.
pub const INTERRUPTED: &str = "interrupted (Ctrl-C): rolled back";

/// The outcome of one source.
#[derive(Debug)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Warehouse schema.
    pub dataset: String,
    /// The load id, when the source committed.
    pub load_id: Option<String>,
    /// Per-resource reports (of resources that finished loading).
    pub resources: Vec<ResourceReport>,
    /// The error that stopped the source, if any.
    pub error: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Syncs `sources` into `warehouse`; reports come back in the order the sources were given.
pub async fn sync(
    warehouse: &Warehouse,
    sources: Vec<SourcePlan>,
    options: &SyncOptions,
) -> Vec<SourceReport> {
    let parallel = options
        .parallel
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let permits = Arc::new(Semaphore::new(parallel.max(1)));
    // A dataset has one load transaction at a time: sources sharing one run one after another.
    let mut groups: Vec<Vec<(usize, SourcePlan)>> = Vec::new();
    for (i, source) in sources.into_iter().enumerate() {
        match groups.iter_mut().find(|g| g[0].1.dataset == source.dataset) {
            Some(group) => group.push((i, source)),
            None => groups.push(vec![(i, source)]),
        }
    }
    let runs = groups.into_iter().map(|group| {
        let permits = permits.clone();
        async move {
            let mut reports = Vec::new();
            for (i, source) in group {
                let span = tracing::info_span!("source", name = %source.name);
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
    source: SourcePlan,
    options: &SyncOptions,
    permits: &Semaphore,
) -> SourceReport {
    let started = Instant::now();
    let mut report = SourceReport {
        name: source.name.clone(),
        dataset: source.dataset.clone(),
        load_id: None,
        resources: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
    };
    match load_and_commit(warehouse, source, options, permits, &mut report).await {
        Ok(load_id) => report.load_id = Some(load_id),
        Err(e) => report.error = Some(e),
    }
    report.elapsed = started.elapsed();
    report
}

/// What every resource of one source's load shares.
struct LoadContext<'a> {
    load_id: LoadId,
    dataset: String,
    known: SchemaColumns,
    cursors: HashMap<String, CursorState>,
    warehouse: &'a Warehouse,
    permits: &'a Semaphore,
}

async fn load_and_commit(
    warehouse: &Warehouse,
    source: SourcePlan,
    options: &SyncOptions,
    permits: &Semaphore,
    report: &mut SourceReport,
) -> Result<String, String> {
    let dataset = source.dataset.clone();
    // `replace` resources start from empty tables: emptied inside the load, so a failure brings
    // their rows back.
    let replaced: Vec<String> = source
        .resources
        .iter()
        .filter(|r| r.selected && r.hints.write_disposition == WriteDisposition::Replace)
        .map(|r| r.hints.table_name.clone())
        .collect();
    let (ds, full_refresh) = (dataset.clone(), options.full_refresh);
    let (known, cursors) = warehouse
        .run(move |w| {
            let mut load = Load::begin(&w.conn, &ds, full_refresh)?;
            for root in &replaced {
                load.replace(root)?;
            }
            // Read inside the load: after a full refresh there are no tables and no cursors.
            let known = load.before().clone();
            let cursors = crate::state::load(load.conn(), &ds)?;
            w.loads.insert(ds, load);
            Ok::<_, duckdb::Error>((known, cursors))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| {
            let e = crate::warehouse::describe(&e);
            format!("starting the load in the warehouse failed: {e}")
        })?;
    let ctx = LoadContext {
        load_id: LoadId::new(),
        dataset: dataset.clone(),
        known,
        cursors,
        warehouse,
        permits,
    };
    let order: Vec<String> = source
        .resources
        .iter()
        .map(|r| r.fetcher.name.clone())
        .collect();
    let loaded = tokio::select! {
        loaded = load_resources(&ctx, source.resources) => loaded,
        () = options.cancel.cancelled() => Err(INTERRUPTED.to_string()),
    };
    // Past this point the commit runs whole: a Ctrl-C during it does not undo it.
    let loaded = loaded.and_then(|results| match options.cancel.is_cancelled() {
        true => Err(INTERRUPTED.to_string()),
        false => Ok(results),
    });
    let mut results = match loaded {
        Ok(results) => results,
        Err(e) => {
            // Dropping the load rolls it back: the warehouse is as it was.
            let ds = dataset.clone();
            let _ = warehouse.run(move |w| w.roll_back(&ds)).await;
            return Err(e);
        }
    };
    // Commit in config order, whatever order the resources finished in.
    results.sort_by_key(|(name, ..)| order.iter().position(|n| n == name));
    let mut commits = Vec::new();
    for (_, selected, commit, resource_report) in results {
        if selected {
            commits.push(commit);
            report.resources.push(resource_report);
        }
    }
    let load_id = ctx.load_id.to_string();
    let plan = CommitPlan {
        load_id: load_id.clone(),
        schema_name: source.name.clone(),
        resources: commits,
        allow_empty_replace: options.allow_empty_replace,
    };
    warehouse
        .run(move |w| w.commit(&dataset, &plan))
        .await
        .map_err(|e| e.to_string())??;
    Ok(load_id)
}

type Loaded = (String, bool, ResourceCommit, ResourceReport);

/// Loads all resources of a source: each wave holds the resources whose parents are done.
async fn load_resources(
    ctx: &LoadContext<'_>,
    resources: Vec<ResourcePlan>,
) -> Result<Vec<Loaded>, String> {
    // Fields each parent must capture for the resources that depend on it.
    let mut needs: HashMap<String, Vec<String>> = HashMap::new();
    for r in &resources {
        if let Some(parent) = r.fetcher.parent() {
            needs
                .entry(parent.to_string())
                .or_default()
                .extend(r.fetcher.parent_fields());
        }
    }
    let mut parent_rows: HashMap<String, ParentRows> = HashMap::new();
    let mut pending = resources;
    let mut loaded = Vec::new();
    while !pending.is_empty() {
        // A resource runs once its parent is done and no resource before it loads the same
        // table: resources sharing a table load one after another, each seeing the columns
        // the one before it made.
        let (mut wave, mut rest) = (Vec::new(), Vec::new());
        for r in pending {
            let parent_done = r
                .fetcher
                .parent()
                .is_none_or(|p| parent_rows.contains_key(p));
            let table_busy = r.selected
                && wave
                    .iter()
                    .chain(&rest)
                    .any(|o: &ResourcePlan| o.selected && o.hints.table_name == r.hints.table_name);
            if parent_done && !table_busy {
                wave.push(r);
            } else {
                rest.push(r);
            }
        }
        pending = rest;
        if wave.is_empty() {
            // Planning orders parents first, so this means a parent failed to run.
            return Err("a dependent resource's parent did not run".into());
        }
        let runs = wave.into_iter().map(|resource| {
            let name = resource.fetcher.name.clone();
            let parents = resource
                .fetcher
                .parent()
                .map(|p| parent_rows.get(p).cloned().unwrap_or_default());
            let mut capture = needs.get(&name).cloned().unwrap_or_default();
            capture.sort();
            capture.dedup();
            let shared = loaded
                .iter()
                .any(|(_, _, c, _): &Loaded| c.hints.table_name == resource.hints.table_name);
            load_one(ctx, resource, parents, capture, shared)
        });
        for (name, selected, commit, report, captured) in try_join_all(runs).await? {
            if needs.contains_key(&name) {
                parent_rows.insert(name.clone(), captured);
            }
            loaded.push((name, selected, commit, report));
        }
    }
    Ok(loaded)
}

/// Runs one resource into the load. A resource whose table an earlier resource of the load
/// already `shared` builds on the table as that one left it, not as it was before the load.
async fn load_one(
    ctx: &LoadContext<'_>,
    resource: ResourcePlan,
    parents: Option<ParentRows>,
    capture: Vec<String>,
    shared: bool,
) -> Result<(String, bool, ResourceCommit, ResourceReport, ParentRows), String> {
    let name = resource.fetcher.name.clone();
    let selected = resource.selected;
    let _permit = ctx.permits.acquire().await.map_err(|e| e.to_string())?;
    let known = match shared {
        false => ctx.known.clone(),
        true => {
            let ds = ctx.dataset.clone();
            ctx.warehouse
                .run(move |w| match w.loads.get(&ds) {
                    Some(load) => schema_columns(load.conn(), &ds).map_err(|e| e.to_string()),
                    None => Err(WarehouseError::NoLoad(ds).to_string()),
                })
                .await
                .map_err(|e| e.to_string())??
        }
    };
    let input = RunInput {
        load_id: ctx.load_id.as_str(),
        known,
        warehouse: ctx.warehouse,
        dataset: &ctx.dataset,
        parents,
        capture,
        saved: ctx.cursors.get(&name).cloned(),
    };
    let (commit, report, captured) = run_resource(resource, input)
        .await
        .map_err(|e| format!("resource `{name}`: {e}"))?;
    Ok((name, selected, commit, report, captured))
}
