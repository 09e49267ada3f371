//! `dango schema`: prints the JSON Schema of `.dango/sources.yml`, for editors and CI checks.

use std::process::ExitCode;

use clap::Args;

/// Arguments of `dango schema`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  dango schema > .dango/sources.schema.json\n  \
                  (then, as the first line of .dango/sources.yml:\n   \
                  # yaml-language-server: $schema=sources.schema.json)"
)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = crate::project::schema::sources_schema();
    out!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
