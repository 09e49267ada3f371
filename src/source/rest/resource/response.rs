//! One response of a REST resource: sent, parsed on a blocking worker, its records selected;
//! and what `dango source test` shows of it.

use std::ops::Range;

use serde_json::Value;
use url::Url;

use super::super::client::{PageResponse, excerpt};
use super::super::config::PaginationConfig;
use super::super::error::FetchError;
use super::super::request::PageRequest;
use super::super::selector::{LocateError, Located, locate_records, take_records};
use super::{Pager, RestResource};
use crate::redact::Redactor;
use crate::source::Records;

impl RestResource {
    /// Sends `req` and parses the response on a blocking worker (parsing is CPU work the async
    /// runtime should not do). `None` when a response action says to ignore it.
    pub(super) async fn fetch_page(
        &self,
        req: &PageRequest,
    ) -> Result<Option<Fetched>, FetchError> {
        let url = req.full_url();
        let Some(resp) = self
            .client
            .send(req, &self.endpoint.response_actions)
            .await?
        else {
            return Ok(None);
        };
        let (redactor, selector) = (self.redactor.clone(), self.endpoint.data_selector.clone());
        let seen = Seen {
            method: format!("{:?}", req.method),
            status: resp.status,
            elapsed: resp.elapsed,
            body_head: redactor
                .redact(&String::from_utf8_lossy(
                    &resp.body[..resp.body.len().min(BODY_HEAD * 4)],
                ))
                .chars()
                .take(BODY_HEAD)
                .collect(),
        };
        let parsed = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let (body, records) = select(&redactor, &url, &resp, selector.as_deref())?;
            Ok(Fetched {
                url,
                seen,
                headers: resp.headers,
                body,
                records,
                parse_time: started.elapsed(),
            })
        })
        .await
        .map_err(FetchError::Worker)?;
        parsed.map(Some)
    }

    /// What `dango source test` shows of one page's request and response.
    pub(super) fn exchange(
        &self,
        url: &Url,
        seen: Seen,
        headers: &reqwest::header::HeaderMap,
        pager: &Pager,
        next: Option<String>,
    ) -> crate::source::Exchange {
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let value = match k.as_str() {
                    "authorization" | "proxy-authorization" | "cookie" | "set-cookie" => {
                        "<redacted>".to_string()
                    }
                    _ => self.redactor.redact(v.to_str().unwrap_or("<binary>")),
                };
                (k.to_string(), value)
            })
            .collect();
        let selector = match &self.endpoint.data_selector {
            Some(s) => format!("{s} (configured)"),
            None => "detected from the response (set `data_selector:` to choose it)".into(),
        };
        // What the paginator does; its `advice` is for a page that repeats, and on a healthy
        // API reads as a false alarm.
        let paginator = match &self.paginator {
            None | Some(PaginationConfig::Auto(_)) => pager.paginator.describe(),
            Some(_) => format!("{} (configured)", pager.paginator.describe()),
        };
        crate::source::Exchange {
            request: format!("{} {}", seen.method, self.redactor.redact(url.as_str())),
            status: seen.status,
            elapsed: seen.elapsed,
            headers,
            body_head: seen.body_head,
            selector,
            paginator,
            next,
        }
    }
}

/// One response, parsed, with its records selected but not yet delivered.
pub(super) struct Fetched {
    pub(super) url: Url,
    /// Method, status, time and the start of the body, for `dango source test`.
    pub(super) seen: Seen,
    pub(super) headers: reqwest::header::HeaderMap,
    /// The body without its records, for the paginator.
    pub(super) body: Value,
    pub(super) records: Records,
    pub(super) parse_time: std::time::Duration,
}

/// Characters of a body `dango source test` shows.
const BODY_HEAD: usize = 500;

/// What was seen of one response besides its records.
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) status: u16,
    pub(super) elapsed: std::time::Duration,
    pub(super) body_head: String,
}

/// Splits a response into the records `selector` picks and the rest of its JSON body. Records
/// stay text unless the selector needs the parsed body.
fn select(
    redactor: &Redactor,
    url: &Url,
    resp: &PageResponse,
    selector: Option<&str>,
) -> Result<(Value, Records), FetchError> {
    let not_json = || FetchError::NotJson {
        url: redactor.redact(url.as_str()),
        content_type: content_type(&resp.headers),
        excerpt: excerpt(redactor, &resp.body, &resp.headers),
    };
    let nothing = |source| FetchError::Selector {
        url: redactor.redact(url.as_str()),
        source,
    };
    match locate_records(&resp.body, selector) {
        Ok(Some(Located {
            mut rest,
            spans,
            path,
        })) => {
            with_last_record(&mut rest, &path, &resp.body, spans.last());
            let body = resp.body.clone();
            Ok((rest, Records::Text { body, spans }))
        }
        Ok(None) => {
            let mut body = crate::json::parse(&resp.body).map_err(|_| not_json())?;
            let records = take_records(&mut body, selector).map_err(nothing)?;
            Ok((body, Records::Parsed(records)))
        }
        Err(LocateError::NotJson(_)) => Err(not_json()),
        Err(LocateError::NothingSelected(source)) => Err(nothing(source)),
    }
}

/// Puts the last record back where the records were in `rest`, as a list of one: a cursor that
/// is the last record's id (dlt's `cursor_path: data[-1].id`, Stripe's lists) reads it there.
/// The other records stay out of what the paginator sees.
fn with_last_record(rest: &mut Value, path: &[String], body: &[u8], last: Option<&Range<usize>>) {
    let Some(record) =
        last.and_then(|span| serde_json::from_slice::<Value>(&body[span.clone()]).ok())
    else {
        return;
    };
    let pointer: String = path
        .iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect();
    if let Some(slot) = rest.pointer_mut(&pointer) {
        *slot = Value::Array(vec![record]);
    }
}

/// A response's `Content-Type`, for error messages.
pub(super) fn content_type(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string()
}
