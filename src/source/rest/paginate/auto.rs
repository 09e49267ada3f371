//! No `pagination:` given: detect it from the first response in dlt's order — `Link` header, a
//! next-page URL in the body, a total-pages count, a next-page cursor — else a single page.

use serde_json::Value;

use super::config::{CursorConfig, PageNumberConfig};
use super::cursor::Cursor;
use super::links::{HeaderLink, JsonLink, next_link};
use super::page_number::PageNumber;
use super::{PaginateError, Paginator, ResponseView, SinglePage};
use crate::source::rest::request::PageRequest;

/// Decides on the first response, then delegates.
#[derive(Default)]
pub struct Auto {
    chosen: Option<(Detected, Box<dyn Paginator>)>,
}

/// What the first response showed, enough to build the paginator again on resume.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Detected {
    /// A `Link: <...>; rel="next"` header.
    HeaderLink,
    /// A next-page URL in the body, at this path.
    JsonLink(String),
    /// A total of pages in the body, at this path.
    PageNumber(String),
    /// A next-page cursor in the body, at this path.
    Cursor(String),
    /// Nothing: the response is the only page.
    SinglePage,
}

impl Detected {
    fn paginator(&self) -> Box<dyn Paginator> {
        match self.clone() {
            Self::HeaderLink => Box::new(HeaderLink::default()),
            Self::JsonLink(path) => Box::new(JsonLink::new(path)),
            // The first page (1) is already fetched: continue from it.
            Self::PageNumber(path) => Box::new(PageNumber::new(PageNumberConfig {
                param: "page".into(),
                start: 1,
                page_size: None,
                page_size_param: "per_page".into(),
                total_path: Some(path),
                maximum_page: None,
                has_more_path: None,
                stop_after_empty_page: true,
                max_pages: None,
            })),
            Self::Cursor(path) => Box::new(Cursor::new(CursorConfig {
                param: "cursor".into(),
                cursor_path: path,
                has_more_path: None,
                max_pages: None,
            })),
            Self::SinglePage => Box::new(SinglePage),
        }
    }
}

impl Paginator for Auto {
    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        if self.chosen.is_none() {
            let detected = detect(resp);
            let mut paginator = detected.paginator();
            paginator.prepare(req);
            self.chosen = Some((detected, paginator));
        }
        match self.chosen.as_mut() {
            Some((_, p)) => p.advance(req, resp),
            None => Ok(false),
        }
    }

    fn state(&self) -> Value {
        match &self.chosen {
            Some((detected, p)) => serde_json::json!({"detected": detected, "state": p.state()}),
            None => Value::Null,
        }
    }

    fn restore(&mut self, state: &Value) {
        let detected = state
            .get("detected")
            .and_then(|d| serde_json::from_value::<Detected>(d.clone()).ok());
        if let Some(detected) = detected {
            let mut paginator = detected.paginator();
            paginator.restore(state.get("state").unwrap_or(&Value::Null));
            self.chosen = Some((detected, paginator));
        }
    }

    fn ahead(&self, next: &PageRequest) -> Option<super::Requests> {
        self.chosen.as_ref()?.1.ahead(next)
    }

    fn pages_left(&self) -> Option<u64> {
        self.chosen.as_ref()?.1.pages_left()
    }

    fn advice(&self) -> String {
        let chosen = self
            .chosen
            .as_ref()
            .map(|(_, p)| p.advice())
            .unwrap_or_default();
        format!(
            "{chosen} (the paginator was detected from the first response: set `paginator:` to choose it)"
        )
    }

    fn describe(&self) -> String {
        match &self.chosen {
            Some((_, p)) => format!(
                "{}, detected from the first response (set `paginator:` to choose it)",
                p.describe()
            ),
            None => "auto: detected from the first response".into(),
        }
    }
}

fn detect(resp: &ResponseView<'_>) -> Detected {
    if next_link(resp.headers).is_some() {
        tracing::debug!("detected header_link pagination");
        return Detected::HeaderLink;
    }
    let next = find_next(resp.body, &mut Vec::new());
    if let Some((path, Value::String(link))) = &next
        && (link.starts_with("http") || link.starts_with('/'))
    {
        tracing::debug!(path = %path.join("."), "detected json_link pagination");
        return Detected::JsonLink(path.join("."));
    }
    if let Some(path) = find_total_pages(resp.body, &mut Vec::new()) {
        tracing::debug!(path = %path.join("."), "detected page_number pagination");
        return Detected::PageNumber(path.join("."));
    }
    if let Some((path, _)) = next {
        tracing::debug!(path = %path.join("."), "detected cursor pagination");
        return Detected::Cursor(path.join("."));
    }
    Detected::SinglePage
}

/// dlt's `find_next_page_path`: a key starting with `next` (`next`, `next_page_url`, `nextCursor`),
/// holding a scalar or `{href|url...: scalar}`.
fn find_next(body: &Value, path: &mut Vec<String>) -> Option<(Vec<String>, Value)> {
    let Value::Object(map) = body else {
        return None;
    };
    for (key, value) in map {
        if key.to_ascii_lowercase().starts_with("next") {
            match value {
                Value::Object(inner) => {
                    let hit = inner.iter().find(|(k, v)| {
                        let k = k.to_ascii_lowercase();
                        (k.starts_with("href") || k.starts_with("url")) && is_scalar(v)
                    });
                    if let Some((k, v)) = hit {
                        let full = [path.clone(), vec![key.clone(), k.clone()]].concat();
                        return Some((full, v.clone()));
                    }
                }
                v if is_scalar(v) => {
                    return Some(([path.clone(), vec![key.clone()]].concat(), v.clone()));
                }
                _ => {}
            }
        }
        if value.is_object() {
            path.push(key.clone());
            let found = find_next(value, path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

/// dlt's `find_total_pages_path`: `total_pages`, `pages` or `totalpages` holding a number.
fn find_total_pages(body: &Value, path: &mut Vec<String>) -> Option<Vec<String>> {
    let Value::Object(map) = body else {
        return None;
    };
    for (key, value) in map {
        let lower = key.to_ascii_lowercase();
        if matches!(lower.as_str(), "total_pages" | "pages" | "totalpages")
            && super::as_count(value).is_some()
        {
            return Some([path.clone(), vec![key.clone()]].concat());
        }
        if value.is_object() {
            path.push(key.clone());
            let found = find_total_pages(value, path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_next_links_nested_and_as_href() {
        let body = json!({"links": {"next": {"href": "/p2"}}});
        assert_eq!(
            find_next(&body, &mut vec![]).map(|(p, _)| p.join(".")),
            Some("links.next.href".to_string())
        );
        let body = json!({"data": [], "next_page_url": "http://a/2"});
        assert_eq!(
            find_next(&body, &mut vec![]).unwrap().0,
            vec!["next_page_url".to_string()]
        );
    }

    #[test]
    fn a_detected_paginator_is_described_by_what_it_does_not_by_its_stall_advice() {
        let mut link = reqwest::header::HeaderMap::new();
        link.insert(
            reqwest::header::LINK,
            reqwest::header::HeaderValue::from_static("</items?page=2>; rel=\"next\""),
        );
        let none = reqwest::header::HeaderMap::new();
        let cases = [
            (
                json!({"data": [1], "next_page_url": "http://a/2"}),
                &none,
                "json_link",
            ),
            (
                json!({"data": [1], "meta": {"total_pages": 3}}),
                &none,
                "page_number",
            ),
            (json!({"data": [1], "next_cursor": "c2"}), &none, "cursor"),
            (json!([1]), &link, "header_link"),
            (json!({"data": [1]}), &none, "single_page"),
        ];
        for (body, headers, kind) in cases {
            let mut auto = Auto::default();
            let mut req = super::super::test_support::request();
            let url = req.url.clone();
            let view = ResponseView {
                url: &url,
                headers,
                body: &body,
                records: 1,
            };
            auto.advance(&mut req, &view).unwrap();
            let described = auto.describe();
            assert!(described.starts_with(kind), "{kind}: {described}");
            assert!(described.contains("detected"), "{described}");
            assert!(!described.contains("never end"), "{described}");
            assert!(auto.advice().contains("never end") || kind == "single_page");
        }
    }

    #[test]
    fn finds_total_pages() {
        let body = json!({"meta": {"totalPages": 3}});
        assert_eq!(
            find_total_pages(&body, &mut vec![]),
            Some(vec!["meta".to_string(), "totalPages".to_string()])
        );
    }
}
