//! `dango state [SOURCE]` shows where each source stands (the tutorial's "Check dlt State"): its
//! incremental cursors, the checkpoints of a sync that did not finish, its last load, and the
//! rows of its tables. `dango state reset SOURCE` clears cursors and checkpoints, in one
//! transaction, so the next sync loads from the initial value.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use duckdb::Connection;
use serde_json::Value;

use super::ProjectArg;
use crate::project::config::SourceConfig;
use crate::project::errors::did_you_mean;
use crate::project::loader::load_sources_file;
use crate::warehouse::checkpoints::{self, Checkpoint};
use crate::warehouse::cursors::{self, SavedCursor, SavedState};
use crate::warehouse::dlt_state::DltState;
use crate::warehouse::memory_limit;
use crate::warehouse::status;

/// Arguments of `dango state`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  dango state my_api\n  dango state reset my_api --resource orders --yes"
)]
pub struct StateArgs {
    #[command(subcommand)]
    reset: Option<StateCommand>,
    /// Only this source.
    source: Option<String>,
    #[command(flatten)]
    project: ProjectArg,
}

/// `dango state reset`.
#[derive(Debug, clap::Subcommand)]
enum StateCommand {
    /// Clear a source's incremental cursors and checkpoints: its next sync loads from the
    /// initial value.
    Reset(ResetArgs),
}

/// Arguments of `dango state reset`.
#[derive(Debug, clap::Args)]
struct ResetArgs {
    /// The source.
    source: String,
    /// Only this resource's cursor.
    #[arg(long)]
    resource: Option<String>,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    yes: bool,
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: StateArgs) -> anyhow::Result<ExitCode> {
    if let Some(StateCommand::Reset(reset)) = args.reset {
        return run_reset(reset);
    }
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let sources = chosen(&file.sources, args.source.as_deref())?;
    let conn = super::warehouse(&layout)?.open_read_only()?;
    for source in sources {
        let dataset = source.dataset();
        outln!("{} → {dataset}", source.name);
        let Some(conn) = &conn else {
            outln!("  never synced");
            continue;
        };
        print_source(conn, &dataset)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The sources named (or all), with an error naming the file for an unknown one.
fn chosen<'a>(
    sources: &'a [SourceConfig],
    name: Option<&str>,
) -> anyhow::Result<Vec<&'a SourceConfig>> {
    let found: Vec<&SourceConfig> = sources
        .iter()
        .filter(|s| name.is_none_or(|n| s.name == n))
        .collect();
    if found.is_empty() {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "no source named `{}` (sources: {})",
            name.unwrap_or_default(),
            names.join(", ")
        );
    }
    Ok(found)
}

fn print_source(conn: &Connection, dataset: &str) -> anyhow::Result<()> {
    let saved = cursors::saved(conn, dataset)?;
    if saved.is_empty() {
        outln!("  cursors: none saved");
    }
    for s in &saved {
        print_saved(s);
    }
    let mut checkpoints: Vec<Checkpoint> =
        checkpoints::load(conn, dataset)?.into_values().collect();
    checkpoints.sort_by(|a, b| a.resource.cmp(&b.resource));
    for c in &checkpoints {
        let state = match c.done() {
            true => "finished",
            false => "the next sync resumes after it",
        };
        outln!(
            "  checkpoint {}: interrupted sync committed {} rows in {} pages, last at {} ({state})",
            c.resource,
            c.rows,
            c.pages,
            c.at
        );
    }
    match status::last_load(conn, dataset)? {
        Some(load) => {
            let state = if load.committed() {
                "committed"
            } else {
                "not committed"
            };
            outln!(
                "  last load {} ({state}, {})",
                load.load_id,
                load.inserted_at
            )
        }
        None => outln!("  last load: none"),
    }
    for table in status::tables(conn, dataset)? {
        if !table.is_bookkeeping() {
            outln!("  {:<32} {:>10} rows", table.name, table.rows);
        }
    }
    Ok(())
}

/// One saved cursor: a REST resource's, or each cursor of a Python source's dlt state.
fn print_saved(saved: &SavedCursor) {
    match &saved.saved {
        SavedState::Dlt(state) => print_dlt_state(&saved.resource, state, &saved.updated_at),
        SavedState::Cursor {
            path,
            last_value,
            backfilled,
        } => {
            outln!(
                "  cursor {}.{path} = {} (saved {})",
                saved.resource,
                readable(last_value),
                saved.updated_at
            );
            for (from, to) in backfilled {
                outln!(
                    "    backfilled {} .. {} (--window skips it)",
                    readable(from),
                    readable(to)
                );
            }
        }
    }
}

/// A Python source's dlt state: each resource's incremental cursors.
fn print_dlt_state(source: &str, state: &DltState, saved: &str) {
    let resources = state.resources();
    if resources.is_empty() {
        outln!("  dlt source {source}: no resource state (saved {saved})");
    }
    for resource in resources {
        if resource.cursors.is_empty() {
            outln!(
                "  {}: state without a cursor (saved {saved})",
                resource.name
            );
        }
        for cursor in resource.cursors {
            outln!(
                "  cursor {}.{} = {} (saved {saved})",
                resource.name,
                cursor.path,
                readable(&cursor.last_value)
            );
        }
    }
}

/// A value of dlt's typed JSON without its type tag.
fn readable(value: &Value) -> String {
    match value.as_str() {
        Some(s) => crate::json::typed::split(s)
            .map_or(s, |(_, rest)| rest)
            .to_string(),
        None => value.to_string(),
    }
}

fn run_reset(args: ResetArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let source = chosen(&file.sources, Some(&args.source))?[0];
    let dataset = source.dataset();
    let what = match &args.resource {
        Some(r) => format!("the cursor of `{}`.`{r}`", source.name),
        None => format!("every cursor of `{}`", source.name),
    };
    if !args.yes && std::io::stdin().is_terminal() {
        out!("Clear {what}? Its next sync loads from the initial value. [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            outln!("Nothing changed.");
            return Ok(ExitCode::FAILURE);
        }
    }
    let location = super::warehouse(&layout)?;
    if location.open_read_only()?.is_none() {
        outln!("Nothing to clear: {} was never synced.", source.name);
        return Ok(ExitCode::SUCCESS);
    }
    let conn = location.open(&memory_limit()?)?;
    if let Some(resource) = &args.resource {
        check_resource(&conn, source, &dataset, resource)?;
    }
    let outcome = cursors::reset(&conn, &dataset, args.resource.as_deref())
        .with_context(|| format!("clearing {what}"))?;
    outln!(
        "Cleared {} cursor(s) of {}.",
        outcome.cleared(),
        source.name
    );
    if !outcome.checkpoints.is_empty() {
        outln!(
            "Dropped the interrupted sync's checkpoint of {}: the next sync starts them over.",
            outcome.checkpoints.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a `--resource` that is neither configured nor has a saved cursor: a typo must not
/// read as "cleared 0 cursors" and leave the cursor the user meant in place.
fn check_resource(
    conn: &Connection,
    source: &SourceConfig,
    dataset: &str,
    resource: &str,
) -> anyhow::Result<()> {
    let mut known: Vec<String> = source
        .rest_api()
        .into_iter()
        .flat_map(|api| api.resources.iter().map(|r| r.name.clone()))
        .collect();
    for saved in cursors::saved(conn, dataset)? {
        known.extend(saved.resources());
    }
    known.sort();
    known.dedup();
    if known.iter().any(|k| k == resource) {
        return Ok(());
    }
    let hint = did_you_mean(resource, known.iter().map(String::as_str))
        .map(|h| format!(" {h}"))
        .unwrap_or_default();
    let listed = match known.is_empty() {
        true => "none".to_string(),
        false => known.join(", "),
    };
    anyhow::bail!(
        "source `{}` has no resource `{resource}` (its resources and saved cursors: \
         {listed}); nothing was cleared.{hint}",
        source.name
    )
}
