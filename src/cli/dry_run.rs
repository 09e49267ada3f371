//! `dango sync --dry-run`: what a sync would do, without sending a request or writing anything:
//! each source and resource, its table and write disposition, where its cursor starts, the first
//! request it would send, the range or the backfill's windows `--since`/`--window` give it, and
//! what `--full-refresh` would drop.

use std::process::ExitCode;

use crate::hints::{CursorState, DeleteMode, MergeStrategy, TableHints, WriteDisposition};
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, ProjectLayout, plan};
use crate::source::{CursorWindow, plan_windows};
use crate::warehouse::catalog::schema_columns;
use crate::warehouse::cursors;

/// Prints the plan of syncing `sources` (all enabled if empty), over `window` if given.
pub fn run(
    layout: &ProjectLayout,
    sources: &[String],
    full_refresh: bool,
    window: Option<&CursorWindow>,
) -> anyhow::Result<ExitCode> {
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    let planned = plan(layout, &file, sources, &creds, 1)?;
    let conn = super::warehouse(layout)?.open_read_only()?;
    for source in &planned {
        let dataset = source.dataset();
        outln!("source {} → {dataset}", source.name());
        let saved = conn
            .as_ref()
            .and_then(|c| cursors::load(c, dataset).ok())
            .unwrap_or_default();
        for resource in source.resources() {
            outln!("  resource {}", resource.name());
            for table in resource.tables() {
                outln!(
                    "    → {dataset}.{}: {}",
                    table.table_name,
                    disposition(table)
                );
            }
            let cursor = saved.get(resource.name());
            if let Some(c) = cursor.filter(|c| !c.cursor_path.is_empty()) {
                outln!("    cursor {} from {}", c.cursor_path, c.last_value);
            }
            if let Some(window) = window.filter(|_| resource.incremental()) {
                outln!("    {}", range_plan(window, cursor));
            }
            if let Some(first) = resource.first_request(cursor) {
                outln!("    first request: {first}");
            }
        }
        let existing = conn
            .as_ref()
            .and_then(|c| schema_columns(c, dataset).ok())
            .map(|t| {
                t.keys()
                    .filter(|n| !n.starts_with("_dlt_") && !n.starts_with("_dango"))
                    .count()
            })
            .unwrap_or(0);
        match full_refresh {
            true => {
                outln!("  --full-refresh: drops {dataset} ({existing} tables) and its cursors")
            }
            false => {
                outln!("  --full-refresh would drop {dataset} ({existing} tables) and its cursors")
            }
        }
    }
    outln!("Dry run: no request was sent and nothing was written.");
    Ok(ExitCode::SUCCESS)
}

/// What `--since`/`--until`/`--window` make of a resource's run: its range, or the windows a
/// backfill would load (without the ranges `saved` says it loaded already).
fn range_plan(window: &CursorWindow, saved: Option<&CursorState>) -> String {
    let bound = |v: &Option<serde_json::Value>| v.as_ref().map_or("…".into(), |v| v.to_string());
    let range = format!("{} .. {}", bound(&window.since), bound(&window.until));
    let (Some(split), Some(since), Some(until)) = (window.split, &window.since, &window.until)
    else {
        return format!("range {range} (the saved cursor is left as it was)");
    };
    let done = saved.map(|s| s.backfilled.as_slice()).unwrap_or_default();
    match plan_windows(since, until, split.step, done) {
        Ok(windows) => format!(
            "backfill {range}: {} window(s) of {} to load, {} at once",
            windows.len(),
            split.step,
            split.parallel
        ),
        Err(e) => format!("backfill {range}: {e}"),
    }
}

/// How a table is written, as the plan shows it: `merge (scd2) on id, deletes absent (soft,
/// at most 50% a sync)`.
fn disposition(table: &TableHints) -> String {
    let mut out = table.write_disposition.to_string();
    if table.write_disposition != WriteDisposition::Merge {
        return out;
    }
    if table.merge.strategy != MergeStrategy::DeleteInsert {
        out += &format!(" ({})", table.merge.strategy.as_str());
    }
    if !table.primary_key.is_empty() {
        out += &format!(" on {}", table.primary_key.join(", "));
    }
    if let Some(d) = table.merge.deletes {
        let mode = match d.mode {
            DeleteMode::Hard => "hard",
            DeleteMode::Soft => "soft",
        };
        out += &format!(
            ", deletes absent ({mode}, at most {}% a sync)",
            (d.max_ratio * 100.0).round()
        );
    }
    out
}
