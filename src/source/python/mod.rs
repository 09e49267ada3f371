//! `type: dlt_native`: a user's Python dlt source (`custom_sources/*.py`, unmodified), run in a
//! Python process of its own. The process imports the module, calls the source function (dlt
//! resolves its secrets), and iterates the selected resources through dlt's item pipeline; Dango
//! does everything after: normalising, Arrow, dedupe, load, and the state dlt keeps, committed
//! with the rows.
//!
//! The whole dlt source is one [`Resource`] of the engine, whose pages name their tables: dlt
//! decides the tables (transformers, dynamic table names) while the items flow, and its
//! round-robin and `parallelize` run the resources concurrently in the one process.

mod config;
mod error;
mod interpreter;
mod process;
mod resource;

use std::path::PathBuf;

pub use config::DltNativeConfig;
pub use error::PythonError;
pub use interpreter::Interpreter;
pub use resource::PythonResource;

use process::{Frame, RunnerConfig, RunnerProcess};

use super::{Resource, Source, SourceError};
use crate::redact::Redactor;

/// Records per page sent by the Python process.
const PAGE_SIZE: usize = 1000;

/// What a Python source needs besides its config.
#[derive(Debug, Clone)]
pub struct PythonContext {
    /// The project root: the process's working directory.
    pub project_root: PathBuf,
    /// Variables of the project's `.env`, given to the process where the environment does not
    /// set them.
    pub dotenv: Vec<(String, String)>,
    /// Hides secrets in what the process logs.
    pub redactor: Redactor,
    /// Threads for dlt's `parallelize`d resources.
    pub workers: usize,
}

/// Why a Python source cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanPythonError {
    /// The process failed before running.
    #[error(transparent)]
    Python(#[from] PythonError),
    /// Its resources cannot run as one source.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Starts the Python process of source `name` (loading into `dataset`), reads its resources and
/// table hints, and returns it as a [`Source`] ready to run. Module, function and secret errors
/// show here, before any load begins.
pub fn source(
    name: &str,
    dataset: &str,
    config: &DltNativeConfig,
    ctx: &PythonContext,
) -> Result<Source, PlanPythonError> {
    let (process, describe, interpreter) = start(name, config, ctx)?;
    let resource = PythonResource::new(process, describe, interpreter, config)?;
    let resources: Vec<Box<dyn Resource>> = vec![Box::new(resource)];
    Ok(Source::new(name, dataset, resources)?)
}

/// Starts the process and reads its description.
fn start(
    name: &str,
    config: &DltNativeConfig,
    ctx: &PythonContext,
) -> Result<(RunnerProcess, process::Describe, Interpreter), PythonError> {
    let interpreter = interpreter::find(config.python.as_deref(), &ctx.project_root)?;
    let python = interpreter.path.clone();
    let shown = python.display().to_string();
    let runner = RunnerConfig {
        project: ctx.project_root.display().to_string(),
        module: config.source_module.clone(),
        function: config.function().map(str::to_string),
        kwargs: config.function_kwargs.clone(),
        pipeline_name: config
            .pipeline_name
            .clone()
            .unwrap_or_else(|| name.to_string()),
        workers: ctx.workers.max(1),
        page_size: PAGE_SIZE,
    };
    let mut process = RunnerProcess::spawn(
        &python,
        &ctx.project_root,
        &ctx.dotenv,
        &runner,
        ctx.redactor.clone(),
    )
    .map_err(|error| PythonError::Spawn {
        python: shown.clone(),
        error,
    })?;
    let frame = match process.next_frame() {
        Ok(frame) => frame,
        Err(e) => return Err(PythonError::unreadable(process, e)),
    };
    match frame {
        Some(Frame::Describe(describe)) => Ok((process, describe, interpreter)),
        Some(Frame::Error(e)) => Err(PythonError::from_frame(e, &shown, &config.source_module)),
        Some(_) => Err(PythonError::Protocol(std::io::Error::other(
            "the process did not describe the source first",
        ))),
        None => {
            let (status, tail) = process.finish();
            Err(PythonError::crashed(status, tail))
        }
    }
}
