//! Sources of rows. A resource is an async producer of [`Page`]s plus the hints of its table;
//! the engine neither knows nor cares whether the pages come from HTTP or elsewhere.

pub mod rest;

use serde_json::Value;

/// One page of records, as selected from one response.
#[derive(Debug, Clone)]
pub struct Page {
    /// 0-based position of the page within its resource.
    pub number: usize,
    /// The records, each normally a JSON object.
    pub records: Vec<Value>,
}
