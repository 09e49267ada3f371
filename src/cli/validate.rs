//! `dango validate`: every config and credential problem, without a single request.

use std::process::ExitCode;

use super::ProjectArg;
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, plan};

/// Arguments of `dango validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    plan(&layout, &file, &[], &creds)?;
    for s in &file.sources {
        let state = if s.enabled { "enabled" } else { "disabled" };
        let resources = s.rest_api.as_ref().map_or(0, |r| r.resources.len());
        println!(
            "  {} ({state}) → {}, {resources} resource(s)",
            s.name,
            s.dataset()
        );
    }
    println!("{} is valid.", layout.sources_file().display());
    Ok(ExitCode::SUCCESS)
}
