//! Dango: loads REST APIs into a DuckDB warehouse, with dlt's configuration and table layout,
//! fast and exactly once.
//!
//! A sync flows through one module per stage; each knows only the types it receives and hands on:
//!
//! ```text
//! project   .dango/sources.yml + credentials ──► Sources (each a set of Resources)
//! source    a Resource: table hints + an async stream of Pages (JSON text, values or Arrow);
//!             rest/   the declarative REST API (HTTP, retries, rate limit, paginators, selector)
//!             custom/ resources written in Rust, with the same HTTP client and cursors
//!             python/ a user's dlt source in a Python process: pages of dlt's typed JSON or
//!                     Arrow IPC naming their tables, dlt's state in and out
//! engine    per resource: ─────────────────────────────────────────────► per source: commit
//! normalize   records  → rows of the root and child tables (dlt naming, _dlt_* columns),
//!             read from the text in one pass; several pages at once on blocking workers
//! decode      rows     → Arrow RecordBatches, schema inferred and widened as data arrives
//!             (Arrow pages skip both: loaded as they are, as dlt loads Arrow items)
//! table       one root table's stages, owned by `TableStages`: build the batches (decode),
//!             the user's rules (SQL transforms, schema contract, `nullable: false`) and one
//!             row per primary key for `merge` (DataFusion); the table's commit entry
//! warehouse   batches  → final tables, inside one open load per source (Warehouse::begin,
//!                        append, commit: rows, cursors and `_dlt_loads` in one transaction)
//! ```
//!
//! [`hints`] holds the vocabulary every stage shares. [`mock_api`] is a real HTTP server used
//! by the tests, the benchmarks and `dango demo`.
//!
//! Beside the sync, `openapi` writes a `rest_api` source from an API's OpenAPI description
//! (`dango source add --openapi`), checking it against the live API.
//!
//! # A source in Rust
//!
//! A source is a set of resources; a resource is an async function that sends pages of
//! records. [`Pipeline`] runs it with the engine `dango sync` uses, into the same warehouse
//! layout: one schema per source, child tables for nested lists, `_dlt_loads`, incremental
//! state committed with the rows.
//!
//! ```no_run
//! use dango::source::custom::{HttpClient, resource};
//! use dango::source::{BoxError, Source};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), BoxError> {
//! let client = HttpClient::builder().bearer_token("my-token").build()?;
//! let orders = resource("orders", move |mut ctx| async move {
//!     // Starts where the last successful sync stopped.
//!     let mut cursor = ctx.incremental("updated_at", Some(json!("2024-01-01T00:00:00Z")));
//!     let since = cursor.start_value().cloned().unwrap_or_default();
//!     let query = [("updated_after", since.as_str().unwrap_or_default().to_string())];
//!     let mut pages = client.pages("https://api.example.com/orders", &query, None, None)?;
//!     while let Some(records) = pages.next_page().await? {
//!         ctx.send(cursor.filter(records)?).await?;
//!     }
//!     Ok(())
//! })
//! .merge_on(["id"]);
//! let source = Source::new("shop", "raw_shop", vec![Box::new(orders)])?;
//! let report = dango::Pipeline::new(".").run(source).await?;
//! println!("{} rows", report.resources[0].rows);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/my_api.rs` and `examples/hubspot_contacts.rs` are the tutorial's two custom
//! sources written this way.

#![warn(missing_docs)]

mod cli;
mod decode;
mod engine;
pub mod hints;
mod json;
#[doc(hidden)]
pub mod mock_api;
mod normalize;
mod openapi;
mod pipeline;
mod project;
mod redact;
pub mod source;
mod table;
pub mod warehouse;

pub use engine::{SourceReport, SyncError, SyncOptions};
pub use pipeline::{Pipeline, PipelineError};
pub use project::{ConfigError, ConfigErrors, Credentials, CredentialsError};

/// What the criterion benchmarks (`benches/stages.rs`) time inside the crate, one stage at a
/// time. Not an API: it changes with the code.
#[doc(hidden)]
pub mod bench {
    pub use crate::normalize::{Normalizer, Rows};
    pub use crate::source::rest::selector::locate_records;
    pub use crate::table::TableStages;
    pub use crate::table::dedupe::latest_per_key_in_page;
    pub use crate::table::transform::Transform;
    pub use crate::warehouse::load::Load;
    pub use crate::warehouse::writer::APPEND_THREADS;

    /// Opens the DuckDB file at `path` as a sync does.
    pub fn connect(path: &std::path::Path) -> duckdb::Result<duckdb::Connection> {
        crate::warehouse::connect(path)
    }
}

/// Runs the `dango` command line (the binary's `main`); not an API.
#[doc(hidden)]
pub fn run_cli() -> std::process::ExitCode {
    cli::main()
}
