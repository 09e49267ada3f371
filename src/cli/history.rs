//! `dango history [SOURCE] [--limit N]`: every sync of each source, newest first, failed ones
//! included, from the warehouse's `_dango.syncs`.

use std::process::ExitCode;

use super::ProjectArg;
use crate::warehouse::history;

/// Arguments of `dango history`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango history my_api --limit 5")]
pub struct HistoryArgs {
    /// Only this source's syncs.
    source: Option<String>,
    /// How many syncs to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let location = super::warehouse(&layout)?;
    let Some(conn) = location.open_read_only()? else {
        outln!("No syncs yet: {location} does not exist.");
        return Ok(ExitCode::SUCCESS);
    };
    let records = history::read(&conn, args.source.as_deref(), args.limit)?;
    if records.is_empty() {
        outln!("No syncs recorded yet.");
    }
    for r in records {
        let load = r.load_id.as_deref().unwrap_or("-");
        outln!(
            "{}  {:<11}  {:<20} {:>10} rows  load {load}",
            r.finished_at,
            r.status,
            r.source,
            r.rows
        );
        if let Some(resources) = r.resources.as_array() {
            for res in resources {
                outln!(
                    "    {:<20} {:>10} rows  → {}.{}",
                    res["resource"].as_str().unwrap_or_default(),
                    res["rows"].as_u64().unwrap_or_default(),
                    r.dataset,
                    res["tables"].as_str().unwrap_or_default()
                );
                if let Some(deleted) = res.get("deleted").and_then(|d| d.as_u64()) {
                    outln!("      {deleted} records deleted: absent from that sync");
                }
                if let Some(resumed) = res.get("resumed") {
                    outln!(
                        "      resumed an interrupted sync: {} rows committed by its checkpoints",
                        resumed["rows"].as_u64().unwrap_or_default()
                    );
                }
            }
        }
        if let Some(error) = r.error {
            let first = error.lines().next().unwrap_or_default();
            outln!("    error: {first}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
