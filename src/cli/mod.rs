//! The command line: one file per command. Errors become messages and exit codes here.

/// `println!` for a command's output: a closed pipe (`dango query ... | head -1`) ends the
/// process quietly, as `cat` and ripgrep do, instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` with [`outln!`]'s handling of a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

mod completions;
mod demo;
mod dry_run;
mod history;
mod init;
mod metrics;
mod mock_api;
mod progress;
mod query;
mod schema;
mod shard;
mod source;
mod source_add;
mod source_test;
mod state;
mod sync;
mod traces;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::project::ProjectLayout;

/// Dango: sync REST APIs into a DuckDB warehouse.
#[derive(Debug, Parser)]
#[command(name = "dango", version, about)]
struct Cli {
    /// More output: -v for progress details, -vv for debugging (each request and response).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines as text, or as JSON objects for machines.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new project (sources.yml, credentials files, data/).
    Init(init::InitArgs),
    /// Fetch the configured sources and load them into the warehouse (data/warehouse.duckdb).
    Sync(sync::SyncArgs),
    /// Check .dango/sources.yml and credentials without fetching anything.
    Validate(validate::ValidateArgs),
    /// Run a complete example against a built-in mock API on 127.0.0.1.
    Demo(demo::DemoArgs),
    /// List the configured sources with their last sync.
    Source(source::SourceArgs),
    /// Show each source's incremental cursors, last load and table rows; `state reset` clears cursors.
    State(state::StateArgs),
    /// Every sync of each source, newest first, failed ones included.
    History(history::HistoryArgs),
    /// Run SQL read-only against the warehouse and print the result.
    Query(query::QueryArgs),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the JSON Schema of `.dango/sources.yml` (for editors; `dango init` writes a copy).
    Schema(schema::SchemaArgs),
    /// Serve the built-in mock API on 127.0.0.1 until interrupted (benchmarks, experiments).
    #[command(hide = true)]
    MockApi(mock_api::MockApiArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Init(args) => init::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Source(args) => source::run(args),
        Command::State(args) => state::run(args),
        Command::History(args) => history::run(args),
        Command::Query(args) => query::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Schema(args) => schema::run(args),
        Command::MockApi(args) => mock_api::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", with_causes(&e));
            ExitCode::from(2)
        }
    }
}

/// `e` followed by each of its causes that its message does not already quote: errors keep
/// their causes as sources, and most also word them where the user reads best.
pub(crate) fn with_causes(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// Writes a command's output to stdout. A reader that went away (`| head`) wants no more: the
/// process ends at once with success, as a pipe's writer does; any other failure to write
/// (a full disk behind `>`) is an error exit that says so. Commands print only after their
/// work is committed, so ending here loses nothing.
fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output failed: {e}");
        std::process::exit(2);
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn init_logging(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DANGO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal who has not asked for none.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// `--project DIR`, shared by commands that work on a project.
#[derive(Debug, clap::Args)]
struct ProjectArg {
    /// Project directory (default: the nearest one at or above the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

impl ProjectArg {
    fn layout(&self) -> anyhow::Result<ProjectLayout> {
        match &self.project {
            Some(dir) => Ok(ProjectLayout::new(dir)),
            None => {
                let cwd = std::env::current_dir()?;
                ProjectLayout::discover(&cwd).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no .dango/sources.yml in {} or above: run `dango init` or pass --project DIR",
                        cwd.display()
                    )
                })
            }
        }
    }
}

/// The project's warehouse (its `sources.yml` `warehouse:` block, with credentials).
fn warehouse(layout: &ProjectLayout) -> anyhow::Result<crate::warehouse::Location> {
    let creds = crate::project::Credentials::load(layout.root())?;
    Ok(crate::project::warehouse::location(layout, &creds)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_shown_once_whether_or_not_its_error_words_it() {
        let io = || std::io::Error::other("disk full");
        #[derive(Debug, thiserror::Error)]
        #[error("writing the file: {source}")]
        struct Quotes {
            source: std::io::Error,
        }
        #[derive(Debug, thiserror::Error)]
        #[error("writing the file")]
        struct Silent {
            source: std::io::Error,
        }
        let quoted = anyhow::Error::from(Quotes { source: io() }).context("sync");
        assert_eq!(with_causes(&quoted), "sync: writing the file: disk full");
        let silent = anyhow::Error::from(Silent { source: io() }).context("sync");
        assert_eq!(with_causes(&silent), "sync: writing the file: disk full");
    }
}
