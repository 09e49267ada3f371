//! A backfill cut into windows (`--window`): up to `parallel` windows of the resource are
//! fetched at once, each over its own range, and their pages handed on as they come. The
//! position sent with each page holds every window's place (not started, at a request, or
//! done), so a checkpoint resumes each window where it was and skips the finished ones; once
//! all are done, the range is recorded in the resource's state and the cursor moves past it
//! when it reaches it.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use super::super::error::FetchError;
use super::super::incremental::{Incremental, IncrementalConfig, LastValueFunc, RangeBound};
use super::super::position::Position;
use super::{Fetched, RestResource, Run};
use crate::hints::CursorState;
use crate::source::{
    CursorWindow, FetchInput, FetchOutcome, Newest, Page, PageSender, Resource, Span, WindowSplit,
    completed_backfill, plan_windows,
};

/// A backfill's windows, as a checkpoint saves them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Backfill {
    /// The resource's config digest: only the config that wrote it replays it.
    config: String,
    /// The whole range, as the command gave it.
    range: Span,
    /// Windows of the resource fetched at once.
    parallel: usize,
    windows: Vec<Window>,
    /// The newest record loaded so far, in any window.
    #[serde(default)]
    newest: Newest,
}

/// One window of a backfill.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Window {
    since: Value,
    until: Value,
    /// Where it continues (a [`Position`]); `None` before its first page.
    #[serde(default)]
    at: Option<Value>,
    /// Whether its last page was delivered.
    #[serde(default)]
    done: bool,
}

/// What a window hands the pages' merger.
enum Event {
    /// One of its pages.
    Page(Page),
    /// Its last page was handed on.
    Done,
}

impl Backfill {
    /// A checkpoint's position, if a backfill wrote it.
    pub(super) fn read(saved: &Value) -> Option<Self> {
        saved.get("windows")?;
        serde_json::from_value(saved.clone()).ok()
    }

    /// The windows `range` is cut into, without the ranges `saved` says were loaded.
    pub(super) fn plan(
        config: String,
        range: &CursorWindow,
        split: WindowSplit,
        saved: Option<&CursorState>,
    ) -> Result<Self, crate::source::WindowError> {
        let (Some(since), Some(until)) = (range.since.clone(), range.until.clone()) else {
            return Err(crate::source::WindowError::WindowWithoutStart);
        };
        let done = saved.map(|s| s.backfilled.as_slice()).unwrap_or_default();
        let windows = plan_windows(&since, &until, split.step, done)?
            .into_iter()
            .map(|(since, until)| Window {
                since,
                until,
                at: None,
                done: false,
            })
            .collect();
        Ok(Self {
            config,
            range: (since, until),
            parallel: split.parallel,
            windows,
            newest: Newest::default(),
        })
    }

    /// The config digest that wrote it.
    pub(super) fn config(&self) -> &str {
        &self.config
    }

    /// Windows in all, and those done.
    pub(super) fn progress(&self) -> (usize, usize) {
        let done = self.windows.iter().filter(|w| w.done).count();
        (self.windows.len(), done)
    }

    /// Takes in the newest record of a window, from the position sent with its last page.
    fn see(&mut self, position: &Value) {
        let at = position.get("incremental").cloned();
        let at: Option<super::super::incremental::IncrementalPosition> =
            at.and_then(|a| serde_json::from_value(a).ok());
        if let Some((value, hashes)) = at.as_ref().and_then(|a| a.newest()) {
            self.newest.see(value, hashes);
        }
    }

    /// The same backfill from the start: every window to load again (its rows of the
    /// interrupted sync are gone or will be replaced).
    pub(super) fn rewound(mut self) -> Self {
        for w in &mut self.windows {
            w.at = None;
            w.done = false;
        }
        self.newest = Newest::default();
        self
    }
}

impl RestResource {
    /// Loads a backfill cut into windows, when the flags ask for one or an interrupted one
    /// is resumed (by the config that wrote it); `None` otherwise. A resumed window whose
    /// request no longer works starts the whole backfill over.
    pub(super) async fn run_backfill(
        &self,
        input: &FetchInput,
        pages: &mut PageSender,
        config: &str,
    ) -> Result<Option<FetchOutcome>, FetchError> {
        let saved = input.saved.as_ref();
        let resumed = input
            .resume
            .as_ref()
            .and_then(Backfill::read)
            .filter(|b| b.config() == config);
        let split = input
            .window
            .as_ref()
            .and_then(|w| w.split.map(|split| (w, split)));
        let backfill = match (resumed, split) {
            (Some(resumed), _) => {
                let (total, done) = resumed.progress();
                tracing::info!(
                    resource = %self.name,
                    "resuming an interrupted backfill: {done} of {total} windows done"
                );
                if input.window.is_some() {
                    tracing::warn!(
                        resource = %self.name,
                        "an interrupted backfill is resumed first, with its own windows; run \
                         the command again for the range it gives"
                    );
                }
                resumed
            }
            (None, Some((window, split))) if input.resume.is_none() => {
                if self.parent.is_some() {
                    return Err(FetchError::NoCursorForWindow(self.name.clone()));
                }
                Backfill::plan(config.to_string(), window, split, saved)
                    .map_err(|e| FetchError::Backfill(self.name.clone(), e))?
            }
            _ => return Ok(None),
        };
        match self.backfill(backfill.clone(), saved, pages).await {
            Err(FetchError::Expired(why)) => {
                self.restart_pages(why, pages).await?;
                self.backfill(backfill.rewound(), saved, pages)
                    .await
                    .map(Some)
            }
            other => other.map(Some),
        }
    }

    /// Loads every window of `backfill` not yet done, `parallel` at once, into `pages`. A
    /// window resumed at a request that no longer works fails the whole backfill with
    /// [`FetchError::Expired`] before any page is handed on, so it can start over cleanly.
    pub(super) async fn backfill(
        &self,
        mut backfill: Backfill,
        saved: Option<&CursorState>,
        pages: &mut PageSender,
    ) -> Result<FetchOutcome, FetchError> {
        let config = self
            .endpoint
            .incremental
            .clone()
            .ok_or_else(|| FetchError::NoCursorForWindow(self.name.clone()))?;
        if config.last_value_func == LastValueFunc::Min {
            let refused = crate::source::WindowError::MinCursor;
            return Err(FetchError::Backfill(self.name.clone(), refused));
        }
        let whole = CursorWindow {
            since: Some(backfill.range.0.clone()),
            until: Some(backfill.range.1.clone()),
            split: None,
        };
        Incremental::new(config.clone(), saved)
            .with_window(&whole, saved)
            .map_err(|e| FetchError::Window(self.name.clone(), e))?;
        let (total, done) = backfill.progress();
        tracing::info!(
            resource = %self.name,
            "backfill {} .. {}: {} windows to load, {done} already done",
            backfill.range.0, backfill.range.1, total - done
        );
        // Resumed windows send their saved request first: an expired one must be known
        // before any window's page is handed on.
        let todo: Vec<(usize, Window)> = backfill
            .windows
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.done)
            .map(|(i, w)| (i, w.clone()))
            .collect();
        let mut firsts = BTreeMap::new();
        for (i, w) in &todo {
            if let Some(at) = &w.at {
                firsts.insert(*i, self.first_of_resumed(at, &config).await?);
            }
        }
        let checkpointed = self.checkpoint_every().is_some();
        let parallel = backfill.parallel.max(1);
        let (events_tx, mut events_rx) = mpsc::channel::<(usize, Event)>(parallel);
        // The closure holds the last sender: once every window is done and the stream is
        // dropped, the merger sees the end of the events.
        let window_config = config.clone();
        let work = futures::stream::iter(todo)
            .map(move |(i, w)| {
                let events = events_tx.clone();
                let first = firsts.remove(&i);
                let config = window_config.clone();
                async move { self.window(i, w, first, &config, saved, events).await }
            })
            .buffer_unordered(parallel)
            .try_fold(
                (Duration::ZERO, Newest::default()),
                |(sum, mut newest), (took, window_newest)| async move {
                    if let Some(w) = window_newest.value {
                        newest.see(&w, &window_newest.hashes);
                    }
                    Ok((sum + took, newest))
                },
            );
        let merge = async {
            while let Some((i, event)) = events_rx.recv().await {
                let window = &mut backfill.windows[i];
                match event {
                    Event::Done => {
                        window.done = true;
                        window.at = None;
                    }
                    Event::Page(page) => {
                        // A page with no next request is its window's last: the window is done
                        // once it is in, and a checkpoint commits it as soon as pacing allows.
                        let last = page
                            .position
                            .as_ref()
                            .is_some_and(|p| p.get("next").is_some_and(Value::is_null));
                        window.done = last;
                        window.at = page.position.clone().filter(|_| !last);
                        // A finished window's newest record is kept with the backfill; a
                        // running one's is in its own position, and in its result at the end.
                        if let Some(p) = page.position.as_ref().filter(|_| last) {
                            backfill.see(p);
                        }
                        let position = match checkpointed {
                            true => serde_json::to_value(&backfill).ok(),
                            false => None,
                        };
                        pages
                            .send_settled(page.records, position, last)
                            .await
                            .map_err(|_| FetchError::Cancelled)?;
                    }
                }
            }
            Ok::<_, FetchError>(())
        };
        let (worked, merged) = tokio::join!(work, merge);
        let (parse, newest) = worked?;
        // Without checkpoints no page carries a position: the windows say what they loaded.
        if let Some(value) = &newest.value {
            backfill.newest.see(value, &newest.hashes);
        }
        merged?;
        let cursor = completed_backfill(
            saved,
            &self.name,
            &config.cursor_path,
            config.initial_value.as_ref(),
            backfill.range.clone(),
            &backfill.newest,
        );
        let shown = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let range = format!(
            "{} .. {}",
            shown(&backfill.range.0),
            shown(&backfill.range.1)
        );
        let before = saved.map_or(Value::Null, |s| s.last_value.clone());
        let moved = match cursor.last_value == before {
            true => "the cursor stays where it was".to_string(),
            false => format!("the cursor moves to {}", shown(&cursor.last_value)),
        };
        let note = match (total, done) {
            (0, _) => format!("backfill {range}: loaded before, nothing asked for"),
            (_, 0) => format!("backfill {range}: {total} window(s) loaded; {moved}"),
            _ => format!(
                "backfill {range}: {} window(s) loaded, {done} by the interrupted sync; {moved}",
                total - done
            ),
        };
        Ok(FetchOutcome {
            cursor: Some(cursor),
            parse,
            note: Some(note),
            http: self.client.traffic(),
        })
    }

    /// The first page of a window resumed at `at`: its saved request sent again. A client
    /// error (4xx but 429) or a position that does not read means it no longer works.
    async fn first_of_resumed(
        &self,
        at: &Value,
        config: &IncrementalConfig,
    ) -> Result<Option<Fetched>, FetchError> {
        let expired = |why: String| FetchError::Expired(why);
        let position =
            Position::read(at, &self.config_digest()).map_err(|e| expired(e.to_string()))?;
        let Some(next) = &position.next else {
            return Ok(None);
        };
        let run = self.window_run(config, None, position.incremental.clone(), None);
        let first = self.request_for(None, &run)?;
        let req = Position::request(next, first).map_err(|e| expired(e.to_string()))?;
        match self.fetch_page(&req).await {
            Err(FetchError::Status { status, url, .. })
                if (400..500).contains(&status) && status != 429 =>
            {
                Err(expired(format!(
                    "its saved request {url} was answered with HTTP {status}"
                )))
            }
            other => other,
        }
    }

    /// Loads window `i` (from its saved place, whose first page is `first`) and tells the
    /// merger of each page and of its end; the time spent parsing.
    async fn window(
        &self,
        i: usize,
        window: Window,
        first: Option<Option<Fetched>>,
        config: &IncrementalConfig,
        saved: Option<&CursorState>,
        events: mpsc::Sender<(usize, Event)>,
    ) -> Result<(Duration, Newest), FetchError> {
        let (tx, mut rx) = mpsc::channel::<Page>(1);
        let position = match &window.at {
            Some(at) => Some(
                Position::read(at, &self.config_digest())
                    .map_err(|e| FetchError::Expired(e.to_string()))?,
            ),
            None => None,
        };
        let range = CursorWindow {
            since: Some(window.since.clone()),
            until: Some(window.until.clone()),
            split: None,
        };
        let resumed = position.as_ref().and_then(|p| p.incremental.clone());
        let mut run = self.window_run(config, Some(&range), resumed, saved);
        run.pages = PageSender::new(tx);
        // The run owns the window's sender: it is dropped when the fetch ends, which ends the
        // forwarding below.
        let fetch = async move {
            match (&position, first) {
                (Some(p), Some(first)) => {
                    if let (Some(next), Some(first)) = (&p.next, first) {
                        let req = Position::request(next, self.request_for(None, &run)?)
                            .map_err(|e| FetchError::Expired(e.to_string()))?;
                        let extra = BTreeMap::new();
                        self.paginate_from(req, Some(&p.paginator), Some(first), &extra, &mut run)
                            .await?;
                    }
                }
                _ => {
                    let req = self.request_for(None, &run)?;
                    self.paginate(req, None, &BTreeMap::new(), &mut run).await?;
                }
            }
            let mut newest = Newest::default();
            if let Some(at) = run.incremental.as_ref().map(Incremental::position)
                && let Some((value, hashes)) = at.newest()
            {
                newest.see(value, hashes);
            }
            Ok::<_, FetchError>((run.parse, newest))
        };
        let forward = async {
            while let Some(page) = rx.recv().await {
                if events.send((i, Event::Page(page))).await.is_err() {
                    return;
                }
            }
        };
        let (fetched, ()) = tokio::join!(fetch, forward);
        let (parse, newest) = fetched?;
        events
            .send((i, Event::Done))
            .await
            .map_err(|_| FetchError::Cancelled)?;
        Ok((parse, newest))
    }

    /// The run of one window: its range `[since, until)` (records at a window's edge belong
    /// to the window that starts there, whatever `range_start`/`range_end` say), or the
    /// range a checkpoint saved.
    fn window_run(
        &self,
        config: &IncrementalConfig,
        range: Option<&CursorWindow>,
        resumed: Option<super::super::incremental::IncrementalPosition>,
        saved: Option<&CursorState>,
    ) -> Run {
        let mut config = config.clone();
        config.range_start = RangeBound::Closed;
        config.range_end = RangeBound::Open;
        let incremental = match (resumed, range) {
            (Some(at), _) => Incremental::resumed(config, at),
            (None, Some(range)) => {
                let fresh = Incremental::new(config, saved);
                // The bounds were checked against the cursor when the backfill began.
                fresh.clone().with_window(range, saved).unwrap_or(fresh)
            }
            (None, None) => Incremental::new(config, saved),
        };
        Run {
            parse: Duration::ZERO,
            pages: PageSender::new(mpsc::channel(1).0),
            incremental: Some(incremental),
            exchanges: None,
            parent_row: None,
        }
    }
}
