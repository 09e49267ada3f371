//! `dango source add --openapi`: a working `rest_api` source from an API's OpenAPI (or
//! Swagger 2.0) description, checked against the live API when it can be.
//!
//! ```text
//! document   the file or URL and every file its $refs reach → JSON values, refs checked
//! refs       $refs, $ids and $anchors found in those values
//! model      servers, operations (params, JSON response schema, headers), security schemes
//! records    where each response keeps its records (the data selector)
//! paging     which paginator, from parameters, response fields and headers
//! fields     primary key and incremental cursor, from the records' schema
//! auth       the security scheme to use, secrets as ${VAR}
//! proposal   which endpoints become resources, their names and parents
//! probe      a few live requests that confirm or correct the proposal
//! emit       the proposal as commented sources.yml text
//! ```

pub mod auth;
pub mod document;
pub mod emit;
pub mod fields;
pub mod json_schema;
pub mod model;
pub mod paging;
pub mod probe;
pub mod proposal;
pub mod records;
mod refs;

pub use document::Description;
pub use model::Api;
pub use proposal::{Options, Proposal, propose};

/// A source name for a description: its title in dlt's snake_case (`Swagger Petstore` →
/// `swagger_petstore`).
pub fn source_name(desc: &Description) -> String {
    let title = desc
        .root()
        .value
        .pointer("/info/title")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("api");
    crate::normalize::naming::normalize_identifier(title)
}

#[cfg(test)]
mod tests;
