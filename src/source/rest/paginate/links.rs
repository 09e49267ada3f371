//! Link-following paginators: the next page's URL is in the body (`json_link`/`next_url`) or in
//! the `Link: <...>; rel="next"` header. Relative links resolve against the current URL.

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use url::Url;

use super::{PaginateError, Paginator, ResponseView};
use crate::source::json_path;
use crate::source::rest::request::PageRequest;

/// What to do when a next-page link gives the same records again.
const LINK_ADVICE: &str = "the API's next-page link leads to the same records, so pagination \
    would never end; use `paginator: single_page` if the endpoint returns everything at once";

/// Remembers the links followed, so a link that comes back is an error instead of a hang.
#[derive(Debug, Default)]
struct Followed(HashSet<String>);

impl Followed {
    fn follow(
        &mut self,
        req: &mut PageRequest,
        base: &Url,
        link: &str,
    ) -> Result<bool, PaginateError> {
        let next = base
            .join(link)
            .map_err(|_| PaginateError::BadLink(link.to_string()))?;
        if next == *base || !self.0.insert(next.to_string()) {
            return Err(PaginateError::Loop(format!("next-page link {link:?}")));
        }
        req.follow(next);
        Ok(true)
    }
}

/// The next URL is at `next_url_path` in the body.
#[derive(Debug)]
pub struct JsonLink {
    path: String,
    followed: Followed,
}

impl JsonLink {
    /// Follows the URL found at `path`.
    pub fn new(path: String) -> Self {
        Self {
            path,
            followed: Followed::default(),
        }
    }
}

impl Paginator for JsonLink {
    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        match json_path::find(resp.body, &self.path) {
            Some(serde_json::Value::String(link)) if !link.is_empty() => {
                self.followed.follow(req, resp.url, link)
            }
            _ => Ok(false),
        }
    }

    fn advice(&self) -> String {
        LINK_ADVICE.into()
    }

    fn describe(&self) -> String {
        format!("json_link: the next page's URL at `{}`", self.path)
    }
}

/// The next URL is the `Link` header's `rel="next"`.
#[derive(Debug, Default)]
pub struct HeaderLink {
    followed: Followed,
}

impl Paginator for HeaderLink {
    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        match next_link(resp.headers) {
            Some(link) => self.followed.follow(req, resp.url, &link),
            None => Ok(false),
        }
    }

    fn advice(&self) -> String {
        LINK_ADVICE.into()
    }

    fn describe(&self) -> String {
        "header_link: the next page's URL in the `Link` header (rel=\"next\")".into()
    }
}

/// The `rel="next"` target of the `Link` header(s), if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn req(url: &Url) -> PageRequest {
        PageRequest {
            method: crate::source::rest::config::HttpMethod::GET,
            url: url.clone(),
            query: vec![("page".into(), "1".into())],
            headers: vec![],
            json: None,
        }
    }

    #[test]
    fn relative_links_resolve_and_replace_the_query() {
        let url = Url::parse("http://api.test/v1/items?page=1").unwrap();
        let headers = HeaderMap::new();
        let body = json!({"next_page_url": "/v1/items?page=2"});
        let view = ResponseView {
            url: &url,
            headers: &headers,
            body: &body,
            records: 1,
        };
        let mut r = req(&url);
        let mut p = JsonLink::new("next_page_url".into());
        assert!(p.advance(&mut r, &view).unwrap());
        assert_eq!(r.full_url().as_str(), "http://api.test/v1/items?page=2");
        assert!(matches!(
            p.advance(&mut r, &view),
            Err(PaginateError::Loop(_))
        ));
    }

    #[test]
    fn link_header_rel_next_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(
                "<http://a/?p=1>; rel=\"prev\", <http://a/?p=3>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&h).as_deref(), Some("http://a/?p=3"));
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
