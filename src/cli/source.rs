//! `dango source list`: one line per configured source with its last sync (from the history).

use std::process::ExitCode;

use super::ProjectArg;
use crate::project::config::SourceSpec;
use crate::project::loader::load_sources_file;
use crate::warehouse::history;

/// Arguments of `dango source`.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    #[command(subcommand)]
    command: SourceCommand,
}

/// `dango source` subcommands.
#[derive(Debug, clap::Subcommand)]
enum SourceCommand {
    /// One line per source: type, enabled, resources, dataset, last sync.
    #[command(after_help = "Example: dango source list --enabled-only")]
    List(ListArgs),
    /// Fetch a few pages of a source and show requests, responses and the tables they would make; writes nothing.
    Test(super::source_test::TestArgs),
    /// Add a rest_api source made from an OpenAPI or Swagger description, checked against the live API.
    Add(super::source_add::AddArgs),
}

/// Arguments of `dango source list`.
#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only enabled sources.
    #[arg(long)]
    enabled_only: bool,
    #[command(flatten)]
    project: ProjectArg,
}

pub fn run(args: SourceArgs) -> anyhow::Result<ExitCode> {
    let args = match args.command {
        SourceCommand::List(args) => args,
        SourceCommand::Test(args) => return super::source_test::run(args),
        SourceCommand::Add(args) => return super::source_add::run(args),
    };
    let layout = args.project.layout()?;
    let file = load_sources_file(&layout.sources_file())?;
    let conn = super::warehouse(&layout)?.open_read_only()?;
    for s in file
        .sources
        .iter()
        .filter(|s| s.enabled || !args.enabled_only)
    {
        let kind = match &s.spec {
            SourceSpec::RestApi(api) => format!("rest_api, {} resource(s)", api.resources.len()),
            SourceSpec::DltNative(py) => format!("dlt_native {}", py.source_module),
        };
        let last = match &conn {
            Some(conn) => history::read(conn, Some(&s.name), 1)?
                .into_iter()
                .next()
                .map(|r| format!("last sync {} {} ({} rows)", r.finished_at, r.status, r.rows)),
            None => None,
        };
        outln!(
            "{:<20} {:<8} {kind:<36} → {:<24} {}",
            s.name,
            if s.enabled { "enabled" } else { "disabled" },
            s.dataset(),
            last.unwrap_or_else(|| "never synced".into())
        );
    }
    Ok(ExitCode::SUCCESS)
}
