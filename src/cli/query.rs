//! `dango query "SQL" [--format table|csv|json]`: runs SQL read-only against the project's
//! warehouse (the tutorial's "Verify Data") and prints the result.

use std::process::ExitCode;

use anyhow::Context;
use arrow::record_batch::RecordBatch;

use super::ProjectArg;
use crate::warehouse::describe;

/// How to print the result.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row, in an array.
    Json,
}

/// Arguments of `dango query`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango query \"select count(*) from raw_my_api.users\"")]
pub struct QueryArgs {
    /// The SQL to run (read-only).
    sql: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let location = super::warehouse(&layout)?;
    let Some(conn) = location.open_read_only()? else {
        anyhow::bail!("{location} does not exist yet: run `dango sync` first");
    };
    let batches: Vec<RecordBatch> = conn
        .prepare(&args.sql)
        .and_then(|mut stmt| stmt.query_arrow([]).map(|rows| rows.collect()))
        .map_err(|e| anyhow::anyhow!("the query failed: {}", describe(&e)))?;
    let out = match args.format {
        Format::Table => arrow::util::pretty::pretty_format_batches(&batches)?.to_string(),
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().build(Vec::new());
            for batch in &batches {
                writer.write(batch)?;
            }
            String::from_utf8(writer.into_inner()).context("the CSV is not UTF-8")?
        }
        Format::Json => {
            let mut writer = arrow::json::ArrayWriter::new(Vec::new());
            for batch in &batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            let text = String::from_utf8(writer.into_inner()).context("the JSON is not UTF-8")?;
            if text.is_empty() { "[]".into() } else { text }
        }
    };
    outln!("{out}");
    Ok(ExitCode::SUCCESS)
}
