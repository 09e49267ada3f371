//! Sources of rows. A resource is an async producer of [`Page`]s plus the hints of its table;
//! the engine neither knows nor cares whether the pages come from HTTP or elsewhere.

pub mod rest;

use std::ops::Range;

use bytes::Bytes;
use serde_json::Value;

/// One page of records, as selected from one response.
#[derive(Debug, Clone)]
pub struct Page {
    /// 0-based position of the page within its resource.
    pub number: usize,
    /// The records, each normally a JSON object.
    pub records: Records,
}

/// A page's records: parsed, or still JSON text so the normaliser reads them in one pass
/// without building a tree of each.
#[derive(Debug, Clone)]
pub enum Records {
    /// Parsed values.
    Parsed(Vec<Value>),
    /// Byte ranges of the records within a response body (whose JSON was checked when it was
    /// read).
    Text {
        /// The whole response body.
        body: Bytes,
        /// Where each record is in `body`.
        spans: Vec<Range<usize>>,
    },
}

impl Records {
    /// How many records there are.
    pub fn len(&self) -> usize {
        match self {
            Records::Parsed(values) => values.len(),
            Records::Text { spans, .. } => spans.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records as parsed values, for the steps that look inside them.
    pub fn into_values(self) -> Result<Vec<Value>, serde_json::Error> {
        match self {
            Records::Parsed(values) => Ok(values),
            Records::Text { body, spans } => spans
                .into_iter()
                .map(|span| crate::json::parse(body.get(span).unwrap_or_default()))
                .collect(),
        }
    }
}
