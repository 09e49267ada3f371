//! `dango validate`: every config and credential problem, without a single request. Python
//! sources are imported and their source functions called (which resolves their secrets), so
//! the interpreter, dlt version and resources each will use are shown.

use std::process::ExitCode;

use super::ProjectArg;
use crate::project::config::SourceKind;
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, plan};
use crate::source::Source;

/// Arguments of `dango validate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example: dango validate --project ~/my-project")]
pub struct ValidateArgs {
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    let planned = plan(&layout, &file, &[], &creds, 1)?;
    for s in &file.sources {
        let state = if s.enabled { "enabled" } else { "disabled" };
        let source = planned.iter().find(|p| p.name() == s.name);
        match (s.kind, source) {
            (SourceKind::DltNative, Some(source)) => print_python(source, state),
            _ => {
                let resources = s.rest_api.as_ref().map_or(0, |r| r.resources.len());
                println!(
                    "  {} ({state}) → {}, {resources} resource(s)",
                    s.name,
                    s.dataset()
                );
            }
        }
    }
    println!("{} is valid.", layout.sources_file().display());
    Ok(ExitCode::SUCCESS)
}

/// A Python source's line: its tables, interpreter and dlt version.
fn print_python(source: &Source, state: &str) {
    for resource in source.resources() {
        let tables: Vec<&str> = resource
            .tables()
            .iter()
            .map(|t| t.table_name.as_str())
            .collect();
        println!(
            "  {} ({state}) → {}, dlt source `{}`: tables {}",
            source.name(),
            source.dataset(),
            resource.name(),
            tables.join(", ")
        );
        if let Some(about) = resource.describe() {
            println!("    {about}");
        }
    }
}
