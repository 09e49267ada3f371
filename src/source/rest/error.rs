//! Errors of a REST resource, worded so the user knows what to do. URLs and bodies pass through
//! the source's redactor before they are put in an error.

/// Why fetching a resource failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `--since`/`--until`/`--backfill` on a resource without an incremental cursor.
    #[error(
        "resource `{0}` has no incremental cursor, so --since, --until and --backfill cannot apply \
         to it: give it `incremental:` in sources.yml, or sync a source without it"
    )]
    NoCursorForWindow(String),
    /// `--window` that cannot cut this resource's range.
    #[error("resource `{0}`: {1}")]
    Backfill(String, #[source] crate::source::WindowError),
    /// A checkpoint's position no longer works; the resource starts over (never reported as a
    /// failure of its own).
    #[error("the checkpoint's position no longer works: {0}")]
    Expired(String),
    /// A `--since`/`--until` bound that does not compare with the resource's cursor.
    #[error("resource `{0}`: {1}")]
    Window(String, #[source] super::incremental::WindowMismatch),
    /// The server answered with an error status that retries did not cure.
    #[error("{method} {url} failed with HTTP {status}{after}: {excerpt}{hint}")]
    Status {
        /// GET or POST.
        method: &'static str,
        /// The URL, secrets redacted.
        url: String,
        /// The final status.
        status: u16,
        /// ` after N attempts`, when retried.
        after: String,
        /// Start of the response body, secrets redacted.
        excerpt: String,
        /// What to check, e.g. the credential in use.
        hint: String,
    },
    /// The request did not get a response.
    #[error("{method} {url}: {reason}{after}")]
    Transport {
        /// GET or POST.
        method: &'static str,
        /// The URL, secrets redacted.
        url: String,
        /// What happened (connection refused, timeout, DNS).
        reason: String,
        /// ` after N attempts`, when retried.
        after: String,
    },
    /// The response was not JSON.
    #[error("{url} did not return JSON (content-type {content_type:?}): {excerpt}")]
    NotJson {
        /// The URL, secrets redacted.
        url: String,
        /// The response's `Content-Type`.
        content_type: String,
        /// Start of the body, secrets redacted.
        excerpt: String,
    },
    /// The data selector found no records in a response.
    #[error("{url}: {source}")]
    Selector {
        /// The URL, secrets redacted.
        url: String,
        /// What the selector saw.
        source: super::selector::NothingSelected,
    },
    /// The paginator would fetch the same page again, forever.
    #[error("{url}: pagination loops ({detail}); check the paginator's settings")]
    PaginationLoop {
        /// The URL, secrets redacted.
        url: String,
        /// The repeated cursor or link.
        detail: String,
    },
    /// Pagination made no progress (a page repeated the last one), or hit its page cap.
    #[error("{url}: {detail}")]
    NoProgress {
        /// The URL of the page that stopped it, secrets redacted.
        url: String,
        /// What happened and what to set.
        detail: String,
    },
    /// A URL in the config or a response could not be used.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL, secrets redacted.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// Authentication could not be set up (e.g. the OAuth2 token request failed).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// A record could not be placed relative to the incremental cursor.
    #[error("{url}: {reason}")]
    Incremental {
        /// The URL, secrets redacted.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The consumer of the pages stopped (the sync is failing elsewhere).
    #[error("the sync was stopped")]
    Cancelled,
    /// A parsing worker died (a bug, reported rather than hidden).
    #[error("internal error: a parsing worker failed: {0}")]
    Worker(#[source] tokio::task::JoinError),
}
