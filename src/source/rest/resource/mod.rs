//! One REST resource as a [`Resource`]: send, parse, select the records, ask the paginator for
//! the next request, repeat. A dependent resource does this once per parent record.

mod endpoint;
mod response;
mod resume;
mod windows;

use std::collections::BTreeMap;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use url::Url;

use super::client::RestClient;
use super::config::{EndpointConfig, HttpMethod, PaginationConfig, ResourceConfig, RestApiConfig};
use super::dependent;
use super::error::FetchError;
use super::incremental::{Incremental, IncrementalPosition};
use super::paginate::{self, Paginator, Requests, ResponseView, Stall, StallGuard};
use super::position::Position;
use super::request::{PageRequest, param_text};
use super::resource_config::CheckpointConfig;
use crate::hints::{CursorState, TableHints};
use crate::redact::Redactor;
use crate::source::{
    BoxError, CheckpointInterval, FetchInput, FetchOutcome, PageSender, ParentLink, Records,
    Resource,
};
pub use endpoint::endpoint_url;
pub(crate) use endpoint::percent_decode;
use endpoint::register_userinfo;
use response::{Fetched, content_type};

/// A configured REST endpoint, ready to fetch.
#[derive(Debug, Clone)]
pub struct RestResource {
    name: String,
    hints: TableHints,
    selected: bool,
    endpoint: EndpointConfig,
    base_url: String,
    source_params: BTreeMap<String, Value>,
    paginator: Option<PaginationConfig>,
    parent: Option<ParentLink>,
    include_from_parent: Vec<String>,
    client: RestClient,
    redactor: Redactor,
    concurrency: usize,
    /// Records between checkpoints; `None`: none.
    checkpoint: Option<CheckpointInterval>,
}

impl RestResource {
    /// Plans `resource` of a `rest_api` block whose `${VAR}`s are already substituted, loading
    /// as `hints` say.
    pub fn new(
        api: &RestApiConfig,
        resource: &ResourceConfig,
        hints: TableHints,
        client: RestClient,
        redactor: Redactor,
    ) -> Result<Self, FetchError> {
        let endpoint = resource.effective_endpoint();
        let base_url = api.effective_base_url().unwrap_or_default().to_string();
        for url in [&base_url, &endpoint.path] {
            register_userinfo(url, &redactor);
        }
        let parent_refs = dependent::parent_refs(&endpoint);
        let parent = parent_refs.first().map(|p| {
            let mut fields: Vec<String> = parent_refs.iter().map(|r| r.field.clone()).collect();
            fields.extend(resource.include_from_parent.iter().cloned());
            fields.sort();
            fields.dedup();
            ParentLink {
                resource: p.resource.clone(),
                fields,
            }
        });
        let this = Self {
            name: resource.name.clone(),
            hints,
            selected: resource.selected,
            paginator: endpoint
                .paginator
                .clone()
                .or_else(|| api.effective_paginator().cloned()),
            endpoint,
            base_url,
            source_params: api.params.clone(),
            parent,
            include_from_parent: resource.include_from_parent.clone(),
            client,
            redactor,
            concurrency: api.concurrency.get(),
            checkpoint: CheckpointConfig::every(resource.checkpoint, api.checkpoint),
        };
        if this.parent.is_none() {
            // Check the URL now, so a bad one fails before any request of the sync.
            endpoint_url(&this.base_url, &this.endpoint.path).map_err(|reason| {
                FetchError::BadUrl {
                    url: this
                        .redactor
                        .redact(&format!("{} + {}", this.base_url, this.endpoint.path)),
                    reason,
                }
            })?;
        }
        Ok(this)
    }

    /// Fetches every page into `pages`, in order. With `parents`, runs once per parent row;
    /// with an `incremental` config, starts where `saved` says the last sync stopped.
    pub async fn run(
        self,
        input: FetchInput,
        mut pages: PageSender,
    ) -> Result<FetchOutcome, FetchError> {
        let config = self.config_digest();
        if let Some(outcome) = self.run_backfill(&input, &mut pages, &config).await? {
            return Ok(outcome);
        }
        // A checkpoint that cannot be replayed is reported, and the resource starts over.
        let (resume, unreadable) = match input.resume.as_ref().map(|s| Position::read(s, &config)) {
            Some(Ok(position)) => (Some(position), None),
            Some(Err(e)) => (None, Some(e.to_string())),
            None => (None, None),
        };
        let incremental = match (self.endpoint.incremental.clone(), &resume) {
            (
                Some(c),
                Some(Position {
                    incremental: Some(at),
                    ..
                }),
            ) => {
                // The interrupted sync's range, whatever the flags of this one.
                Some(Incremental::resumed(c, at.clone()))
            }
            (c, _) => c.map(|c| Incremental::new(c, input.saved.as_ref())),
        };
        if resume.is_some() && input.window.is_some() {
            tracing::warn!(
                resource = %self.name,
                "an interrupted sync is resumed first, with its own range; run the command \
                 again for the range it gives"
            );
        }
        let window = input
            .window
            .as_ref()
            .filter(|_| resume.is_none() && unreadable.is_none());
        let incremental = match (incremental, window) {
            (Some(inc), Some(window)) => Some(
                inc.with_window(window, input.saved.as_ref())
                    .map_err(|e| FetchError::Window(self.name.clone(), e))?,
            ),
            (None, Some(_)) => return Err(FetchError::NoCursorForWindow(self.name.clone())),
            (inc, None) => inc,
        };
        let mut run = Run {
            parse: std::time::Duration::ZERO,
            pages,
            incremental,
            exchanges: input.exchanges,
            parent_row: None,
        };
        if let Some(why) = unreadable {
            self.start_over(why, None, &mut run).await?;
        }
        match (input.parents, resume) {
            (None, Some(resume)) => {
                let replayed = match &resume.next {
                    Some(next) => {
                        let no_extra = BTreeMap::new();
                        self.replay(next, &resume.paginator, None, &no_extra, &mut run)
                            .await
                    }
                    None => Ok(()),
                };
                match replayed {
                    Err(FetchError::Expired(why)) => {
                        let range = resume.incremental.map(IncrementalPosition::rewound);
                        self.start_over(why, range, &mut run).await?;
                        let req = self.request_for(None, &run)?;
                        self.paginate(req, None, &BTreeMap::new(), &mut run).await?;
                    }
                    other => other?,
                }
            }
            (None, None) => {
                let req = self.request_for(None, &run)?;
                self.paginate(req, None, &BTreeMap::new(), &mut run).await?;
            }
            (Some(rows), resume) => {
                match self.per_parent_row(&rows, resume.as_ref(), &mut run).await {
                    Err(FetchError::Expired(why)) => {
                        let range = resume
                            .and_then(|r| r.incremental)
                            .map(IncrementalPosition::rewound);
                        self.start_over(why, range, &mut run).await?;
                        self.per_parent_row(&rows, None, &mut run).await?;
                    }
                    other => other?,
                }
            }
        }
        let cursor = run.incremental.as_ref().and_then(|i| i.state(&self.name));
        Ok(FetchOutcome {
            cursor,
            parse: run.parse,
            note: None,
            http: self.client.traffic(),
        })
    }

    /// Paginates once per parent record of `rows`; from where a checkpoint's position left
    /// off (`resume`: a record, and the request within it), if given.
    async fn per_parent_row(
        &self,
        rows: &[Map<String, Value>],
        resume: Option<&Position>,
        run: &mut Run,
    ) -> Result<(), FetchError> {
        let parent = self
            .parent
            .as_ref()
            .map(|p| p.resource.clone())
            .unwrap_or_default();
        // The record the checkpoint was in, and its next request (none: it was done).
        let (from, mut at) = match resume.and_then(|p| p.parent_row.map(|i| (i, p))) {
            Some((i, p)) => match &p.next {
                Some(next) => (i, Some((next, &p.paginator))),
                None => (i + 1, None),
            },
            None => (0, None),
        };
        for (i, row) in rows.iter().enumerate().skip(from) {
            run.parent_row = Some(i);
            let extra = dependent::included_fields(&parent, &self.include_from_parent, row);
            match at.take() {
                Some((next, paginator)) => {
                    self.replay(next, paginator, Some(row), &extra, run).await?;
                }
                None => {
                    let req = self.request_for(Some(row), run)?;
                    self.paginate(req, None, &extra, run).await?;
                }
            }
        }
        Ok(())
    }

    /// The first request, with parent and incremental placeholders filled in.
    fn request_for(
        &self,
        parent: Option<&Map<String, Value>>,
        run: &Run,
    ) -> Result<PageRequest, FetchError> {
        let mut pairs = match (parent, &self.parent) {
            (Some(values), Some(link)) => dependent::parent_pairs(&link.resource, values),
            _ => Vec::new(),
        };
        if let Some(inc) = &run.incremental {
            pairs.extend(inc.placeholders());
        }
        let fill = |text: &str| dependent::fill_text(text, &pairs);
        let path = fill(&self.endpoint.path);
        let url = endpoint_url(&self.base_url, &path).map_err(|reason| FetchError::BadUrl {
            url: self.redactor.redact(&format!("{} + {path}", self.base_url)),
            reason,
        })?;
        let mut query: Vec<(String, String)> = Vec::new();
        let incremental_params = run
            .incremental
            .as_ref()
            .map(|i| i.params())
            .unwrap_or_default();
        let params = self.source_params.iter().chain(self.endpoint.params.iter());
        for (k, v) in params.chain(incremental_params.iter().map(|(k, v)| (k, v))) {
            query.retain(|(existing, _)| existing != k);
            // A parameter that is just a placeholder with no value (`{incremental.end_value}`
            // without an end) is left out, as dlt's requests leave out a None, not sent as
            // the text `null`.
            let text = param_text(v);
            let unset = pairs
                .iter()
                .any(|(p, value)| p.as_str() == text.trim() && value.is_null());
            if !unset {
                query.push((k.clone(), fill(&text)));
            }
        }
        let headers = self
            .endpoint
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), fill(v)))
            .collect();
        let json = self
            .endpoint
            .json
            .as_ref()
            .map(|j| dependent::fill_value(j, &pairs));
        let method = self.endpoint.method.unwrap_or(if json.is_some() {
            HttpMethod::POST
        } else {
            HttpMethod::GET
        });
        Ok(PageRequest {
            method,
            url,
            query,
            headers,
            json,
        })
    }

    /// Follows the paginator from `req` until the last page; from a checkpoint's request, with
    /// the paginator as it was there (`resumed`). Once a total tells which pages follow, up to
    /// `concurrency` of them are fetched at once and delivered in order.
    async fn paginate(
        &self,
        req: PageRequest,
        resumed: Option<&Value>,
        extra: &BTreeMap<String, Value>,
        run: &mut Run,
    ) -> Result<(), FetchError> {
        self.paginate_from(req, resumed, None, extra, run).await
    }

    /// [`Self::paginate`], the response to `req` already `fetched` when given.
    async fn paginate_from(
        &self,
        mut req: PageRequest,
        resumed: Option<&Value>,
        mut fetched: Option<Fetched>,
        extra: &BTreeMap<String, Value>,
        run: &mut Run,
    ) -> Result<(), FetchError> {
        let mut pager = Pager {
            paginator: paginate::build(self.paginator.as_ref()),
            stall_guard: StallGuard::new(self.paginator.as_ref().and_then(|p| p.max_pages())),
        };
        match resumed {
            Some(state) => pager.paginator.restore(state),
            None => pager.paginator.prepare(&mut req),
        }
        if let Some(inc) = run.incremental.as_mut() {
            inc.new_pagination();
        }
        loop {
            let page = match fetched.take() {
                Some(page) => page,
                None => match self.fetch_page(&req).await? {
                    Some(page) => page,
                    None => return Ok(()),
                },
            };
            if !self.deliver(page, &mut req, &mut pager, extra, run).await? {
                return Ok(());
            }
            let ordered = run.incremental.as_ref().is_some_and(|i| !i.fetches_ahead());
            let planned = match run.pages.fetch_ahead() && !ordered {
                true => self.plan_ahead(pager.paginator.as_ref(), &req),
                false => None,
            };
            let Some(planned) = planned else {
                continue;
            };
            let mut pages = futures::stream::iter(planned)
                .map(|planned| async move {
                    let page = self.fetch_page(&planned).await;
                    (planned, page)
                })
                .buffered(self.concurrency);
            while let Some((planned, page)) = pages.next().await {
                // The paginator may disagree with the plan (say the total shrank): then the rest
                // of the plan is dropped and pagination goes on one page at a time from `req`.
                if planned != req {
                    break;
                }
                let Some(page) = page? else {
                    return Ok(());
                };
                if !self.deliver(page, &mut req, &mut pager, extra, run).await? {
                    return Ok(());
                }
            }
        }
    }

    /// The requests to fetch concurrently from `next` on, if the paginator knows them. Only
    /// GETs: a POST may not be safe to send ahead of knowing it is wanted.
    fn plan_ahead(&self, paginator: &dyn Paginator, next: &PageRequest) -> Option<Requests> {
        if self.concurrency < 2 || next.method != HttpMethod::GET {
            return None;
        }
        paginator.ahead(next)
    }

    /// Hands one page's records to the consumer and moves `req` on to the next page; `false`
    /// when the paginator says it was the last.
    async fn deliver(
        &self,
        page: Fetched,
        req: &mut PageRequest,
        pager: &mut Pager,
        extra: &BTreeMap<String, Value>,
        run: &mut Run,
    ) -> Result<bool, FetchError> {
        let Fetched {
            url,
            seen,
            headers,
            body,
            records,
            parse_time,
        } = page;
        run.parse += parse_time;
        pager
            .stall_guard
            .page(&records)
            .map_err(|stall| self.stalled(&url, &stall, pager))?;
        // Paginators judge the page by what the API sent; incremental filtering comes after.
        let count = records.len();
        let records = self.keep_new(records, &url, &headers, extra, run)?;
        let past_range = run
            .incremental
            .as_ref()
            .is_some_and(Incremental::past_range);
        let view = ResponseView {
            url: &url,
            headers: &headers,
            body: &body,
            records: count,
        };
        let more = pager.paginator.advance(req, &view).map_err(|e| match e {
            paginate::PaginateError::Loop(detail) => FetchError::PaginationLoop {
                url: self.redactor.redact(url.as_str()),
                detail,
            },
            other => FetchError::BadUrl {
                url: self.redactor.redact(url.as_str()),
                reason: other.to_string(),
            },
        })?;
        let more = more && !past_range;
        // Where to go on after this page, sent with it: a checkpoint after it saves this.
        let position = self.checkpoint_every().and_then(|_| {
            let next = more.then_some(&*req);
            Position::after(
                &self.config_digest(),
                next,
                pager.paginator.as_ref(),
                run.incremental.as_ref(),
                run.parent_row,
                &self.redactor,
            )
        });
        if run.pages.send_at(records, position).await.is_err() {
            return Err(FetchError::Cancelled);
        }
        tracing::debug!(resource = %self.name, page = run.pages.pages(), records = count, "page");
        if more {
            pager
                .stall_guard
                .next()
                .map_err(|stall| self.stalled(&url, &stall, pager))?;
            // A dependent resource paginates once per parent row: one row's total is not its own.
            if self.parent.is_none()
                && let Some(left) = pager.paginator.pages_left()
            {
                run.pages
                    .expect_more(usize::try_from(left).unwrap_or(usize::MAX));
            }
        }
        if let Some(exchanges) = &run.exchanges {
            let next = more.then(|| self.redactor.redact(req.full_url().as_str()));
            let _ = exchanges.send(self.exchange(&url, seen, &headers, pager, next));
        }
        Ok(more && !run.pages.done())
    }

    /// The records to load of a page: those the incremental cursor has not loaded before, with
    /// the parent's fields a dependent resource includes. Text records stay text when the
    /// cursor can be read from their text and nothing is added to them.
    fn keep_new(
        &self,
        mut records: Records,
        url: &Url,
        headers: &reqwest::header::HeaderMap,
        extra: &BTreeMap<String, Value>,
        run: &mut Run,
    ) -> Result<Records, FetchError> {
        let incremental_error = |e: &dyn std::fmt::Display| FetchError::Incremental {
            url: self.redactor.redact(url.as_str()),
            reason: e.to_string(),
        };
        if let (Some(inc), Records::Text { body, spans }, true) =
            (run.incremental.as_mut(), &mut records, extra.is_empty())
            && inc.reads_text()
        {
            *spans = inc
                .filter_text(body, std::mem::take(spans))
                .map_err(|e| incremental_error(&e))?;
            return Ok(records);
        }
        if run.incremental.is_none() && extra.is_empty() {
            return Ok(records);
        }
        // These steps look inside the records, so they are parsed here.
        let mut values = records.into_values().map_err(|e| FetchError::NotJson {
            url: self.redactor.redact(url.as_str()),
            content_type: content_type(headers),
            excerpt: e.to_string(),
        })?;
        if let Some(inc) = run.incremental.as_mut() {
            values = inc.filter(values).map_err(|e| incremental_error(&e))?;
        }
        for record in &mut values {
            if let Value::Object(map) = record {
                map.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Ok(Records::Parsed(values))
    }

    /// The error for pagination stopped by `stall` at the page from `url`.
    fn stalled(&self, url: &Url, stall: &Stall, pager: &Pager) -> FetchError {
        FetchError::NoProgress {
            url: self.redactor.redact(url.as_str()),
            detail: stall.describe(&pager.paginator.advice()),
        }
    }
}

/// The paginator of one run and its watch against pagination that never ends.
struct Pager {
    paginator: Box<dyn Paginator>,
    stall_guard: StallGuard,
}

/// The state of one fetch: the page channel, the cursor, parsing time.
struct Run {
    parse: std::time::Duration,
    pages: PageSender,
    incremental: Option<Incremental>,
    /// Where `dango source test` hears of each request.
    exchanges: Option<tokio::sync::mpsc::UnboundedSender<crate::source::Exchange>>,
    /// For a dependent resource, which of its parent's records it is paginating (0-based).
    parent_row: Option<usize>,
}

impl Resource for RestResource {
    fn name(&self) -> &str {
        &self.name
    }

    fn hints(&self) -> &TableHints {
        &self.hints
    }

    fn selected(&self) -> bool {
        self.selected
    }

    fn incremental(&self) -> bool {
        self.endpoint.incremental.is_some()
    }

    fn checkpoint_every(&self) -> Option<CheckpointInterval> {
        self.checkpoint
    }

    fn parent(&self) -> Option<&ParentLink> {
        self.parent.as_ref()
    }

    fn fetch(
        self: Box<Self>,
        input: FetchInput,
        pages: PageSender,
    ) -> BoxFuture<'static, Result<FetchOutcome, BoxError>> {
        Box::pin(async move { self.run(input, pages).await.map_err(BoxError::from) })
    }

    fn first_request(&self, saved: Option<&CursorState>) -> Option<String> {
        if let Some(parent) = &self.parent {
            return Some(format!("once per record of `{}`", parent.resource));
        }
        let run = Run {
            parse: std::time::Duration::ZERO,
            // Never sent to: the run only fills the request's placeholders.
            pages: PageSender::new(tokio::sync::mpsc::channel(1).0),
            incremental: self
                .endpoint
                .incremental
                .clone()
                .map(|c| Incremental::new(c, saved)),
            exchanges: None,
            parent_row: None,
        };
        let mut req = self.request_for(None, &run).ok()?;
        paginate::build(self.paginator.as_ref()).prepare(&mut req);
        let shown = self.redactor.redact(req.full_url().as_str());
        Some(format!("{:?} {shown}", req.method))
    }
}
