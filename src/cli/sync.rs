//! `dango sync [SOURCE...]`: plan, fetch, load, commit, and print what landed.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::ProjectArg;
use super::shard::Shard;

use crate::engine::{Interrupt, SourceReport, StopSignal, SyncError, SyncOptions, sync};
use crate::project::loader::load_sources_file;
use crate::project::{Credentials, ProjectLayout, plan, warehouse};
use crate::source::{CursorWindow, WindowError, backfill_start};
use crate::warehouse::Warehouse;
use crate::warehouse::lock::SyncLock;

/// Arguments of `dango sync`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dango sync\n  dango sync my_api --parallel 4\n  dango sync my_api --backfill 90d --window 7d\n  dango sync --wait 600\n  dango sync --shard 2/4      # worker 2 of 4 loading one DuckLake"
)]
pub struct SyncArgs {
    /// Sources to sync (default: every enabled source).
    sources: Vec<String>,
    #[command(flatten)]
    project: ProjectArg,
    /// Let a `replace` resource that returns no rows empty its table.
    #[arg(long)]
    allow_empty_replace: bool,
    /// Drop the selected sources' tables and cursors and load everything again.
    #[arg(long)]
    full_refresh: bool,
    /// Resources to fetch and load at once, across all sources (default: number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    parallel: Option<u16>,
    /// Show the plan (sources, resources, first request of each, write dispositions, what
    /// --full-refresh would drop) and send no request.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask before --full-refresh drops tables.
    #[arg(short, long)]
    yes: bool,
    /// Print only errors and the final summary (no progress).
    #[arg(short, long)]
    quiet: bool,
    /// Load incremental resources from this cursor value on (an integer, a date or a
    /// date-time), instead of from the saved cursor; the saved cursor is left as it was.
    #[arg(long, value_name = "VALUE", conflicts_with = "backfill")]
    since: Option<String>,
    /// Load incremental resources up to (not including) this cursor value; the saved cursor
    /// is left as it was.
    #[arg(long, value_name = "VALUE")]
    until: Option<String>,
    /// Load the last period again: `7d`, `2w` or `1m` (30 days) before now.
    #[arg(long, value_name = "PERIOD", value_parser = parse_backfill)]
    backfill: Option<String>,
    /// Cut the range of --since or --backfill (to --until, or now) into windows of this
    /// length (12h, 7d, 2w, 1m; a number for an integer cursor), each recorded once loaded so
    /// a rerun skips it; up to --parallel windows of a resource load at once. Once the loaded
    /// range covers a resource's cursor, the cursor moves to its end.
    #[arg(long, value_name = "LENGTH", conflicts_with = "limit")]
    window: Option<String>,
    /// Load at most N records per resource, to try a config; no cursor is saved.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Sync only share K of N of the selected sources (round-robin in name order), so N
    /// workers split the sources without coordinating (a DuckLake warehouse takes them all).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Also write the outcome (per source and resource: success, duration, last success,
    /// rows, pages, requests, retries, 429s, bytes) to this file, atomically, in the Prometheus
    /// text format node_exporter's textfile collector reads.
    #[arg(long, value_name = "PATH")]
    metrics_file: Option<std::path::PathBuf>,
    /// When another sync is loading this warehouse, wait up to this long for it to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
}

pub fn run(mut args: SyncArgs) -> anyhow::Result<ExitCode> {
    let layout = args.project.layout()?;
    if let Some(shard) = args.shard {
        let file = load_sources_file(&layout.sources_file())?;
        let all = match args.sources.is_empty() {
            true => file
                .sources
                .iter()
                .filter(|s| s.enabled)
                .map(|s| s.name.clone())
                .collect(),
            false => args.sources.clone(),
        };
        let total = all.len();
        args.sources = shard.select(all);
        if args.sources.is_empty() {
            outln!("Shard {shard} has no sources (of {total}): nothing to sync.");
            return Ok(ExitCode::SUCCESS);
        }
        if !args.quiet {
            eprintln!(
                "shard {shard}: {} of {total} sources: {}",
                args.sources.len(),
                args.sources.join(", ")
            );
        }
    }
    let mut options = SyncOptions {
        allow_empty_replace: args.allow_empty_replace,
        full_refresh: args.full_refresh,
        parallel: args.parallel.map(usize::from),
        interrupt: Interrupt::default(),
        limit: args.limit,
        progress: (!args.quiet).then(super::progress::for_stderr),
        window: CursorWindow::parse(
            args.since.as_deref().or(args.backfill.as_deref()),
            args.until.as_deref(),
        )?,
    };
    if let Some(length) = &args.window {
        let range = options
            .window
            .take()
            .ok_or(WindowError::WindowWithoutStart)?;
        let parallel = options.workers();
        options.window = Some(range.split_by(length, parallel, chrono::Utc::now())?);
    }
    if args.dry_run {
        let window = options.window.as_ref();
        return super::dry_run::run(&layout, &args.sources, args.full_refresh, window);
    }
    if args.full_refresh && !args.yes && !confirm_full_refresh(&args.sources)? {
        outln!("Nothing changed.");
        return Ok(ExitCode::FAILURE);
    }
    // One sync at a time per DuckDB warehouse; held until this process ends. A lake takes
    // many writers at once.
    let run_started = std::time::SystemTime::now();
    // A run that cannot start (the warehouse busy, a config error) fails in the metrics too.
    let failed = |e: anyhow::Error| {
        if let Some(path) = &args.metrics_file
            && let Err(m) = super::metrics::write_failed(path)
        {
            eprintln!("error: {m}");
        }
        e
    };
    let _lock = match super::warehouse(&layout).map_err(failed)?.sync_lock_file() {
        Some(file) => Some(
            SyncLock::acquire(&file, Duration::from_secs(args.wait))
                .map_err(|e| failed(e.into()))?,
        ),
        None => None,
    };
    let reports = run_sync(&layout, &args.sources, &options).map_err(failed)?;
    print_reports(&reports);
    let status = match options.interrupt.by() {
        Some(by) => exit_code(by),
        None if reports.iter().all(|r| r.error.is_none()) => 0,
        None => 1,
    };
    if let Some(path) = &args.metrics_file {
        super::metrics::write(path, &reports, status)?;
    }
    super::traces::export(&reports, run_started, status);
    if let Some(by) = options.interrupt.by() {
        let rolled_back: Vec<&str> = reports
            .iter()
            .filter(|r| matches!(r.error, Some(SyncError::Interrupted(_))))
            .map(|r| r.name.as_str())
            .collect();
        eprintln!(
            "{}: {} source(s) rolled back ({}); their tables and cursors are as they were",
            stopped_by(by),
            rolled_back.len(),
            rolled_back.join(", ")
        );
    }
    Ok(ExitCode::from(status))
}

/// On a terminal, asks before `--full-refresh` drops tables; elsewhere goes ahead.
fn confirm_full_refresh(sources: &[String]) -> anyhow::Result<bool> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    let which = match sources.is_empty() {
        true => "every enabled source".to_string(),
        false => sources.join(", "),
    };
    out!(
        "--full-refresh drops the tables and cursors of {which} and loads everything again. Go on? [y/N] "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `--backfill 7d|2w|1m` as the ISO timestamp that long before now.
fn parse_backfill(period: &str) -> Result<String, String> {
    backfill_start(period, chrono::Utc::now()).map_err(|e| e.to_string())
}

/// How long the sync's runtime may take to shut down: an interrupted Python source's reader
/// ends once its process has stopped, which takes at most a few seconds (interrupt, terminate,
/// kill); past this, Dango exits without waiting for it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// Watches for SIGINT (Ctrl-C) and SIGTERM (how schedulers and Kubernetes stop a job) for the
/// rest of the process. The first interrupts the sync: running loads roll back, the history
/// records it, and [`run`] exits with the signal's code. A second ends the process at once.
/// On a thread and runtime of its own, not the sync's: the second signal must work while the
/// sync's runtime shuts down, which waits for interrupted Python processes to stop.
fn watch_signals(interrupt: Interrupt) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registered before this returns, so a signal that comes while the sync starts is seen.
    let mut signals = {
        let _entered = runtime.enter();
        StopSignals::new()?
    };
    std::thread::Builder::new()
        .name("dango-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Some(first) = signals.next().await else {
                    return;
                };
                eprintln!(
                    "{}: rolling back the sources still loading ({first} again to quit now)",
                    stopped_by(first),
                );
                interrupt.interrupt(first);
                if let Some(second) = signals.next().await {
                    quit_now(second);
                }
            });
        })?;
    Ok(())
}

/// The signals that stop a sync, as they come.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Starts listening (inside a runtime); from here on these signals no longer end the
    /// process by themselves.
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal; `None` if no more can come.
    async fn next(&mut self) -> Option<StopSignal> {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Some(StopSignal::CtrlC),
            Some(()) = self.terminate.recv() => Some(StopSignal::Sigterm),
            else => None,
        }
    }
}

/// How the end of a sync stopped by `by` is told.
fn stopped_by(by: StopSignal) -> &'static str {
    match by {
        StopSignal::CtrlC => "interrupted",
        StopSignal::Sigterm => "terminated (SIGTERM)",
    }
}

/// The exit code of a process stopped by `by`, as a shell reports one killed by it.
fn exit_code(by: StopSignal) -> u8 {
    match by {
        StopSignal::CtrlC => 128 + 2,
        StopSignal::Sigterm => 128 + 15,
    }
}

/// Ends the process at once with `by`'s exit code. Nothing uncommitted survives that (the
/// warehouse drops an open transaction), and no process either: the process group of each
/// child (every Python source's process leads one, holding what the user's code started) is
/// killed first, since a Python process that ignores signals, and its children, would
/// otherwise outlive Dango.
fn quit_now(by: StopSignal) -> ! {
    for pid in children() {
        // SAFETY: `kill` touches no memory. A child not yet reaped keeps its pid, so the group
        // it names is the child's own; a child that leads no group has none to hit (ESRCH).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    std::process::exit(i32::from(exit_code(by)))
}

/// The pids of this process's children, from `/proc` (none where it cannot be read).
fn children() -> Vec<libc::pid_t> {
    let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    threads
        .flatten()
        .filter_map(|thread| std::fs::read_to_string(thread.path().join("children")).ok())
        .flat_map(|pids| {
            pids.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Plans and runs a sync of `sources` (all enabled if empty) in the project at `layout`.
pub fn run_sync(
    layout: &ProjectLayout,
    sources: &[String],
    options: &SyncOptions,
) -> anyhow::Result<Vec<SourceReport>> {
    let file = load_sources_file(&layout.sources_file())?;
    let creds = Credentials::load(layout.root())?;
    // `--parallel` wins over the file's `parallel:`, which wins over the engine's default.
    let options = SyncOptions {
        parallel: options.parallel.or(file.parallel.map(NonZeroUsize::get)),
        ..options.clone()
    };
    let plans = plan(layout, &file, sources, &creds, options.workers())?;
    if plans.is_empty() {
        anyhow::bail!(
            "no enabled sources in {}: add one, or set `enabled: true`",
            layout.sources_file().display()
        );
    }
    // Parsing, normalising and building run on the blocking pool: a few threads per core keep
    // both busy, and fewer threads means fewer per-thread allocator caches holding memory.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads((2 * cores).max(4))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let location = warehouse::resolve(layout, &layout.sources_file(), &file.warehouse, &creds)?;
    let warehouse = Warehouse::open(&location)?;
    if let Err(e) = watch_signals(options.interrupt.clone()) {
        // Without it a signal ends Dango as it would any program: the load is lost, not kept.
        tracing::warn!("Ctrl-C and SIGTERM will not roll back cleanly: {e}");
    }
    let reports = runtime.block_on(sync(&warehouse, plans, &options));
    drop(warehouse);
    // An interrupted Python source's reader is still waiting for its process to stop; a
    // process that even SIGKILL cannot end must not keep Dango from exiting.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    Ok(reports)
}

/// Prints one block per source: resources with pages, rows and seconds, or the error.
pub fn print_reports(reports: &[SourceReport]) {
    for r in reports {
        match (&r.message, &r.load_id) {
            (Some(e), _) => {
                outln!(
                    "✗ {} → {}: FAILED after {:.2} s",
                    r.name,
                    r.dataset,
                    r.elapsed.as_secs_f64()
                );
                outln!("  {e}");
                match r.checkpointed.chunks {
                    0 => outln!(
                        "  Nothing from this source was loaded; its tables and cursors are unchanged."
                    ),
                    n => outln!(
                        "  {n} checkpoint(s) committed {} rows before it stopped; the rest was \
                         rolled back. The next `dango sync {}` resumes from the last checkpoint.",
                        r.checkpointed.rows,
                        r.name
                    ),
                }
            }
            (None, load_id) => {
                let id = load_id.as_ref().map_or("-", |id| id.as_str());
                outln!(
                    "✓ {} → {} (load {id}, {:.2} s)",
                    r.name,
                    r.dataset,
                    r.elapsed.as_secs_f64()
                );
            }
        }
        let width = r.resources.iter().map(|x| x.name.len()).max().unwrap_or(0);
        // A failed source's resources loaded nothing: their counts would read as loaded rows.
        for res in r.resources.iter().filter(|_| r.error.is_none()) {
            outln!(
                "  {:<width$}  {:>6} pages  {:>9} rows  {:>7.2} s  → {}.{}",
                res.name,
                res.pages,
                res.rows,
                res.elapsed.as_secs_f64(),
                r.dataset,
                res.table,
            );
            if let Some(resumed) = &res.resumed {
                let what = match resumed.done {
                    true => "finished by the interrupted sync (not run again)",
                    false => "resumed from the interrupted sync's checkpoint",
                };
                outln!(
                    "    {what}: {} rows in {} pages committed then, last checkpoint {}",
                    resumed.rows,
                    resumed.pages,
                    resumed.at
                );
            }
            if let Some(why) = &res.restarted {
                outln!("    {why}");
            }
            if let Some(note) = &res.note {
                outln!("    {note}");
            }
            if res.limited {
                outln!("    limited by --limit: the rest was not loaded, and no cursor was saved");
            }
            if res.dropped.filtered > 0 {
                outln!(
                    "    {} records filtered out by the transform",
                    res.dropped.filtered
                );
            }
            if let Some(deleted) = res.deleted {
                outln!("    {deleted} records deleted: absent from this sync (deletes: absent)");
            }
            if res.dropped.discarded > 0 {
                outln!(
                    "    {} rows discarded by the schema contract",
                    res.dropped.discarded
                );
            }
        }
    }
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    // Rows of failed sources were rolled back: only committed ones count.
    let rows: usize = reports
        .iter()
        .filter(|r| r.error.is_none())
        .flat_map(|r| &r.resources)
        .map(|r| r.rows)
        .sum();
    outln!(
        "{} of {} source(s) synced, {rows} rows.",
        reports.len() - failed,
        reports.len()
    );
}
