//! What a REST resource's requests cost: counted as they are sent, read once it finishes, for
//! the summary's metrics (`dango sync --metrics-file`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::source::HttpCounts;

/// A resource's request counters, shared by the clones of its client.
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    bytes: AtomicU64,
}

impl Traffic {
    /// An attempt was sent (whatever came of it).
    pub fn sent(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt is retried; `throttled`: because the API answered 429.
    pub fn retried(&self, throttled: bool) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        if throttled {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A response body of `bytes` was read.
    pub fn received(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn counts(&self) -> HttpCounts {
        HttpCounts {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}
