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
}

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let layout = scaffold(&dir, args.force)?;
    println!("Created a Dango project in {}", layout.root().display());
    println!("  .dango/sources.yml   sources to sync (an example is filled in)");
    println!("  .dlt/secrets.toml    credentials, dlt style   (git-ignored)");
    println!("  .env                 credentials, KEY=value   (git-ignored)");
    println!("  custom_sources/      Python dlt sources");
    println!("  data/                the DuckDB warehouse");
    println!("Next: edit .dango/sources.yml, then run `dango sync`.");
    Ok(ExitCode::SUCCESS)
}
