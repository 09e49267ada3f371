//! Paginators: each decides, from one response, whether there is a next page and how to ask for
//! it. One file per kind; [`build`] turns `pagination:` config into one, and `auto` detects one
//! from the first response in dlt's order.

mod auto;
pub mod config;
mod cursor;
pub(crate) mod links;
mod offset;
mod page_number;
mod stall_guard;

pub use stall_guard::{Stall, StallGuard};

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::request::PageRequest;
use config::PaginationConfig;

/// What a paginator sees of a response.
#[derive(Debug)]
pub struct ResponseView<'a> {
    /// The URL that was requested.
    pub url: &'a Url,
    /// Response headers.
    pub headers: &'a HeaderMap,
    /// The parsed body.
    pub body: &'a Value,
    /// How many records the data selector found in it.
    pub records: usize,
}

/// Why pagination cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaginateError {
    /// The same cursor or link came back twice.
    #[error("the response repeats {0}")]
    Loop(String),
    /// A next-page link could not be turned into a URL.
    #[error("next-page link {0:?} is not a URL")]
    BadLink(String),
}

/// Moves a request from one page to the next.
pub trait Paginator: Send {
    /// Sets up the first request (start page, limit, ...).
    fn prepare(&mut self, _req: &mut PageRequest) {}

    /// Updates `req` for the page after `resp`; `Ok(false)` when there is none.
    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError>;

    /// The requests from `next` on, when a total has told how many pages follow, so several can
    /// be in flight at once. `advance` stays the authority: the fetcher checks each page against it.
    fn ahead(&self, _next: &PageRequest) -> Option<Requests> {
        None
    }

    /// How many pages follow, counting the next request, when a total in the response said so:
    /// what a progress bar's length and ETA come from.
    fn pages_left(&self) -> Option<u64> {
        None
    }

    /// What it must remember to go on from the request it last prepared (a page or offset
    /// counter and the total), for a checkpoint; `Null` if the request says it all.
    fn state(&self) -> Value {
        Value::Null
    }

    /// Takes back [`Paginator::state`], to go on from a checkpoint's request.
    fn restore(&mut self, _state: &Value) {}

    /// What to do when a next page repeats the last one: the API ignores what this paginator
    /// sends (named here), and which setting to change. Only for that case: it reads as a fault.
    fn advice(&self) -> String;

    /// What this paginator does, in `paginator:` terms (`dango source test` shows it).
    fn describe(&self) -> String;
}

/// [`Paginator::advice`] for a paginator sending query parameter `param`, set by `setting`.
fn ignored_param(param: &str, setting: &str) -> String {
    format!(
        "the API ignores the `{param}` query parameter, so pagination would never end; set the \
         paginator's `{setting}` to the parameter the API reads, or use `paginator: single_page` \
         if the endpoint returns everything at once"
    )
}

/// Requests planned ahead of time, produced lazily (an API may have a million pages).
pub type Requests = Box<dyn Iterator<Item = PageRequest> + Send>;

/// `next` with query parameter `param` set to each of `values` in turn.
fn with_param(
    next: &PageRequest,
    param: &str,
    values: impl Iterator<Item = u64> + Send + 'static,
) -> Requests {
    let (next, param) = (next.clone(), param.to_string());
    Box::new(values.map(move |value| {
        let mut req = next.clone();
        req.set_param(&param, value);
        req
    }))
}

/// The paginator a resource's config asks for; `None` config means auto-detection.
pub fn build(config: Option<&PaginationConfig>) -> Box<dyn Paginator> {
    match config {
        Some(PaginationConfig::PageNumber(c)) => Box::new(page_number::PageNumber::new(c.clone())),
        Some(PaginationConfig::Offset(c)) => Box::new(offset::Offset::new(c.clone())),
        Some(PaginationConfig::Cursor(c)) => Box::new(cursor::Cursor::new(c.clone())),
        Some(PaginationConfig::NextUrl(c)) => {
            Box::new(links::JsonLink::new(c.next_url_path.clone()))
        }
        Some(PaginationConfig::HeaderLink(_)) => Box::new(links::HeaderLink::default()),
        Some(PaginationConfig::SinglePage(_)) => Box::new(SinglePage),
        Some(PaginationConfig::Auto(_)) | None => Box::new(auto::Auto::default()),
    }
}

/// Everything comes in the first response.
#[derive(Debug, Default)]
pub struct SinglePage;

impl Paginator for SinglePage {
    fn advance(
        &mut self,
        _: &mut PageRequest,
        _: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        Ok(false)
    }

    fn advice(&self) -> String {
        String::new()
    }

    fn describe(&self) -> String {
        "single_page: everything in one response".into()
    }
}

/// A counter paginator's [`Paginator::state`]: its position and the total last seen.
fn counter_state(at: u64, total: Option<u64>) -> Value {
    serde_json::json!({"at": at, "total": total})
}

/// The position and total of a [`counter_state`], if it is one.
fn counter_restored(state: &Value) -> Option<(u64, Option<u64>)> {
    let at = state.get("at")?.as_u64()?;
    Some((at, state.get("total").and_then(Value::as_u64)))
}

/// False only when `path` is set and the body says there is no more (dlt's `has_more_path`).
fn has_more(body: &Value, path: Option<&str>) -> bool {
    let Some(path) = path else { return true };
    match crate::source::json_path::find(body, path) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !matches!(
            s.to_ascii_lowercase().as_str(),
            "false" | "no" | "0" | "f" | "n"
        ),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

/// The count at `path` in `body` (a total of pages or records), if the path is set and holds one.
fn count_at(body: &Value, path: Option<&str>) -> Option<u64> {
    as_count(crate::source::json_path::find(body, path?)?)
}

/// A JSON number or numeric string as an integer (totals arrive both ways).
fn as_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A GET of `http://api.test/items` with no query.
    pub fn request() -> PageRequest {
        request_with(vec![])
    }

    /// A GET of `http://api.test/items` with `query`.
    pub fn request_with(query: Vec<(String, String)>) -> PageRequest {
        PageRequest {
            method: crate::source::rest::config::HttpMethod::GET,
            url: Url::parse("http://api.test/items").unwrap(),
            query,
            headers: vec![],
            json: None,
        }
    }

    /// Runs `p` over canned responses and returns the query of every request it makes.
    pub fn walk(p: &mut dyn Paginator, bodies: &[(Value, usize)]) -> Vec<Vec<(String, String)>> {
        let mut req = request();
        let url = req.url.clone();
        p.prepare(&mut req);
        let mut seen = vec![req.query.clone()];
        let headers = HeaderMap::new();
        for (body, records) in bodies {
            let view = ResponseView {
                url: &url,
                headers: &headers,
                body,
                records: *records,
            };
            if !p.advance(&mut req, &view).unwrap() {
                return seen;
            }
            seen.push(req.query.clone());
        }
        seen
    }

    pub fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }
}
