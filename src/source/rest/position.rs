//! Where a REST resource stands between two pages, as a checkpoint saves it: the next request
//! (its URL, query and body; headers and auth are made again from the config, so no secret they
//! carry is written down), the paginator's counters, and the incremental range with the newest
//! value seen. A resumed sync sends that request and goes on as the interrupted one would have.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::incremental::{Incremental, IncrementalPosition};
use super::paginate::Paginator;
use super::request::PageRequest;
use crate::redact::Redactor;

/// A REST resource's position after a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// A digest of the resource's config where it shapes requests: a position is only
    /// replayed by the config that made it.
    pub config: String,
    /// The next request; `None` once the last page was delivered.
    pub next: Option<SavedRequest>,
    /// The paginator's state ([`Paginator::state`]).
    #[serde(default)]
    pub paginator: Value,
    /// The incremental run, if the resource has a cursor.
    #[serde(default)]
    pub incremental: Option<IncrementalPosition>,
    /// For a dependent resource: which of its parent's records (0-based) the page was for;
    /// `next` goes on with that record, or, once it is `None`, the resource goes on with the
    /// record after it.
    #[serde(default)]
    pub parent_row: Option<usize>,
}

/// The parts of a request that pagination changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedRequest {
    /// The URL, without the query pairs.
    pub url: String,
    /// The query, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, for a POST.
    #[serde(default)]
    pub json: Option<Value>,
}

/// Why a checkpoint's position cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnreadablePosition(String);

impl Position {
    /// The position after a page: `next` (none after the last page), with the paginator's and
    /// the cursor's state. `None` when it would hold one of the source's secrets (an API key
    /// in a next-page link): a checkpoint must not write it to the warehouse.
    pub fn after(
        config: &str,
        next: Option<&PageRequest>,
        paginator: &dyn Paginator,
        incremental: Option<&Incremental>,
        parent_row: Option<usize>,
        redactor: &Redactor,
    ) -> Option<Value> {
        let position = Self {
            config: config.to_string(),
            next: next.map(|r| SavedRequest {
                url: r.url.to_string(),
                query: r.query.clone(),
                json: r.json.clone(),
            }),
            paginator: paginator.state(),
            incremental: incremental.map(Incremental::position),
            parent_row,
        };
        let value = serde_json::to_value(position).ok()?;
        let text = value.to_string();
        (redactor.redact(&text) == text).then_some(value)
    }

    /// A saved position read back, if the resource's config (its digest `config`) is still the
    /// one that wrote it.
    pub fn read(saved: &Value, config: &str) -> Result<Self, UnreadablePosition> {
        let position: Self =
            serde_json::from_value(saved.clone()).map_err(|e| UnreadablePosition(e.to_string()))?;
        if position.config != config {
            return Err(UnreadablePosition(
                "the resource's endpoint, paginator or cursor changed since".into(),
            ));
        }
        Ok(position)
    }

    /// `first` (the request the config makes, headers and all) sent where the position says.
    pub fn request(
        saved: &SavedRequest,
        mut first: PageRequest,
    ) -> Result<PageRequest, UnreadablePosition> {
        first.url = Url::parse(&saved.url).map_err(|e| UnreadablePosition(e.to_string()))?;
        first.query = saved.query.clone();
        first.json = saved.json.clone();
        Ok(first)
    }
}
