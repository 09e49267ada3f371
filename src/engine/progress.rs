//! Progress of a sync as it happens, for whoever shows it (the command line's bars or log
//! lines): when each resource starts and ends, and its pages and rows as they are built.

use std::fmt;
use std::sync::Arc;

/// Receives progress events; called from the engine's tasks, so it must be quick.
pub trait ProgressSink: Send + Sync {
    /// A resource started fetching.
    fn started(&self, source: &str, resource: &str);
    /// A resource has got this far.
    fn advanced(&self, source: &str, resource: &str, at: Advance);
    /// A resource finished loading (`ok`) or failed, with its records.
    fn finished(&self, source: &str, resource: &str, rows: usize, ok: bool);
    /// A resource goes on from an interrupted sync's checkpoint of `at`, which had committed
    /// `pages` pages of `rows` records.
    fn resumed(&self, source: &str, resource: &str, pages: u64, rows: u64, at: &str) {
        let _ = (source, resource, pages, rows, at);
    }
}

/// How far a resource has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advance {
    /// Pages built so far.
    pub pages: usize,
    /// Records on them.
    pub rows: usize,
    /// Pages the resource will have in all, when the API said (a total in its responses).
    pub expected: Option<usize>,
}

/// A shared [`ProgressSink`], part of the sync's options.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn ProgressSink>);

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress")
    }
}

/// The progress of one resource of one source.
#[derive(Clone)]
pub struct ResourceProgress {
    sink: Option<Arc<dyn ProgressSink>>,
    source: String,
    resource: String,
}

impl ResourceProgress {
    /// Progress of `resource` of `source` to `sink`, if any.
    pub fn new(sink: Option<&Progress>, source: &str, resource: &str) -> Self {
        Self {
            sink: sink.map(|p| p.0.clone()),
            source: source.to_string(),
            resource: resource.to_string(),
        }
    }

    /// The resource started.
    pub fn started(&self) {
        if let Some(s) = &self.sink {
            s.started(&self.source, &self.resource);
        }
    }

    /// It has built `pages` pages of `rows` records so far, of `expected` pages if known.
    pub fn advanced(&self, pages: usize, rows: usize, expected: Option<usize>) {
        if let Some(s) = &self.sink {
            let at = Advance {
                pages,
                rows,
                expected,
            };
            s.advanced(&self.source, &self.resource, at);
        }
    }

    /// It goes on from a checkpoint of `at` (`pages` pages, `rows` records committed).
    pub fn resumed(&self, pages: u64, rows: u64, at: &str) {
        if let Some(s) = &self.sink {
            s.resumed(&self.source, &self.resource, pages, rows, at);
        }
    }

    /// It finished (`ok`) or failed.
    pub fn finished(&self, rows: usize, ok: bool) {
        if let Some(s) = &self.sink {
            s.finished(&self.source, &self.resource, rows, ok);
        }
    }
}
