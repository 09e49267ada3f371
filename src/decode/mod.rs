//! JSON values → Arrow: dlt's type rules, one builder per column type, and the schema-inferring
//! table builder that widens a table as new fields arrive.

pub mod arrow_items;
pub mod columns;
pub mod page;
pub mod table;
pub mod types;

pub use crate::hints::DltType;
pub use table::TableBuilder;
