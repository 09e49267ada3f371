//! `dango state [SOURCE]` shows where each source stands (the tutorial's "Check dlt State"): its
//! incremental cursors, its last load, and the rows of its tables. `dango state reset SOURCE`
//! clears cursors, in one transaction, so the next sync loads from the initial value.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use duckdb::Connection;
use serde_json::Value;

use super::ProjectArg;
use crate::project::config::SourceConfig;
use crate::project::errors::did_you_mean;
use crate::project::loader::load_sources_file;
use crate::warehouse::catalog::table_exists;
use crate::warehouse::cursors::{self, CURSOR_TABLE};
use crate::warehouse::memory_limit;
use crate::warehouse::sql::{ident, qualified};

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
    /// Clear a source's incremental cursors: its next sync loads from the initial value.
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

/// One saved cursor row.
struct Saved {
    resource: String,
    cursor_path: String,
    last_value: String,
    updated_at: String,
    state: Option<String>,
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
    let saved = saved_cursors(conn, dataset)?;
    if saved.is_empty() {
        outln!("  cursors: none saved");
    }
    for s in &saved {
        match &s.state {
            Some(state) => print_dlt_state(&s.resource, state, &s.updated_at),
            None => {
                let last: Value = serde_json::from_str(&s.last_value).unwrap_or_default();
                outln!(
                    "  cursor {}.{} = {} (saved {})",
                    s.resource,
                    s.cursor_path,
                    readable(&last),
                    s.updated_at
                )
            }
        }
    }
    match last_load(conn, dataset)? {
        Some((load_id, status, at)) => {
            let status = if status == 0 {
                "committed"
            } else {
                "not committed"
            };
            outln!("  last load {load_id} ({status}, {at})")
        }
        None => outln!("  last load: none"),
    }
    for (table, rows) in table_rows(conn, dataset)? {
        outln!("  {table:<32} {rows:>10} rows");
    }
    Ok(())
}

/// A Python source's dlt state: each resource's incremental cursors.
fn print_dlt_state(source: &str, state: &str, saved: &str) {
    let state: Value = serde_json::from_str(state).unwrap_or_default();
    let resources = state["resources"].as_object().cloned().unwrap_or_default();
    if resources.is_empty() {
        outln!("  dlt source {source}: no resource state (saved {saved})");
    }
    for (resource, value) in resources {
        let incremental = value["incremental"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if incremental.is_empty() {
            outln!("  {resource}: state without a cursor (saved {saved})");
        }
        for (path, cursor) in incremental {
            outln!(
                "  cursor {resource}.{path} = {} (saved {saved})",
                readable(&cursor["last_value"])
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

fn saved_cursors(conn: &Connection, dataset: &str) -> anyhow::Result<Vec<Saved>> {
    if !table_exists(conn, dataset, CURSOR_TABLE)? {
        return Ok(Vec::new());
    }
    let state = match cursors::has_state_column(conn, dataset)? {
        true => "state",
        false => "NULL",
    };
    let sql = format!(
        "SELECT resource, cursor_path, last_value, strftime(CAST(updated_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ'), {state} \
         FROM {} ORDER BY resource",
        qualified(dataset, CURSOR_TABLE)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok(Saved {
            resource: r.get(0)?,
            cursor_path: r.get(1)?,
            last_value: r.get(2)?,
            updated_at: r.get(3)?,
            state: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn last_load(conn: &Connection, dataset: &str) -> anyhow::Result<Option<(String, i64, String)>> {
    if !table_exists(conn, dataset, "_dlt_loads")? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT load_id, status, strftime(CAST(inserted_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ') FROM {} \
         ORDER BY load_id DESC LIMIT 1",
        qualified(dataset, "_dlt_loads")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.next().transpose()?)
}

fn table_rows(conn: &Connection, dataset: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_catalog = current_database() AND table_schema = ? \
         AND table_name NOT LIKE '\\_d%' ESCAPE '\\' ORDER BY table_name",
    )?;
    let tables: Vec<String> = stmt
        .query_map([dataset], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for table in tables {
        let rows: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {}", qualified(dataset, &table)),
            [],
            |r| r.get(0),
        )?;
        out.push((table, rows));
    }
    Ok(out)
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
    let cleared = reset(&conn, &dataset, args.resource.as_deref())
        .with_context(|| format!("clearing {what}"))?;
    outln!("Cleared {cleared} cursor(s) of {}.", source.name);
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
        .rest_api
        .iter()
        .flat_map(|api| api.resources.iter().map(|r| r.name.clone()))
        .collect();
    if table_exists(conn, dataset, CURSOR_TABLE)? {
        for s in saved_cursors(conn, dataset)? {
            match &s.state {
                Some(state) => {
                    let state: Value = serde_json::from_str(state).unwrap_or_default();
                    if let Some(resources) = state["resources"].as_object() {
                        known.extend(resources.keys().cloned());
                    }
                }
                None => known.push(s.resource),
            }
        }
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

/// Clears the cursors of `dataset` (of `resource` only, if given) in one transaction; how many.
fn reset(conn: &Connection, dataset: &str, resource: Option<&str>) -> anyhow::Result<usize> {
    if !table_exists(conn, dataset, CURSOR_TABLE)? {
        return Ok(0);
    }
    let saved = saved_cursors(conn, dataset)?;
    let table = qualified(dataset, CURSOR_TABLE);
    conn.execute_batch("BEGIN TRANSACTION")?;
    let done = (|| -> anyhow::Result<usize> {
        let mut cleared = 0;
        for s in saved {
            match (&s.state, resource) {
                (_, None) => {}
                (None, Some(r)) if s.resource != r => continue,
                (None, Some(_)) => {}
                (Some(state), Some(r)) => {
                    // A Python source keeps every resource's state in one dlt state: drop the
                    // one resource's part.
                    let mut state: Value = serde_json::from_str(state).unwrap_or_default();
                    let removed = state["resources"]
                        .as_object_mut()
                        .and_then(|m| m.remove(r))
                        .is_some();
                    if removed {
                        conn.execute(
                            &format!(
                                "UPDATE {table} SET {} = ? WHERE resource = ?",
                                ident("state")
                            ),
                            [state.to_string(), s.resource.clone()],
                        )?;
                        cleared += 1;
                    }
                    continue;
                }
            }
            conn.execute(
                &format!("DELETE FROM {table} WHERE resource = ?"),
                [&s.resource],
            )?;
            cleared += 1;
        }
        Ok(cleared)
    })();
    match done {
        Ok(n) => {
            conn.execute_batch("COMMIT")?;
            Ok(n)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
