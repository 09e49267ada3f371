//! Going on from a checkpoint: replaying its saved request, or, when that no longer works,
//! starting the resource over; and the digest that tells whether a checkpoint was written by
//! this config.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::error::FetchError;
use super::super::incremental::{Incremental, IncrementalPosition};
use super::super::position::{Position, SavedRequest};
use super::{RestResource, Run};
use crate::source::PageSender;

impl RestResource {
    /// Goes on from a checkpoint's request `next`, the paginator as it was there. A client
    /// error (4xx but 429) on that first request means the position no longer works (a cursor
    /// token expired): [`FetchError::Expired`].
    pub(super) async fn replay(
        &self,
        next: &SavedRequest,
        paginator: &Value,
        parent: Option<&serde_json::Map<String, Value>>,
        extra: &BTreeMap<String, Value>,
        run: &mut Run,
    ) -> Result<(), FetchError> {
        let first = self.request_for(parent, run)?;
        let req = Position::request(next, first).map_err(|e| FetchError::Expired(e.to_string()))?;
        let sent = run.pages.pages();
        match self.paginate(req, Some(paginator), extra, run).await {
            Err(FetchError::Status { status, url, .. })
                if run.pages.pages() == sent && (400..500).contains(&status) && status != 429 =>
            {
                Err(FetchError::Expired(format!(
                    "its saved request {url} was answered with HTTP {status}"
                )))
            }
            other => other,
        }
    }

    /// Reports that the checkpoint cannot be replayed (`why`) and starts the resource over:
    /// from `range`, the checkpoint's incremental range, when it could be read.
    pub(super) async fn start_over(
        &self,
        why: String,
        range: Option<IncrementalPosition>,
        run: &mut Run,
    ) -> Result<(), FetchError> {
        if let (Some(config), Some(range)) = (self.endpoint.incremental.clone(), range) {
            run.incremental = Some(Incremental::resumed(config, range));
        }
        self.restart_pages(why, &mut run.pages).await
    }

    /// Reports that the checkpoint cannot be replayed (`why`) and tells the load, which forgets
    /// what the interrupted sync appended of the resource.
    pub(super) async fn restart_pages(
        &self,
        why: String,
        pages: &mut PageSender,
    ) -> Result<(), FetchError> {
        let why = format!("its checkpoint cannot be replayed ({why}); starting over");
        tracing::warn!(resource = %self.name, "{why}");
        pages.restart(why).await.map_err(|_| FetchError::Cancelled)
    }

    /// A digest of what shapes its requests, for checkpoints: secrets (headers, auth, query
    /// values) are left out, so a digest of them is not written to the warehouse either.
    pub(super) fn config_digest(&self) -> String {
        let e = &self.endpoint;
        let params: Vec<&String> = self.source_params.keys().chain(e.params.keys()).collect();
        let shape = format!(
            "{:?}|{:?}|{params:?}|{:?}|{:?}|{:?}",
            e.path, e.method, e.data_selector, self.paginator, e.incremental
        );
        crate::normalize::relational::digest128(&[shape.as_bytes()], 12)
    }
}
