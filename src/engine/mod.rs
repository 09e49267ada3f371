//! Runs sources: per-resource pipelines (fetch → normalize → build → dedupe → load), run
//! concurrently within and across sources, and one commit per source.

mod interrupt;
pub mod progress;
pub mod resource_run;
pub mod sync;

pub use interrupt::{Interrupt, StopSignal};
pub use progress::{Advance, Progress, ProgressSink};
pub use sync::{SourceReport, SyncError, SyncOptions, sync};
