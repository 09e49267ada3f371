//! Why a Python source failed: one clear message each, naming what to do next.

use super::interpreter::NoPython;
use super::process::{ErrorFrame, RunnerProcess};

/// Why a Python source could not be planned or run; nothing of it is loaded.
#[derive(Debug, thiserror::Error)]
pub enum PythonError {
    /// No interpreter to run it with.
    #[error(transparent)]
    NoPython(#[from] NoPython),
    /// The interpreter could not be started.
    #[error("could not start {python}: {error}")]
    Spawn {
        /// The interpreter.
        python: String,
        /// Why.
        error: std::io::Error,
    },
    /// dlt is not installed for the interpreter.
    #[error(
        "dlt is not importable by {python} ({message}); install it into that interpreter with \
         `{python} -m pip install \"dlt[duckdb]\"`, or point `python:` in the source's \
         `dlt_native` block (or DANGO_PYTHON) at one that has it"
    )]
    DltMissing {
        /// The interpreter.
        python: String,
        /// Python's ImportError.
        message: String,
    },
    /// The module could not be imported.
    #[error("importing `{module}` failed: {message}\n{traceback}")]
    Module {
        /// The module.
        module: String,
        /// The exception.
        message: String,
        /// The user's traceback.
        traceback: String,
    },
    /// The source function is missing or is not a dlt source.
    #[error("{0}")]
    Function(String),
    /// A `dlt.secrets.value` argument has no value; dlt's message lists every key it tried.
    #[error("a secret or config value is missing: {0}")]
    Secret(String),
    /// A resource asks for a dlt hint or merge strategy Dango does not implement.
    #[error("resource `{resource}`: {message}")]
    Unsupported {
        /// The dlt resource.
        resource: String,
        /// Which hint, what it would lose, what to do.
        message: String,
    },
    /// A resource raised an exception.
    #[error("resource `{resource}` raised {message}\n{traceback}")]
    Resource {
        /// The dlt resource.
        resource: String,
        /// The exception.
        message: String,
        /// The user's traceback.
        traceback: String,
    },
    /// The source function (or dlt) raised outside any resource.
    #[error("the source raised {message}\n{traceback}")]
    Exception {
        /// The exception.
        message: String,
        /// The traceback.
        traceback: String,
    },
    /// The process ended without finishing: killed, crashed, or exited from user code.
    #[error(
        "the Python process {status} before the source finished; the end of its stderr:\n{tail}"
    )]
    Crashed {
        /// How it ended (`was killed by signal 9`, `exited with status 1`).
        status: String,
        /// The last lines of its stderr.
        tail: String,
    },
    /// The process wrote something that is not a frame (a bug, reported rather than hidden).
    #[error("reading the Python process's output failed: {0}")]
    Protocol(std::io::Error),
    /// `--since`/`--until`/`--backfill`/`--window`, which Python sources do not take.
    #[error(
        "--since, --until, --backfill and --window do not apply to Python (dlt_native) sources: \
         dlt's incremental takes its range from the source's code (its `initial_value` and \
         `end_value`); sync the other sources by name"
    )]
    NoWindow,
    /// The source has no selected resources.
    #[error("the dlt source `{0}` has no selected resources: nothing to load")]
    NoResources(String),
    /// An Arrow item could not be read.
    #[error("an Arrow item of table `{table}` could not be read: {error}")]
    Arrow {
        /// The table.
        table: String,
        /// Why.
        error: arrow::error::ArrowError,
    },
}

impl PythonError {
    /// The error a runner's error frame describes, for a source run by `python` from `module`.
    pub fn from_frame(frame: ErrorFrame, python: &str, module: &str) -> Self {
        let traceback = frame.traceback.unwrap_or_default();
        match frame.kind.as_str() {
            "dlt_missing" => Self::DltMissing {
                python: python.to_string(),
                message: frame.message,
            },
            "module" => Self::Module {
                module: module.to_string(),
                message: frame.message,
                traceback,
            },
            "function" => Self::Function(frame.message),
            "secret" => Self::Secret(frame.message),
            "unsupported" => Self::Unsupported {
                resource: frame.resource.unwrap_or_default(),
                message: frame.message,
            },
            "resource" => Self::Resource {
                resource: frame.resource.unwrap_or_default(),
                message: frame.message,
                traceback,
            },
            _ => Self::Exception {
                message: frame.message,
                traceback,
            },
        }
    }

    /// The error for a frame of `process` that could not be read. Its output ending inside a
    /// frame means the process died while writing (killed, or `os._exit` in the user's code):
    /// that is a crash, told with its exit status and stderr, not a broken protocol.
    pub fn unreadable(process: RunnerProcess, error: std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                let (status, tail) = process.finish();
                Self::crashed(status, tail)
            }
            _ => Self::Protocol(error),
        }
    }

    /// The error for a process that ended with `status` without a frame saying why.
    pub fn crashed(status: std::io::Result<std::process::ExitStatus>, tail: String) -> Self {
        use std::os::unix::process::ExitStatusExt;
        let status = match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                _ => format!("ended ({s})"),
            },
            Err(e) => format!("could not be waited for ({e})"),
        };
        let tail = match tail.trim().is_empty() {
            true => "(nothing)".to_string(),
            false => tail,
        };
        Self::Crashed { status, tail }
    }
}
