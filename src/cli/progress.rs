//! What `dango sync` shows while it runs: on a terminal, one live line per resource (pages,
//! rows, rows/s, elapsed; a bar with an ETA once the API has said how many pages there are)
//! with `indicatif`; elsewhere (CI, logs, pipes) plain lines when a resource starts and ends,
//! and every 10 s (`DANGO_PROGRESS_SECONDS`) for long ones. Both on stderr: stdout keeps the
//! summary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Advance, Progress, ProgressSink};

/// Seconds between the plain lines of a long resource, unless `DANGO_PROGRESS_SECONDS` says.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The interval of plain lines: `DANGO_PROGRESS_SECONDS` if it is a number of seconds.
fn plain_every() -> Duration {
    std::env::var("DANGO_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(PLAIN_EVERY)
}

/// Time left at the rate so far, once some of `expected` pages are done.
fn eta(at: &Advance, elapsed: Duration) -> Option<Duration> {
    let expected = at.expected?;
    let done = u32::try_from(at.pages).ok().filter(|&d| d > 0)?;
    let left = u32::try_from(expected.saturating_sub(at.pages)).ok()?;
    Some(elapsed / done * left)
}

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

    fn advanced(&self, source: &str, resource: &str, at: Advance) {
        let bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((bar, started)) = bars.get(&key(source, resource)) else {
            return;
        };
        let rate = at.rows as f64 / started.elapsed().as_secs_f64().max(0.001);
        match at.expected {
            Some(expected) => {
                if bar.length().is_none() {
                    bar.set_style(bar_style());
                }
                bar.set_length(expected as u64);
                bar.set_position(at.pages as u64);
                bar.set_message(format!("{} rows, {rate:.0} rows/s", at.rows));
            }
            None => bar.set_message(format!(
                "{} pages, {} rows, {rate:.0} rows/s",
                at.pages, at.rows
            )),
        }
    }

    fn resumed(&self, source: &str, resource: &str, pages: u64, rows: u64, at: &str) {
        let _ = self
            .multi
            .println(resuming(source, resource, pages, rows, at));
    }

    fn finished(&self, source: &str, resource: &str, _rows: usize, _ok: bool) {
        let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((bar, _)) = bars.remove(&key(source, resource)) {
            // The summary that follows says how it went.
            bar.finish_and_clear();
        }
    }
}

/// The line that says a resource goes on from a checkpoint.
fn resuming(source: &str, resource: &str, pages: u64, rows: u64, at: &str) -> String {
    format!(
        "{}: resuming after page {pages} — checkpoint of {at}, {rows} rows",
        key(source, resource)
    )
}

/// A resource's line once its number of pages is known: a bar and the time left.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix}: [{bar:30}] {pos}/{len} pages, {msg} ({elapsed}, about {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Plain lines for logs.
struct Lines {
    /// When each running resource started and last printed.
    running: Mutex<HashMap<String, (Instant, Instant)>>,
    /// How often a running resource prints.
    every: Duration,
}

impl Default for Lines {
    fn default() -> Self {
        Self {
            running: Mutex::default(),
            every: plain_every(),
        }
    }
}

impl ProgressSink for Lines {
    fn started(&self, source: &str, resource: &str) {
        eprintln!("{}: started", key(source, resource));
        let now = Instant::now();
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(key(source, resource), (now, now));
    }

    fn advanced(&self, source: &str, resource: &str, at: Advance) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((started, printed)) = running.get_mut(&key(source, resource)) else {
            return;
        };
        if printed.elapsed() < self.every {
            return;
        }
        *printed = Instant::now();
        let elapsed = started.elapsed();
        let pages = match at.expected {
            Some(expected) => format!("{}/{expected} pages", at.pages),
            None => format!("{} pages", at.pages),
        };
        let left = eta(&at, elapsed)
            .map(|left| format!(", about {:.0} s left", left.as_secs_f64()))
            .unwrap_or_default();
        eprintln!(
            "{}: {pages}, {} rows so far ({:.0} s{left})",
            key(source, resource),
            at.rows,
            elapsed.as_secs_f64()
        );
    }

    fn resumed(&self, source: &str, resource: &str, pages: u64, rows: u64, at: &str) {
        eprintln!("{}", resuming(source, resource, pages, rows, at));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_the_rate_so_far_over_the_pages_left() {
        let at = |pages, expected| Advance {
            pages,
            rows: pages * 10,
            expected,
        };
        let four = Duration::from_secs(4);
        assert_eq!(eta(&at(2, Some(10)), four), Some(Duration::from_secs(16)));
        assert_eq!(eta(&at(10, Some(10)), four), Some(Duration::ZERO));
        assert_eq!(eta(&at(0, Some(10)), four), None);
        assert_eq!(eta(&at(2, None), four), None);
    }
}
