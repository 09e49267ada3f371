//! `type: page_number`: `?page=1`, `?page=2`, ... until an empty page, the total or the maximum.

use super::config::PageNumberConfig;
use super::{
    PaginateError, Paginator, Requests, ResponseView, count_at, counter_restored, counter_state,
    has_more, ignored_param, with_param,
};
use crate::source::rest::request::PageRequest;

/// Counts pages up from `start`.
#[derive(Debug)]
pub struct PageNumber {
    config: PageNumberConfig,
    page: u64,
    /// The total number of pages, as the last response gave it.
    total: Option<u64>,
}

impl PageNumber {
    /// A paginator starting at `config.start`.
    pub fn new(config: PageNumberConfig) -> Self {
        let page = config.start;
        Self {
            config,
            page,
            total: None,
        }
    }
}

impl PageNumber {
    /// One past the last page, once a total is known.
    fn end(&self) -> Option<u64> {
        let end = self.config.start + self.total?;
        Some(match self.config.maximum_page {
            Some(max) => end.min(max + 1),
            None => end,
        })
    }
}

impl Paginator for PageNumber {
    fn prepare(&mut self, req: &mut PageRequest) {
        req.set_param(&self.config.param, self.page);
        if let Some(size) = self.config.page_size {
            req.set_param(&self.config.page_size_param, size);
        }
    }

    fn state(&self) -> serde_json::Value {
        counter_state(self.page, self.total)
    }

    fn restore(&mut self, state: &serde_json::Value) {
        if let Some((at, total)) = counter_restored(state) {
            self.page = at;
            self.total = total;
        }
    }

    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        if resp.records == 0 && self.config.stop_after_empty_page {
            return Ok(false);
        }
        if !has_more(resp.body, self.config.has_more_path.as_deref()) {
            return Ok(false);
        }
        self.page += 1;
        self.total = count_at(resp.body, self.config.total_path.as_deref());
        // Pages are numbered from `start`, so the last one is start + total - 1.
        if self
            .total
            .is_some_and(|total| self.page >= self.config.start + total)
        {
            return Ok(false);
        }
        if self.config.maximum_page.is_some_and(|max| self.page > max) {
            return Ok(false);
        }
        req.set_param(&self.config.param, self.page);
        Ok(true)
    }

    fn ahead(&self, next: &PageRequest) -> Option<Requests> {
        Some(with_param(next, &self.config.param, self.page..self.end()?))
    }

    fn pages_left(&self) -> Option<u64> {
        Some(self.end()?.saturating_sub(self.page))
    }

    fn advice(&self) -> String {
        ignored_param(&self.config.param, "page_param")
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let mut out = format!("page_number: `{}` from {}", c.param, c.start);
        if let Some(size) = c.page_size {
            out.push_str(&format!(", `{}`={size}", c.page_size_param));
        }
        if let Some(path) = &c.total_path {
            out.push_str(&format!(", total pages at `{path}`"));
        }
        if let Some(max) = c.maximum_page {
            out.push_str(&format!(", at most page {max}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{q, walk};
    use super::*;
    use serde_json::json;

    fn config(total_path: Option<&str>, maximum_page: Option<u64>) -> PageNumberConfig {
        PageNumberConfig {
            param: "page".into(),
            start: 1,
            page_size: None,
            page_size_param: "per_page".into(),
            total_path: total_path.map(str::to_string),
            maximum_page,
            has_more_path: None,
            stop_after_empty_page: true,
            max_pages: None,
        }
    }

    #[test]
    fn stops_after_an_empty_page() {
        let mut p = PageNumber::new(config(None, None));
        let seen = walk(&mut p, &[(json!({}), 10), (json!({}), 10), (json!({}), 0)]);
        let pages: Vec<_> = seen.iter().map(|q| q[0].1.clone()).collect();
        assert_eq!(pages, ["1", "2", "3"]);
    }

    #[test]
    fn stops_at_the_total_without_an_extra_request() {
        let mut p = PageNumber::new(config(Some("meta.total_pages"), None));
        let body = json!({"meta": {"total_pages": 2}});
        let seen = walk(&mut p, &[(body.clone(), 5), (body.clone(), 5), (body, 5)]);
        assert_eq!(seen, vec![q(&[("page", "1")]), q(&[("page", "2")])]);
    }

    #[test]
    fn has_more_false_ends_pagination() {
        let mut c = config(None, None);
        c.has_more_path = Some("meta.has_more".into());
        let mut p = PageNumber::new(c);
        let more = json!({"meta": {"has_more": true}});
        let last = json!({"meta": {"has_more": false}});
        let seen = walk(&mut p, &[(more, 5), (last, 5), (json!({}), 5)]);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn a_total_plans_the_remaining_pages() {
        let mut c = config(Some("meta.total_pages"), Some(4));
        c.start = 0;
        let mut p = PageNumber::new(c);
        assert!(p.ahead(&super::super::test_support::request()).is_none());
        assert_eq!(p.pages_left(), None);
        let body = json!({"meta": {"total_pages": 9}});
        let seen = walk(&mut p, &[(body, 5)]);
        let next = super::super::test_support::request_with(seen[1].clone());
        let planned: Vec<_> = p.ahead(&next).unwrap().map(|r| r.query).collect();
        // Pages 1..=4: the total allows 0..=8, the maximum stops at 4.
        let pages: Vec<_> = (1..=4).map(|n| q(&[("page", &n.to_string())])).collect();
        assert_eq!(planned, pages);
        assert_eq!(p.pages_left(), Some(4));
    }

    #[test]
    fn maximum_page_is_the_last_requested() {
        let mut p = PageNumber::new(config(None, Some(2)));
        let seen = walk(&mut p, &[(json!({}), 5), (json!({}), 5), (json!({}), 5)]);
        assert_eq!(seen.len(), 2);
    }
}
