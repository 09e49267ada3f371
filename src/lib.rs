//! Dango: loads REST APIs into a DuckDB warehouse, with dlt's configuration and table layout,
//! fast and exactly once.
//!
//! A sync flows through one module per stage; each knows only the types it receives and hands on:
//!
//! ```text
//! project   .dango/sources.yml + credentials ──► validated SourceConfig
//! engine    plan ──► per resource: ───────────────────────────────────────────► per source: commit
//! source      fetch    (HTTP, retries, paginators, data selector)  → Page of JSON records
//!             (pages known from a total: `concurrency` in flight; records located in the body
//!             on blocking workers, left as text unless a fetch step must look inside them)
//! normalize   records  → rows of the root and child tables (dlt naming, _dlt_* columns),
//!             read from the text in one pass; several pages at once on blocking workers
//!             (built into Arrow in page order)
//! decode      rows     → Arrow RecordBatches, schema inferred and widened as data arrives
//! dedupe      batches  → one row per primary key (DataFusion), for `merge`
//! warehouse   batches  → final tables, inside one open transaction per source (Arrow
//!                        appender, one writer thread) → merge/replace applied, committed
//! ```
//!
//! [`hints`] holds the vocabulary every stage shares. [`mock_api`] is a real HTTP server used
//! by the tests, the benchmarks and `dango demo`.

pub mod cli;
pub mod decode;
pub mod dedupe;
pub mod engine;
pub mod hints;
mod json;
pub mod mock_api;
pub mod normalize;
mod pipeline;
pub mod project;
pub mod source;
pub mod warehouse;

pub use pipeline::{Pipeline, PipelineError};
