//! The one interface every kind of source implements. A resource says where its rows land
//! ([`TableHints`]), which resource feeds it (if any), and fetches its pages into a
//! [`PageSender`]; it takes its saved incremental state in and hands the new state back, and the
//! engine commits that state in the same transaction as the rows.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::CursorWindow;
use super::page::PageSender;
use crate::hints::{CursorState, TableHints};

/// Any error a resource fails with; the engine shows it, prefixed with the resource's name.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One captured parent record: its fields a dependent resource asked for, by JSONPath.
pub type ParentRow = Map<String, Value>;

/// A resource that runs once per record of another resource of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentLink {
    /// The parent resource's name.
    pub resource: String,
    /// JSONPaths of the fields of each parent record this resource needs.
    pub fields: Vec<String>,
}

/// One request a resource made and what came back, for `dango source test` (secrets
/// redacted). Resources that make no HTTP requests report none.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// Method and URL.
    pub request: String,
    /// Status code.
    pub status: u16,
    /// Time to the response, retries included.
    pub elapsed: Duration,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The start of the body.
    pub body_head: String,
    /// The data selector used, and whether it was configured or detected.
    pub selector: String,
    /// The paginator used, and whether it was configured or detected.
    pub paginator: String,
    /// The next request it would make, if any.
    pub next: Option<String>,
}

/// How often a resource commits a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointInterval {
    /// Records between checkpoints.
    pub rows: usize,
    /// Whether checkpoints are also spaced out in time, so that they cost a fast sync next to
    /// nothing (the default interval); an interval the user set is kept to the record.
    pub paced: bool,
}

impl CheckpointInterval {
    /// Every `rows` records exactly (at least 1).
    pub fn exactly(rows: usize) -> Self {
        Self {
            rows: rows.max(1),
            paced: false,
        }
    }
}

/// What the engine hands a resource when it runs.
#[derive(Debug, Clone, Default)]
pub struct FetchInput {
    /// For a dependent resource, the fields it asked for of each of its parent's records.
    pub parents: Option<Vec<ParentRow>>,
    /// The state committed by the last successful sync of this resource, if any.
    pub saved: Option<CursorState>,
    /// Where to report each request and response (`dango source test`); `None` in a sync.
    pub exchanges: Option<tokio::sync::mpsc::UnboundedSender<Exchange>>,
    /// A range of the incremental cursor to load instead of "from the saved cursor on".
    pub window: Option<CursorWindow>,
    /// Where an interrupted sync's last checkpoint left this resource: the position it sent
    /// with its last committed page ([`super::PageSender::send_at`]). It continues from there.
    pub resume: Option<serde_json::Value>,
}

/// What a resource hands back once its last page is sent.
#[derive(Debug, Clone, Default)]
pub struct FetchOutcome {
    /// The incremental state to commit with this sync's rows (`None`: keep the saved one).
    pub cursor: Option<CursorState>,
    /// Time spent parsing responses, summed over pages, for `-v` output (zero if not measured).
    pub parse: Duration,
    /// A line for the sync's summary about how it ran (a backfill's windows), if any.
    pub note: Option<String>,
    /// Its HTTP requests, for the metrics (zero for resources that send none Dango sees).
    pub http: HttpCounts,
}

/// A resource's HTTP requests in one sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpCounts {
    /// Attempts sent, retries included.
    pub requests: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Retries because the API answered 429 Too Many Requests.
    pub throttled: u64,
    /// Response bytes read.
    pub bytes: u64,
}

/// A producer of one table's rows: the hints of its table and an async stream of pages.
pub trait Resource: Send + 'static {
    /// The resource's name, unique within its source: cursors are saved under it, and its
    /// dependents name it.
    fn name(&self) -> &str;

    /// Where and how its rows land.
    fn hints(&self) -> &TableHints;

    /// Every table whose hints are known before it runs, its own first. Its pages may also
    /// name tables found while running ([`super::Page::table`]).
    fn tables(&self) -> Vec<&TableHints> {
        vec![self.hints()]
    }

    /// One line on what runs it, for `dango validate` (a Python source's interpreter and dlt
    /// version).
    fn describe(&self) -> Option<String> {
        None
    }

    /// The first request it would send after a sync that saved `saved`, for `dango sync
    /// --dry-run` (secrets redacted); `None` if it sends none it can tell in advance.
    fn first_request(&self, _saved: Option<&CursorState>) -> Option<String> {
        None
    }

    /// Whether it loads from an incremental cursor it declares up front (`incremental:` of a
    /// REST resource), so a partial run would have it load the same records again.
    fn incremental(&self) -> bool {
        false
    }

    /// How often it commits checkpoints, if it sends the positions a resumed sync needs
    /// ([`super::PageSender::send_at`]); `None`: it commits once, at the end of its sync.
    fn checkpoint_every(&self) -> Option<CheckpointInterval> {
        None
    }

    /// `false`: run only to feed the resources that depend on it; its rows are not loaded.
    fn selected(&self) -> bool {
        true
    }

    /// The resource this one runs once per record of, if any.
    fn parent(&self) -> Option<&ParentLink> {
        None
    }

    /// Fetches every page, in order, into `pages`. Returning early when a send fails
    /// ([`super::Stopped`]) is expected: the engine has stopped the sync.
    fn fetch(
        self: Box<Self>,
        input: FetchInput,
        pages: PageSender,
    ) -> BoxFuture<'static, Result<FetchOutcome, BoxError>>;
}
