//! `sync`: for each planned source, stage every resource, then commit the source in one
//! transaction. A source that fails leaves its tables exactly as they were; the others go on.

use std::time::{Duration, Instant};

use tracing::Instrument;

use super::plan::SourcePlan;
use std::collections::HashMap;

use super::resource_run::{ResourceReport, RunInput, run_resource};
use crate::hints::LoadId;
use crate::source::rest::ParentRows;
use crate::warehouse::catalog::schema_columns;
use crate::warehouse::{CommitPlan, Warehouse, staging_schema};

/// Options of a sync run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Allow `replace` resources that return no rows to empty their tables.
    pub allow_empty_replace: bool,
    /// Drop each source's tables and cursors and load from scratch (in the commit).
    pub full_refresh: bool,
}

/// The outcome of one source.
#[derive(Debug)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Warehouse schema.
    pub dataset: String,
    /// The load id, when the source committed.
    pub load_id: Option<String>,
    /// Per-resource reports (of resources that finished staging).
    pub resources: Vec<ResourceReport>,
    /// The error that stopped the source, if any.
    pub error: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Syncs `sources` into `warehouse`, one after the other.
pub async fn sync(
    warehouse: &Warehouse,
    sources: Vec<SourcePlan>,
    options: &SyncOptions,
) -> Vec<SourceReport> {
    let mut reports = Vec::new();
    for source in sources {
        let span = tracing::info_span!("source", name = %source.name);
        reports.push(
            sync_source(warehouse, source, options)
                .instrument(span)
                .await,
        );
    }
    reports
}

async fn sync_source(
    warehouse: &Warehouse,
    source: SourcePlan,
    options: &SyncOptions,
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
    match stage_and_commit(warehouse, source, options, &mut report).await {
        Ok(load_id) => report.load_id = Some(load_id),
        Err(e) => report.error = Some(e),
    }
    report.elapsed = started.elapsed();
    report
}

async fn stage_and_commit(
    warehouse: &Warehouse,
    source: SourcePlan,
    options: &SyncOptions,
    report: &mut SourceReport,
) -> Result<String, String> {
    let load_id = LoadId::new();
    let dataset = source.dataset.clone();
    let staging = staging_schema(&dataset);
    let (ds, stg) = (dataset.clone(), staging.clone());
    let (known, cursors) = warehouse
        .run(move |w| {
            w.staging.reset(&w.conn, &stg)?;
            Ok::<_, duckdb::Error>((
                schema_columns(&w.conn, &ds)?,
                crate::state::load(&w.conn, &ds)?,
            ))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading the warehouse failed: {e}"))?;
    // Fields each parent must capture for the resources that depend on it.
    let mut needs: HashMap<String, Vec<String>> = HashMap::new();
    for r in &source.resources {
        if let Some(parent) = r.fetcher.parent() {
            needs
                .entry(parent.to_string())
                .or_default()
                .extend(r.fetcher.parent_fields());
        }
    }
    let mut parent_rows: HashMap<String, ParentRows> = HashMap::new();
    let mut commits = Vec::new();
    for resource in source.resources {
        let name = resource.fetcher.name.clone();
        let selected = resource.selected;
        let parents = resource
            .fetcher
            .parent()
            .map(|p| parent_rows.get(p).cloned().unwrap_or_default());
        let mut capture = needs.get(&name).cloned().unwrap_or_default();
        capture.sort();
        capture.dedup();
        let input = RunInput {
            load_id: load_id.as_str(),
            known: if options.full_refresh {
                Default::default()
            } else {
                known.clone()
            },
            warehouse,
            staging: &staging,
            parents,
            capture,
            saved: if options.full_refresh {
                None
            } else {
                cursors.get(&name).cloned()
            },
        };
        let (commit, resource_report, captured) = run_resource(resource, input)
            .await
            .map_err(|e| format!("resource `{name}`: {e}"))?;
        if needs.contains_key(&name) {
            parent_rows.insert(name, captured);
        }
        if selected {
            commits.push(commit);
            report.resources.push(resource_report);
        }
    }
    let plan = CommitPlan {
        dataset,
        staging: staging.clone(),
        load_id: load_id.to_string(),
        schema_name: source.name.clone(),
        resources: commits,
        allow_empty_replace: options.allow_empty_replace,
        full_refresh: options.full_refresh,
    };
    warehouse
        .run(move |w| {
            crate::warehouse::commit::commit(&mut w.conn, &plan)?;
            // The load is committed; staging is only scratch space from here on.
            w.staging
                .drop_schema(&w.conn, &plan.staging)
                .map_err(Into::into)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e: crate::warehouse::CommitError| e.to_string())?;
    Ok(load_id.to_string())
}
