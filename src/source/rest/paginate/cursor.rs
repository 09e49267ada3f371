//! `type: cursor`: the cursor found at `cursor_path` in each response is sent back in `param`
//! until the response has none.

use super::config::CursorConfig;
use super::{PaginateError, Paginator, ResponseView, has_more, ignored_param};
use crate::source::json_path;
use crate::source::rest::request::PageRequest;

/// Follows cursors; refuses to send the same cursor twice.
#[derive(Debug)]
pub struct Cursor {
    config: CursorConfig,
    seen: std::collections::HashSet<String>,
}

impl Cursor {
    /// A cursor paginator reading `cursor_path`, writing `param`.
    pub fn new(config: CursorConfig) -> Self {
        Self {
            config,
            seen: Default::default(),
        }
    }
}

impl Paginator for Cursor {
    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        if !has_more(resp.body, self.config.has_more_path.as_deref()) {
            return Ok(false);
        }
        let cursor = match json_path::find(resp.body, &self.config.cursor_path) {
            Some(serde_json::Value::String(s)) if s.is_empty() => return Ok(false),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Bool(false)) | None => return Ok(false),
            Some(other) => other.to_string(),
        };
        if !self.seen.insert(cursor.clone()) {
            return Err(PaginateError::Loop(format!(
                "cursor {cursor:?} at `{}`",
                self.config.cursor_path
            )));
        }
        req.set_param(&self.config.param, cursor);
        Ok(true)
    }

    fn advice(&self) -> String {
        ignored_param(&self.config.param, "cursor_param")
    }

    fn describe(&self) -> String {
        format!(
            "cursor: `{}` of each response sent back as `{}`",
            self.config.cursor_path, self.config.param
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{q, walk};
    use super::*;
    use serde_json::json;

    fn cursor() -> Cursor {
        Cursor::new(CursorConfig {
            param: "after".into(),
            cursor_path: "paging.next".into(),
            has_more_path: None,
            max_pages: None,
        })
    }

    #[test]
    fn follows_cursors_until_missing() {
        let bodies = [
            (json!({"paging": {"next": "c1"}}), 1),
            (json!({"paging": {"next": "c2"}}), 1),
            (json!({"paging": {"next": null}}), 1),
        ];
        let seen = walk(&mut cursor(), &bodies);
        assert_eq!(
            seen,
            vec![q(&[]), q(&[("after", "c1")]), q(&[("after", "c2")])]
        );
    }

    #[test]
    fn a_repeated_cursor_is_an_error_not_a_hang() {
        let mut p = cursor();
        let url = url::Url::parse("http://x/").unwrap();
        let headers = reqwest::header::HeaderMap::new();
        let body = json!({"paging": {"next": "same"}});
        let view = ResponseView {
            url: &url,
            headers: &headers,
            body: &body,
            records: 1,
        };
        let mut req = PageRequest {
            method: crate::source::rest::config::HttpMethod::GET,
            url: url.clone(),
            query: vec![],
            headers: vec![],
            json: None,
        };
        assert!(p.advance(&mut req, &view).unwrap());
        assert!(matches!(
            p.advance(&mut req, &view),
            Err(PaginateError::Loop(_))
        ));
    }
}
