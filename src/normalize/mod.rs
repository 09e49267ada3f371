//! dlt's relational layout: naming, flattening, child tables and the `_dlt_*` columns.

pub mod naming;
pub mod relational;

pub use relational::{Cell, Names, Normalizer, PageText, Rows};
