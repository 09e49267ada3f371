//! `type: offset`: `?offset=0&limit=100`, then 100, 200, ... until a short page or the total.

use super::config::OffsetConfig;
use super::{
    PaginateError, Paginator, Requests, ResponseView, count_at, counter_restored, counter_state,
    has_more, ignored_param, with_param,
};
use crate::source::rest::request::PageRequest;

/// Steps the offset by `limit`.
#[derive(Debug)]
pub struct Offset {
    config: OffsetConfig,
    offset: u64,
    /// The total number of records, as the last response gave it.
    total: Option<u64>,
}

impl Offset {
    /// A paginator starting at `config.start`.
    pub fn new(config: OffsetConfig) -> Self {
        let offset = config.start;
        Self {
            config,
            offset,
            total: None,
        }
    }
}

impl Offset {
    /// The offset past the last record, once a total is known.
    fn end(&self) -> Option<u64> {
        let end = self.total?;
        Some(match self.config.maximum_offset {
            Some(max) => end.min(max),
            None => end,
        })
    }
}

impl Paginator for Offset {
    fn prepare(&mut self, req: &mut PageRequest) {
        req.set_param(&self.config.param, self.offset);
        req.set_param(&self.config.limit_param, self.config.limit);
    }

    fn state(&self) -> serde_json::Value {
        counter_state(self.offset, self.total)
    }

    fn restore(&mut self, state: &serde_json::Value) {
        if let Some((at, total)) = counter_restored(state) {
            self.offset = at;
            self.total = total;
        }
    }

    fn advance(
        &mut self,
        req: &mut PageRequest,
        resp: &ResponseView<'_>,
    ) -> Result<bool, PaginateError> {
        // A short page is the last one: the tutorial's `len(items) < limit` rule.
        if resp.records == 0 && self.config.stop_after_empty_page {
            return Ok(false);
        }
        if (resp.records as u64) < self.config.limit
            || !has_more(resp.body, self.config.has_more_path.as_deref())
        {
            return Ok(false);
        }
        self.offset += self.config.limit;
        self.total = count_at(resp.body, self.config.total_path.as_deref());
        if self.total.is_some_and(|total| self.offset >= total) {
            return Ok(false);
        }
        if self
            .config
            .maximum_offset
            .is_some_and(|max| self.offset >= max)
        {
            return Ok(false);
        }
        req.set_param(&self.config.param, self.offset);
        Ok(true)
    }

    fn ahead(&self, next: &PageRequest) -> Option<Requests> {
        let step = usize::try_from(self.config.limit.max(1)).ok()?;
        Some(with_param(
            next,
            &self.config.param,
            (self.offset..self.end()?).step_by(step),
        ))
    }

    fn pages_left(&self) -> Option<u64> {
        let rows = self.end()?.saturating_sub(self.offset);
        Some(rows.div_ceil(self.config.limit.max(1)))
    }

    fn advice(&self) -> String {
        ignored_param(&self.config.param, "offset_param")
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let mut out = format!(
            "offset: `{}` from {}, `{}`={}",
            c.param, c.start, c.limit_param, c.limit
        );
        if let Some(path) = &c.total_path {
            out.push_str(&format!(", total at `{path}`"));
        }
        if let Some(max) = c.maximum_offset {
            out.push_str(&format!(", offsets below {max}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{q, walk};
    use super::*;
    use serde_json::json;

    fn config(total_path: Option<&str>) -> OffsetConfig {
        OffsetConfig {
            param: "offset".into(),
            limit_param: "limit".into(),
            limit: 10,
            start: 0,
            total_path: total_path.map(str::to_string),
            maximum_offset: None,
            has_more_path: None,
            stop_after_empty_page: true,
            max_pages: None,
        }
    }

    #[test]
    fn steps_by_limit_until_a_short_page() {
        let mut p = Offset::new(config(None));
        let seen = walk(&mut p, &[(json!({}), 10), (json!({}), 10), (json!({}), 3)]);
        let offsets: Vec<_> = seen.iter().map(|q| q[0].1.clone()).collect();
        assert_eq!(offsets, ["0", "10", "20"]);
        assert_eq!(seen[0], q(&[("offset", "0"), ("limit", "10")]));
    }

    #[test]
    fn a_total_plans_the_remaining_offsets() {
        let mut p = Offset::new(config(Some("total")));
        let seen = walk(&mut p, &[(json!({"total": 35}), 10)]);
        let next = super::super::test_support::request_with(seen[1].clone());
        let planned: Vec<_> = p.ahead(&next).unwrap().map(|r| r.query).collect();
        let offsets: Vec<_> = planned.iter().map(|q| q[0].1.as_str()).collect();
        assert_eq!(offsets, ["10", "20", "30"]);
        assert_eq!(p.pages_left(), Some(3));
        assert!(
            planned
                .iter()
                .all(|q| q[1] == ("limit".into(), "10".into()))
        );
    }

    #[test]
    fn total_ends_pagination_on_a_full_last_page() {
        let mut p = Offset::new(config(Some("total")));
        let body = json!({"total": "20"});
        let seen = walk(
            &mut p,
            &[(body.clone(), 10), (body.clone(), 10), (body, 10)],
        );
        assert_eq!(seen.len(), 2);
    }
}
