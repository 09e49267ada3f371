//! Declarative REST API sources: HTTP client with retries, paginators, data selection.

pub mod auth;
pub mod client;
pub mod dependent;
pub mod error;
pub mod incremental;
pub mod json_path;
pub mod paginate;
pub mod request;
pub mod resource;
pub mod selector;

pub use client::RestClient;
pub use error::FetchError;
pub use resource::{FetchInput, FetchOutcome, FetchStats, ParentRows, RestResource};
