//! `dango init [DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::project::scaffold::scaffold;

/// Arguments of `dango init`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango init my-project && cd my-project")]
pub struct InitArgs {
    /// Directory to create the project in (default: the current directory).
    dir: Option<PathBuf>,
    /// Overwrite the files of an existing project (credentials files are never overwritten).
    #[arg(long)]
    force: bool,
    /// Where the sources load: a DuckDB file, or a DuckLake (catalog + Parquet files) that
    /// many workers load at once.
    #[arg(long, value_enum, default_value = "duckdb")]
    warehouse: WarehouseChoice,
}

/// The warehouses `dango init` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WarehouseChoice {
    /// `data/warehouse.duckdb`.
    Duckdb,
    /// A DuckLake: `data/lake.ducklake` and Parquet files in `data/lake/`.
    Ducklake,
}

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let lake = args.warehouse == WarehouseChoice::Ducklake;
    let layout = scaffold(&dir, args.force, lake)?;
    outln!("Created a Dango project in {}", layout.root().display());
    outln!("  .dango/sources.yml   sources to sync (an example is filled in)");
    outln!("  .dango/sources.schema.json   its JSON Schema, for editors (`dango schema`)");
    outln!("  .dlt/secrets.toml    credentials, dlt style   (git-ignored)");
    outln!("  .env                 credentials, KEY=value   (git-ignored)");
    outln!("  custom_sources/      Python dlt sources");
    match lake {
        true => {
            outln!("  data/                the DuckLake: lake.ducklake (catalog), lake/ (Parquet)")
        }
        false => outln!("  data/                the DuckDB warehouse"),
    }
    outln!("Next: edit .dango/sources.yml, then run `dango sync`.");
    Ok(ExitCode::SUCCESS)
}
