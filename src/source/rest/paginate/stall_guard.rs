//! Guards against pagination that never ends: a page with the same records as the page before
//! it (an API that ignores the paging parameter and reports no total sends its first page
//! forever, and dlt loops on it), and a cap on the pages of one run of a paginator.

use std::num::NonZeroU64;
use std::ops::Range;

use bytes::Bytes;
use serde_json::Value;

use crate::source::Records;

/// Pages one run of a paginator fetches at most unless its `max_pages` says otherwise. An API
/// of 100 million records at 100 per page stays under it; a runaway paginator at a thousand
/// pages a second hits it within 20 minutes instead of never stopping.
pub const DEFAULT_MAX_PAGES: u64 = 1_000_000;

/// Why pagination was stopped although the paginator asked for another page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stall {
    /// Page `page` (1-based) held exactly the records of the page before it.
    Repeated {
        /// The repeating page.
        page: u64,
        /// How many records it had.
        records: usize,
    },
    /// `max` pages were fetched and the paginator still asked for more.
    Cap {
        /// The limit.
        max: u64,
        /// Whether the limit is the config's `max_pages` (else it is [`DEFAULT_MAX_PAGES`]).
        configured: bool,
    },
}

impl Stall {
    /// What happened and what to do, given the paginator's advice on its parameter.
    pub fn describe(&self, advice: &str) -> String {
        match self {
            Self::Repeated { page, records } => format!(
                "page {page} has the same {records} record(s) as page {}: {advice}",
                page - 1
            ),
            Self::Cap {
                max,
                configured: true,
            } => format!(
                "stopped after {max} pages (the paginator's `max_pages`) with more pages to come; \
                 raise `max_pages` if the API really has more"
            ),
            Self::Cap { max, .. } => format!(
                "stopped after {max} pages, the default safety limit, with more pages to come; \
                 if the API really has more, set `max_pages` on the paginator, else check its \
                 settings ({advice})"
            ),
        }
    }
}

/// The records of a page, as much as is needed to tell whether the next page repeats them.
enum Fingerprint {
    /// Records located in a body: the body (shared, not copied) and their spans.
    Text(Bytes, Vec<Range<usize>>),
    /// Parsed records (a JSONPath selector needed the tree): their count and a digest.
    Parsed(usize, u64),
    /// Records this watch does not compare (Arrow columns and typed pages, which no paginator
    /// produces).
    Unchecked,
}

impl Fingerprint {
    fn of(records: &Records) -> Self {
        match records {
            Records::Text { body, spans } => Self::Text(body.clone(), spans.clone()),
            Records::Parsed(values) => Self::Parsed(values.len(), digest(values)),
            Records::Arrow(_) | Records::Typed { .. } => Self::Unchecked,
        }
    }

    /// Whether `records` are these, record for record.
    fn matches(&self, records: &Records) -> bool {
        match (self, records) {
            (Self::Text(old, old_spans), Records::Text { body, spans }) => {
                fn text<'b>(b: &'b Bytes, s: &Range<usize>) -> &'b [u8] {
                    b.get(s.clone()).unwrap_or_default()
                }
                old_spans.len() == spans.len()
                    // The first record almost always differs: one comparison for most pages.
                    && old_spans
                        .iter()
                        .zip(spans)
                        .all(|(a, b)| text(old, a) == text(body, b))
            }
            (Self::Parsed(count, hash), Records::Parsed(values)) => {
                *count == values.len() && *hash == digest(values)
            }
            _ => false,
        }
    }
}

fn digest(values: &[Value]) -> u64 {
    use std::hash::BuildHasher;
    let hasher = foldhash::quality::FixedState::with_seed(0);
    values
        .iter()
        .fold(0, |h, v| h ^ hasher.hash_one((h, v.to_string())))
}

/// Watches one run of a paginator.
pub struct StallGuard {
    pages: u64,
    max: u64,
    configured: bool,
    last: Option<Fingerprint>,
}

impl StallGuard {
    /// A watch allowing `max_pages` pages, or [`DEFAULT_MAX_PAGES`].
    pub fn new(max_pages: Option<NonZeroU64>) -> Self {
        Self {
            pages: 0,
            max: max_pages.map_or(DEFAULT_MAX_PAGES, NonZeroU64::get),
            configured: max_pages.is_some(),
            last: None,
        }
    }

    /// Counts a page; an error if it repeats the records of the page before. Pages without
    /// records repeat nothing (the paginator decides whether they end it).
    pub fn page(&mut self, records: &Records) -> Result<(), Stall> {
        self.pages += 1;
        if records.is_empty() {
            self.last = None;
            return Ok(());
        }
        if self.last.as_ref().is_some_and(|last| last.matches(records)) {
            return Err(Stall::Repeated {
                page: self.pages,
                records: records.len(),
            });
        }
        self.last = Some(Fingerprint::of(records));
        Ok(())
    }

    /// Whether another page may be fetched.
    pub fn next(&self) -> Result<(), Stall> {
        if self.pages >= self.max {
            return Err(Stall::Cap {
                max: self.max,
                configured: self.configured,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(body: &'static str) -> Records {
        let spans = match body {
            "" => vec![],
            _ => body.split(',').fold(vec![], |mut spans, part| {
                let start = spans.last().map_or(0, |s: &Range<usize>| s.end + 1);
                spans.push(start..start + part.len());
                spans
            }),
        };
        Records::Text {
            body: Bytes::from_static(body.as_bytes()),
            spans,
        }
    }

    #[test]
    fn a_repeated_page_is_caught_and_a_new_one_is_not() {
        let mut p = StallGuard::new(None);
        p.page(&text("{\"id\":1},{\"id\":2}")).unwrap();
        p.page(&text("{\"id\":3},{\"id\":4}")).unwrap();
        assert_eq!(
            p.page(&text("{\"id\":3},{\"id\":4}")),
            Err(Stall::Repeated {
                page: 3,
                records: 2
            })
        );
        // Same first record, different rest; empty pages never repeat.
        let mut p = StallGuard::new(None);
        p.page(&text("{\"id\":1},{\"id\":2}")).unwrap();
        p.page(&text("{\"id\":1},{\"id\":5}")).unwrap();
        p.page(&text("")).unwrap();
        p.page(&text("")).unwrap();
        let parsed = || Records::Parsed(vec![json!({"id": 1})]);
        p.page(&parsed()).unwrap();
        assert!(p.page(&parsed()).is_err());
    }

    #[test]
    fn the_cap_allows_exactly_max_pages() {
        let mut p = StallGuard::new(NonZeroU64::new(2));
        p.page(&text("1")).unwrap();
        p.next().unwrap();
        p.page(&text("2")).unwrap();
        assert_eq!(
            p.next(),
            Err(Stall::Cap {
                max: 2,
                configured: true
            })
        );
        assert!(StallGuard::new(None).next().is_ok());
    }
}
