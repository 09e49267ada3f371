//! Runs the stages: planning, per-resource pipelines, per-source commits, reports.

pub mod decode_stage;
pub mod plan;
pub mod resource_run;
pub mod sync;

pub use plan::{SourcePlan, plan};
pub use sync::{INTERRUPTED, SourceReport, SyncOptions, sync};
