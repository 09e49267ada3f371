//! The engine's side of a Python source: one [`Resource`] whose pages name the tables dlt put
//! their items in. The saved state goes to the process before it runs; the state it hands back
//! after its last item is committed with the rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::config::DltNativeConfig;
use super::error::PythonError;
use super::interpreter::Interpreter;
use super::process::{
    Describe, Frame, MergeFrame, ProcessStopper, RunnerProcess, StateFrame, TableFrame,
};
use crate::hints::columns::{DLT_VALID_FROM, DLT_VALID_TO};
use crate::hints::{AbsentDeletes, MergeHints, MergeStrategy, Scd2, SortOrder};
use crate::hints::{
    ColumnHint, ColumnHints, CursorState, DEFAULT_MAX_NESTING, SchemaContract, TableHints,
    WriteDisposition,
};
use crate::normalize::naming::{normalize_identifier, normalize_path};
use crate::source::rest::selector::locate_records;
use crate::source::{BoxError, FetchInput, FetchOutcome, PageSender, Records, Resource};

/// A Python dlt source as one resource of the engine.
pub struct PythonResource {
    name: String,
    process: RunnerProcess,
    python: String,
    module: String,
    /// What `dango validate` shows: interpreter, why it was chosen, dlt version.
    about: String,
    /// Tables known before running, the first one the resource's own.
    tables: Vec<TableHints>,
    /// `dlt_native.deletes`, by the table of the resource it names.
    deletes: BTreeMap<String, AbsentDeletes>,
}

impl PythonResource {
    /// The resource of a started `process` that described itself as `describe`, run as
    /// `config` says.
    pub fn new(
        process: RunnerProcess,
        describe: Describe,
        interpreter: Interpreter,
        config: &DltNativeConfig,
    ) -> Result<Self, PythonError> {
        let about = format!(
            "Python {} (chosen by {}), dlt {}",
            describe.python, interpreter.chosen_by, describe.dlt_version
        );
        let deletes = deletes_by_table(&describe, &config.deletes)?;
        let mut tables: Vec<TableHints> = describe
            .resources
            .iter()
            .filter_map(|r| r.hints.as_ref().map(|t| table_hints(t, &deletes)))
            .collect();
        if describe.resources.is_empty() {
            return Err(PythonError::NoResources(describe.source));
        }
        if tables.is_empty() {
            // Every table name depends on the data: the resource's own stands in for the
            // summary until the first item names one.
            let first = &describe.resources[0].name;
            tables.push(TableHints {
                write_disposition: WriteDisposition::Append,
                ..TableHints::named(&normalize_identifier(first))
            });
        }
        Ok(Self {
            name: describe.source,
            process,
            python: interpreter.path.display().to_string(),
            module: config.source_module.clone(),
            about,
            tables,
            deletes,
        })
    }

    /// Runs the process to its end, sending its pages; blocking (a thread of its own).
    fn run(
        mut self,
        input: FetchInput,
        mut pages: PageSender,
    ) -> Result<FetchOutcome, PythonError> {
        if input.window.is_some() {
            return Err(PythonError::NoWindow);
        }
        let saved = input.saved.and_then(|s| s.native);
        self.process
            .run(saved.as_deref())
            .map_err(PythonError::Protocol)?;
        let mut known: HashMap<String, Arc<TableHints>> = self
            .tables
            .iter()
            .map(|t| (t.table_name.clone(), Arc::new(t.clone())))
            .collect();
        let mut state = None;
        loop {
            let frame = match self.process.next_frame() {
                Ok(frame) => frame,
                Err(e) => return Err(PythonError::unreadable(self.process, e)),
            };
            let records = match frame {
                None => break,
                Some(Frame::Table(t)) => {
                    let hints = table_hints(&t, &self.deletes);
                    known.insert(hints.table_name.clone(), Arc::new(hints));
                    continue;
                }
                Some(Frame::Page { table, body }) => {
                    let located =
                        locate_records(&body, Some("$"))
                            .ok()
                            .flatten()
                            .ok_or_else(|| {
                                PythonError::Protocol(std::io::Error::other(
                                    "a page that is not a JSON array",
                                ))
                            })?;
                    let records = Records::Typed {
                        body,
                        spans: located.spans,
                    };
                    (table, vec![records])
                }
                Some(Frame::Arrow { table, ipc }) => {
                    let batches = read_ipc(&ipc).map_err(|error| PythonError::Arrow {
                        table: table.clone(),
                        error,
                    })?;
                    (table, batches.into_iter().map(Records::Arrow).collect())
                }
                Some(Frame::State(s)) => {
                    state = Some(s);
                    continue;
                }
                Some(Frame::Error(e)) => {
                    return Err(PythonError::from_frame(e, &self.python, &self.module));
                }
                Some(Frame::Describe(_)) => continue,
            };
            let (table, batches) = records;
            let name = normalize_identifier(&table);
            let hints = known
                .entry(name.clone())
                .or_insert_with(|| Arc::new(like(&self.tables[0], name)))
                .clone();
            for records in batches {
                if pages.blocking_send_to(hints.clone(), records).is_err() {
                    // The engine stopped the sync; dropping the process ends it.
                    return Ok(FetchOutcome::default());
                }
            }
        }
        let Some(state) = state else {
            let name = self.name.clone();
            let (status, tail) = self.process.finish();
            tracing::debug!(source = %name, "the Python process ended without its state");
            return Err(PythonError::crashed(status, tail));
        };
        let cursor = Some(cursor_state(&self.name, state));
        let (status, tail) = self.process.finish();
        match status {
            Ok(s) if s.success() => Ok(FetchOutcome {
                cursor,
                ..FetchOutcome::default()
            }),
            other => Err(PythonError::crashed(other, tail)),
        }
    }
}

impl Resource for PythonResource {
    fn name(&self) -> &str {
        &self.name
    }

    fn hints(&self) -> &TableHints {
        &self.tables[0]
    }

    fn tables(&self) -> Vec<&TableHints> {
        self.tables.iter().collect()
    }

    fn describe(&self) -> Option<String> {
        Some(self.about.clone())
    }

    fn fetch(
        self: Box<Self>,
        input: FetchInput,
        pages: PageSender,
    ) -> BoxFuture<'static, Result<FetchOutcome, BoxError>> {
        Box::pin(async move {
            let stopper = self.process.stopper();
            // The runtime shutting down after an interrupted sync drops this future without a
            // word: the process must not outlive it.
            let _stop_on_drop = StopOnDrop(stopper.clone());
            let engine_stopped = pages.stopped();
            let mut run = tokio::task::spawn_blocking(move || self.run(input, pages));
            let outcome = tokio::select! {
                outcome = &mut run => outcome,
                () = engine_stopped => {
                    // The engine takes no more pages (the sync was interrupted, --limit was
                    // reached, a later stage failed), while the reader may be blocked on a
                    // process that writes nothing: stop the process, then its reader ends.
                    stopper.stop();
                    run.await
                }
            };
            match outcome {
                Ok(outcome) => outcome.map_err(BoxError::from),
                Err(e) => Err(BoxError::from(e)),
            }
        })
    }
}

/// Stops the process when dropped, unless it has ended.
struct StopOnDrop(ProcessStopper);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// `deletes` (by resource) by the table of the resource each names, refusing where absence
/// cannot mean deleted: a resource the source lacks, one whose table depends on the data, an
/// incremental one, or table hints deletes cannot work with.
fn deletes_by_table(
    describe: &Describe,
    deletes: &BTreeMap<String, AbsentDeletes>,
) -> Result<BTreeMap<String, AbsentDeletes>, PythonError> {
    let refuse = |resource: &str, message: String| PythonError::Unsupported {
        resource: resource.to_string(),
        message: format!("`dlt_native.deletes.{resource}` {message}"),
    };
    let mut out = BTreeMap::new();
    for (name, d) in deletes {
        let Some(resource) = describe.resources.iter().find(|r| &r.name == name) else {
            let names: Vec<&str> = describe.resources.iter().map(|r| r.name.as_str()).collect();
            return Err(refuse(
                name,
                format!(
                    "names no resource of the source (it has: {}); name one of them",
                    names.join(", ")
                ),
            ));
        };
        let Some(hints) = &resource.hints else {
            return Err(refuse(
                name,
                "cannot apply: the resource names its tables by its data".into(),
            ));
        };
        if resource.incremental {
            return Err(refuse(
                name,
                "cannot detect deletes of an incremental resource: each sync yields only \
                 records changed since the last, so every other record would be absent; remove \
                 one of the two"
                    .into(),
            ));
        }
        let table = table_hints(hints, &BTreeMap::new());
        let found = d.problems(
            table.write_disposition,
            &table.merge.strategy,
            &table.primary_key,
            &table.merge_key,
        );
        if let Some(p) = found.first() {
            return Err(refuse(name, format!("{}: {}", p.message, p.hint)));
        }
        out.insert(table.table_name, *d);
    }
    Ok(out)
}

/// Dango's hints of a table dlt described, with its `deletes` if the config gives some.
fn table_hints(t: &TableFrame, deletes: &BTreeMap<String, AbsentDeletes>) -> TableHints {
    let disposition = match t.write_disposition.as_str() {
        "replace" => WriteDisposition::Replace,
        "merge" => WriteDisposition::Merge,
        _ => WriteDisposition::Append,
    };
    let names = |cols: &[String]| cols.iter().map(|c| normalize_identifier(c)).collect();
    let table = normalize_identifier(&t.table);
    let columns: ColumnHints = t
        .columns
        .iter()
        .map(|(name, hint)| (normalize_path(name), usable(&t.table, name, hint)))
        .collect();
    let mut merge = t.merge.as_ref().map(merge_hints).unwrap_or_default();
    merge.deletes = deletes.get(&table).copied();
    let mut columns = match columns.is_empty() {
        true => BTreeMap::new(),
        false => BTreeMap::from([(table.clone(), columns)]),
    };
    merge.declare_columns(&table, &mut columns);
    TableHints {
        write_disposition: disposition,
        merge,
        primary_key: names(&t.primary_key),
        merge_key: names(&t.merge_key),
        max_table_nesting: t.max_table_nesting.unwrap_or(DEFAULT_MAX_NESTING),
        columns,
        contract: t
            .schema_contract
            .map(|c| c.over(SchemaContract::default()))
            .unwrap_or_default(),
        ..TableHints::named(&table)
    }
}

/// Dango's merge hints of what dlt computed (the runner refused what Dango lacks, and checked
/// the timestamps with dlt's own parser).
fn merge_hints(m: &MergeFrame) -> MergeHints {
    let name = |c: &Option<String>| c.as_deref().map(normalize_identifier);
    let at = |option: &str, text: &Option<String>| {
        let value = text.clone().map(serde_json::Value::String);
        crate::hints::timestamp(option, value).ok().flatten()
    };
    let strategy = match m.strategy.as_str() {
        "upsert" => MergeStrategy::Upsert,
        "insert-only" => MergeStrategy::InsertOnly,
        "scd2" => MergeStrategy::Scd2(Scd2 {
            valid_from: name(&m.valid_from).unwrap_or_else(|| DLT_VALID_FROM.to_string()),
            valid_to: name(&m.valid_to).unwrap_or_else(|| DLT_VALID_TO.to_string()),
            row_version: name(&m.row_version),
            active_record_timestamp: at("active_record_timestamp", &m.active_record_timestamp),
            boundary_timestamp: at("boundary_timestamp", &m.boundary_timestamp),
        }),
        _ => MergeStrategy::DeleteInsert,
    };
    MergeHints {
        strategy,
        hard_delete: name(&m.hard_delete),
        dedup_sort: m.dedup_sort.as_ref().map(|(c, order)| {
            let order = match order.as_str() {
                "asc" => SortOrder::Asc,
                _ => SortOrder::Desc,
            };
            (normalize_identifier(c), order)
        }),
        deduplicated: m.deduplicated,
        deletes: None,
    }
}

/// `hint` of `table.column` without a type Dango cannot load yet (the column is then inferred,
/// as before), said in the log.
fn usable(table: &str, column: &str, hint: &ColumnHint) -> ColumnHint {
    match hint.dlt_type() {
        Ok(_) => hint.clone(),
        Err(e) => {
            tracing::warn!(table, column, "column hint ignored: {e}");
            ColumnHint {
                nullable: hint.nullable,
                ..ColumnHint::default()
            }
        }
    }
}

/// Hints for a table the process named without describing it: `base`'s, under `name`.
fn like(base: &TableHints, name: String) -> TableHints {
    TableHints {
        table_name: name,
        ..base.clone()
    }
}

/// The batches of an Arrow IPC stream.
fn read_ipc(ipc: &[u8]) -> Result<Vec<arrow::record_batch::RecordBatch>, arrow::error::ArrowError> {
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)?;
    reader.collect()
}

/// The state to commit: dlt's typed JSON of the whole source state, and its first incremental
/// cursor in readable form for `dango state`.
fn cursor_state(source: &str, state: StateFrame) -> CursorState {
    let first = state.cursors.into_iter().next();
    CursorState {
        resource: source.to_string(),
        cursor_path: first
            .as_ref()
            .map(|c| format!("{}.{}", c.resource, c.path))
            .unwrap_or_default(),
        last_value: first.map(|c| c.last_value).unwrap_or_default(),
        boundary: Vec::new(),
        native: Some(state.state),
        backfilled: Vec::new(),
    }
}
