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
    /// Start from an OpenAPI or Swagger description instead of the example (see `dango source add`).
    #[command(flatten)]
    openapi: super::source_add::OpenApiArgs,
    /// With --openapi: the source's name (default: the API's title, normalised).
    #[arg(long, value_name = "NAME", requires = "openapi")]
    source_name: Option<String>,
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
    // Read before anything is created: a bad description leaves no half-made project.
    let description = match &args.openapi.openapi {
        Some(openapi) => Some(crate::openapi::Description::load(openapi)?),
        None => None,
    };
    let layout = scaffold(&dir, args.force, lake)?;
    if let (Some(openapi), Some(description)) = (&args.openapi.openapi, &description) {
        let name = match &args.source_name {
            Some(name) => name.clone(),
            None => crate::openapi::source_name(description),
        };
        without_example_source(&layout)?;
        let code = super::source_add::add(&layout, &name, openapi, &args.openapi, false)?;
        outln!("Created a Dango project in {}", layout.root().display());
        return Ok(code);
    }
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

/// Empties the example's `sources:` list, for a project made from a description.
fn without_example_source(layout: &crate::project::layout::ProjectLayout) -> anyhow::Result<()> {
    let path = layout.sources_file();
    let text = std::fs::read_to_string(&path)?;
    let head = match text.find("\nsources:\n") {
        Some(at) => &text[..at + "\nsources:\n".len()],
        None => text.as_str(),
    };
    std::fs::write(&path, head)?;
    Ok(())
}
