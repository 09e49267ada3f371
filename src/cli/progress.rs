//! What `dango sync` shows while it runs: on a terminal, one live line per resource (pages,
//! rows, rows/s, elapsed) with `indicatif`; elsewhere (CI, logs, pipes) plain lines when a
//! resource starts and ends, and every 10 s for long ones. Both on stderr: stdout keeps the
//! summary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Progress, ProgressSink};

/// Seconds between the plain lines of a long resource.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The progress display for this process's stderr.
pub fn for_stderr() -> Progress {
    use std::io::IsTerminal;
    match std::io::stderr().is_terminal() {
        true => Progress(Arc::new(Bars::default())),
        false => Progress(Arc::new(Lines::default())),
    }
}

/// Live bars, one per running resource.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, (ProgressBar, Instant)>>,
}

impl Default for Bars {
    fn default() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::default(),
        }
    }
}

fn key(source: &str, resource: &str) -> String {
    format!("{source}.{resource}")
}

impl ProgressSink for Bars {
    fn started(&self, source: &str, resource: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(key(source, resource));
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        bars.insert(key(source, resource), (bar, Instant::now()));
    }

    fn advanced(&self, source: &str, resource: &str, pages: usize, rows: usize) {
        let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((bar, started)) = bars.get(&key(source, resource)) {
            let rate = rows as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{pages} pages, {rows} rows, {rate:.0} rows/s"));
        }
    }

    fn finished(&self, source: &str, resource: &str, _rows: usize, _ok: bool) {
        let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((bar, _)) = bars.remove(&key(source, resource)) {
            // The summary that follows says how it went.
            bar.finish_and_clear();
        }
    }
}

/// Plain lines for logs.
#[derive(Default)]
struct Lines {
    /// When each running resource started and last printed.
    running: Mutex<HashMap<String, (Instant, Instant)>>,
}

impl ProgressSink for Lines {
    fn started(&self, source: &str, resource: &str) {
        eprintln!("{}: started", key(source, resource));
        let now = Instant::now();
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(key(source, resource), (now, now));
    }

    fn advanced(&self, source: &str, resource: &str, pages: usize, rows: usize) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((started, printed)) = running.get_mut(&key(source, resource))
            && printed.elapsed() >= PLAIN_EVERY
        {
            *printed = Instant::now();
            eprintln!(
                "{}: {pages} pages, {rows} rows so far ({:.0} s)",
                key(source, resource),
                started.elapsed().as_secs_f64()
            );
        }
    }

    fn finished(&self, source: &str, resource: &str, rows: usize, ok: bool) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let took = running
            .remove(&key(source, resource))
            .map_or(0.0, |(started, _)| started.elapsed().as_secs_f64());
        match ok {
            true => eprintln!(
                "{}: done, {rows} rows in {took:.1} s",
                key(source, resource)
            ),
            false => eprintln!("{}: failed after {took:.1} s", key(source, resource)),
        }
    }
}
