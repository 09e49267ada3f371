//! The Python process of one source: started with the runner script, read as a stream of
//! frames (see `runner.py`), its stderr passed to Dango's log and its tail kept for errors. The
//! process is killed when this handle is dropped, so a failed or interrupted sync leaves none
//! behind; a [`ProcessStopper`] stops it from outside while its reader is blocked on it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::hints::{ColumnHints, ContractConfig};
use crate::redact::Redactor;

/// The script the process runs.
const RUNNER: &str = include_str!("runner.py");

/// Lines of stderr kept for an error message.
const TAIL_LINES: usize = 20;

/// Largest frame accepted: a page or an Arrow table bigger than this is a bug in the runner.
const MAX_FRAME: usize = 1 << 31;

/// How long a process asked to stop (SIGINT) has before it is terminated (SIGTERM): Python's
/// KeyboardInterrupt runs the user's `finally` blocks and dlt's cleanup, which take moments.
const INTERRUPT_GRACE: Duration = Duration::from_secs(4);

/// How long a terminated process has before it is killed (SIGKILL).
const TERMINATE_GRACE: Duration = Duration::from_secs(2);

/// How long a killed process has to be reaped before Dango stops waiting for it.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How often a wait looks whether the process has ended.
const POLL: Duration = Duration::from_millis(10);

/// One frame from the runner.
#[derive(Debug)]
pub enum Frame {
    /// The source and its resources, before running.
    Describe(Describe),
    /// Hints of a table seen for the first time.
    Table(Box<TableFrame>),
    /// A page of records for a table, as dlt's typed JSON (an array).
    Page {
        /// The table, as dlt named it.
        table: String,
        /// The JSON array.
        body: Bytes,
    },
    /// Arrow items for a table, as an Arrow IPC stream.
    Arrow {
        /// The table, as dlt named it.
        table: String,
        /// The IPC stream.
        ipc: Bytes,
    },
    /// The source's state after a successful run.
    State(StateFrame),
    /// The run failed.
    Error(ErrorFrame),
}

/// What the runner says about the source before running it.
#[derive(Debug, Clone, Deserialize)]
pub struct Describe {
    /// The dlt source's name (its function's).
    pub source: String,
    /// The installed dlt's version.
    pub dlt_version: String,
    /// `sys.executable`.
    pub python: String,
    /// The selected resources.
    pub resources: Vec<DescribedResource>,
}

/// A selected resource of the source.
#[derive(Debug, Clone, Deserialize)]
pub struct DescribedResource {
    /// Its name.
    pub name: String,
    /// Its table's hints; `None` when the table name depends on the data.
    pub hints: Option<TableFrame>,
    /// Whether it loads from a `dlt.sources.incremental` cursor.
    #[serde(default)]
    pub incremental: bool,
}

/// A table's hints as dlt computes them.
#[derive(Debug, Clone, Deserialize)]
pub struct TableFrame {
    /// The table name, as dlt gives it (normalised by Dango).
    pub table: String,
    /// `append`, `replace` or `merge`.
    pub write_disposition: String,
    /// For `merge`: the strategy and the hints that shape it.
    #[serde(default)]
    pub merge: Option<MergeFrame>,
    /// Primary-key columns.
    pub primary_key: Vec<String>,
    /// Merge-key columns.
    pub merge_key: Vec<String>,
    /// Nesting depth of child tables, if set on the resource or source.
    pub max_table_nesting: Option<usize>,
    /// The resource's column hints that shape columns (`columns=`).
    #[serde(default)]
    pub columns: ColumnHints,
    /// Its schema contract (the resource's, else the source's), if any.
    #[serde(default)]
    pub schema_contract: Option<ContractConfig>,
}

/// A `merge` table's strategy and the hints that shape it, as dlt computed them.
#[derive(Debug, Clone, Deserialize)]
pub struct MergeFrame {
    /// `delete-insert`, `upsert`, `insert-only` or `scd2` (the runner refuses others).
    pub strategy: String,
    /// The `hard_delete` column.
    pub hard_delete: Option<String>,
    /// The `dedup_sort` column and its order (`desc`, `asc`).
    pub dedup_sort: Option<(String, String)>,
    /// `deduplicated` of the disposition.
    #[serde(default)]
    pub deduplicated: bool,
    /// scd2's validity columns.
    pub valid_from: Option<String>,
    /// See `valid_from`.
    pub valid_to: Option<String>,
    /// scd2's `active_record_timestamp`, ISO 8601.
    pub active_record_timestamp: Option<String>,
    /// scd2's `boundary_timestamp`, ISO 8601.
    pub boundary_timestamp: Option<String>,
    /// scd2's `row_version_column_name`, unless it is `_dlt_id`.
    pub row_version: Option<String>,
}

/// The state dlt keeps for the source, after a successful run.
#[derive(Debug, Clone, Deserialize)]
pub struct StateFrame {
    /// The state, as dlt's typed JSON.
    pub state: String,
    /// Each incremental cursor, readable.
    pub cursors: Vec<CursorFrame>,
}

/// One incremental cursor of the state.
#[derive(Debug, Clone, Deserialize)]
pub struct CursorFrame {
    /// The resource.
    pub resource: String,
    /// The cursor path.
    pub path: String,
    /// Its last value, as JSON (datetimes as ISO text).
    pub last_value: Value,
}

/// A failure the runner reported.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorFrame {
    /// `dlt_missing`, `module`, `function`, `secret`, `resource` or `exception`.
    pub kind: String,
    /// The message.
    pub message: String,
    /// The resource that raised, for `resource`.
    pub resource: Option<String>,
    /// The user's traceback.
    pub traceback: Option<String>,
}

/// What the process is told to do when it starts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunnerConfig {
    /// The project root (the working directory, and on `sys.path` with `custom_sources/`).
    pub project: String,
    /// The module to import.
    pub module: String,
    /// The source function, if named.
    pub function: Option<String>,
    /// Its keyword arguments.
    pub kwargs: serde_json::Map<String, Value>,
    /// The pipeline name secrets resolve under.
    pub pipeline_name: String,
    /// Worker threads of dlt's pipe iterator (for `parallelize`d resources).
    pub workers: usize,
    /// Records per page.
    pub page_size: usize,
}

/// A running Python process of one source.
pub struct RunnerProcess {
    child: SharedChild,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    tail: Arc<Mutex<VecDeque<String>>>,
    logger: Option<std::thread::JoinHandle<()>>,
}

impl RunnerProcess {
    /// Starts `python` on the runner in `project_root`, with `env` added where the real
    /// environment does not set a variable (the project's `.env`).
    pub fn spawn(
        python: &Path,
        project_root: &Path,
        env: &[(String, String)],
        config: &RunnerConfig,
        redactor: Redactor,
    ) -> std::io::Result<Self> {
        let mut command = Command::new(python);
        command
            .arg("-u")
            .arg("-c")
            .arg(RUNNER)
            .arg(serde_json::to_string(config).unwrap_or_default())
            .current_dir(project_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: Ctrl-C in a terminal reaches Dango, which stops it.
            .process_group(0);
        // SAFETY: `prctl` is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                // Dies with Dango, even when Dango is killed and cannot stop it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        for (key, value) in env {
            if std::env::var_os(key).is_none() {
                command.env(key, value);
            }
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take();
        let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
            return Err(std::io::Error::other("the Python process has no pipes"));
        };
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let logger = log_stderr(stderr, tail.clone(), redactor);
        Ok(Self {
            child: SharedChild::new(child),
            stdin,
            stdout,
            tail,
            logger: Some(logger),
        })
    }

    /// The next frame; `None` once the process closed its output.
    pub fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        let mut head = [0u8; 5];
        if !read_exact_or_eof(&mut self.stdout, &mut head)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::other(format!("a frame of {len} bytes")));
        }
        let mut payload = vec![0u8; len];
        self.stdout.read_exact(&mut payload)?;
        Ok(Some(match head[0] {
            b'D' => Frame::Describe(json(&payload)?),
            b'T' => Frame::Table(Box::new(json(&payload)?)),
            b'S' => Frame::State(json(&payload)?),
            b'E' => Frame::Error(json(&payload)?),
            b'J' => {
                let (table, body) = split_table(payload)?;
                Frame::Page { table, body }
            }
            b'A' => {
                let (table, ipc) = split_table(payload)?;
                Frame::Arrow { table, ipc }
            }
            other => {
                return Err(std::io::Error::other(format!(
                    "an unknown frame kind {other}"
                )));
            }
        }))
    }

    /// Tells the process to run, from `state` (dlt's typed JSON of the source state).
    pub fn run(&mut self, state: Option<&str>) -> std::io::Result<()> {
        let Some(mut stdin) = self.stdin.take() else {
            return Err(std::io::Error::other(
                "the Python process was already started",
            ));
        };
        let line = serde_json::json!({ "state": state });
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }

    /// Waits for the process to end; its exit status and the last lines of its stderr.
    pub fn finish(mut self) -> (std::io::Result<ExitStatus>, String) {
        self.stdin.take();
        let status = self.child.wait();
        if let Some(logger) = self.logger.take() {
            let _ = logger.join();
        }
        (status, self.stderr_tail())
    }

    /// What stops the process from another thread than its reader's.
    pub fn stopper(&self) -> ProcessStopper {
        ProcessStopper(self.child.clone())
    }

    /// The last lines the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        // A stopper at work is giving the process its chance to end cleanly: leave it that long.
        let grace = match self.child.lock().stopping {
            true => INTERRUPT_GRACE + TERMINATE_GRACE,
            false => Duration::ZERO,
        };
        if let Ok(None) = self.child.wait_within(grace) {
            self.child.signal(libc::SIGKILL);
            let _ = self.child.wait_within(KILL_WAIT);
        }
    }
}

/// Stops a running process from outside its reader: when the sync is interrupted, the reader
/// may be blocked waiting for a frame that a process stuck in the user's code (`time.sleep`, a
/// hung socket) will never write, and the process, in a process group of its own, never sees
/// the terminal's Ctrl-C.
#[derive(Clone)]
pub struct ProcessStopper(SharedChild);

impl ProcessStopper {
    /// Asks the process to stop as Ctrl-C in its terminal would (SIGINT: Python raises
    /// KeyboardInterrupt where the user's code is, so its `finally` blocks run); terminates it
    /// (SIGTERM) if it is still running [`INTERRUPT_GRACE`] later, and kills it (SIGKILL)
    /// [`TERMINATE_GRACE`] after that. Each signal goes to its whole process group, so what the
    /// user's code started stops too. Returns at once: the waiting happens on a thread of its
    /// own, which outlives the caller (an async task the runtime may drop while shutting down).
    /// Does nothing once the process has ended or is being stopped already.
    pub fn stop(&self) {
        {
            let mut state = self.0.lock();
            if state.stopping || !matches!(state.status(), Ok(None)) {
                return;
            }
            state.stopping = true;
        }
        let child = self.0.clone();
        let escalation = std::thread::Builder::new()
            .name("dango-python-stop".into())
            .spawn(move || escalate(&child));
        if escalation.is_err() {
            // No thread to wait on: kill it now rather than leave it running.
            self.0.signal(libc::SIGKILL);
        }
    }
}

/// SIGINT, then SIGTERM, then SIGKILL to `child`'s group, each once the one before has had its
/// time; stops as soon as the process has ended.
fn escalate(child: &SharedChild) {
    let steps = [
        (libc::SIGINT, INTERRUPT_GRACE),
        (libc::SIGTERM, TERMINATE_GRACE),
        (libc::SIGKILL, KILL_WAIT),
    ];
    for (signal, grace) in steps {
        child.signal(signal);
        if !matches!(child.wait_within(grace), Ok(None)) {
            return;
        }
        tracing::warn!(
            signal,
            "the Python process did not stop; signalling it again"
        );
    }
}

/// The child process, shared by its reader (which reaps it) and a [`ProcessStopper`] (which
/// signals it). A signal is sent only while the child is not yet reaped, under the lock that
/// reaping takes: its pid, which also names its process group, cannot have been reused.
#[derive(Clone)]
struct SharedChild(Arc<Mutex<ChildState>>);

struct ChildState {
    child: Child,
    /// Its exit status, once reaped.
    ended: Option<ExitStatus>,
    /// Whether a [`ProcessStopper`] is stopping it.
    stopping: bool,
}

impl ChildState {
    /// Its exit status if it has ended (reaping it then), `None` while it runs.
    fn status(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.ended.is_none() {
            self.ended = self.child.try_wait()?;
        }
        Ok(self.ended)
    }
}

impl SharedChild {
    fn new(child: Child) -> Self {
        Self(Arc::new(Mutex::new(ChildState {
            child,
            ended: None,
            stopping: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, ChildState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `signal` to the child's process group (it leads one of its own), unless the child
    /// has already been reaped.
    fn signal(&self, signal: libc::c_int) {
        let state = self.lock();
        let Ok(pid) = libc::pid_t::try_from(state.child.id()) else {
            return;
        };
        if state.ended.is_none() {
            // SAFETY: `kill` touches no memory; the group is the child's own, named by the pid
            // of a child that is not reaped yet (checked under the lock that reaping holds).
            unsafe {
                libc::kill(-pid, signal);
            }
        }
    }

    /// Waits up to `limit` for the child to end; `None` if it still runs. Polls rather than
    /// blocks in `wait`, so a stopper can take the lock and signal it meanwhile.
    fn wait_within(&self, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.lock().status()? {
                return Ok(Some(status));
            }
            if started.elapsed() >= limit {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the child to end, however long it takes.
    fn wait(&self) -> std::io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.wait_within(Duration::from_secs(3600))? {
                return Ok(status);
            }
        }
    }
}

/// A JSON frame's payload as `T`.
fn json<T: serde::de::DeserializeOwned>(payload: &[u8]) -> std::io::Result<T> {
    serde_json::from_slice(payload).map_err(std::io::Error::other)
}

/// Splits a page or Arrow payload into its table name and the rest.
fn split_table(payload: Vec<u8>) -> std::io::Result<(String, Bytes)> {
    let bad = || std::io::Error::other("a page frame without a table name");
    let len = u16::from_le_bytes([
        *payload.first().ok_or_else(bad)?,
        *payload.get(1).ok_or_else(bad)?,
    ]) as usize;
    let name = payload.get(2..2 + len).ok_or_else(bad)?;
    let table = String::from_utf8(name.to_vec()).map_err(|_| bad())?;
    let body = Bytes::from(payload).slice(2 + len..);
    Ok((table, body))
}

/// Fills `buf`; `false` if the stream ended before its first byte.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Passes each stderr line (the user's `print()`s and logging) to Dango's log, with secrets
/// redacted, keeping the last ones for error messages.
fn log_stderr(
    stderr: std::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    redactor: Redactor,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let line = redactor.redact(&line);
            tracing::info!(target: "dango::python", "{line}");
            let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
}
