//! The commit of one source's load: inside the load's transaction (see [`Load`]), which already
//! holds every row, apply each resource's write disposition, save the cursors and record the
//! load in `_dlt_loads`, then commit. Either all of it becomes visible or none of it does.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::load::Load;
use super::sql::{literal, qualified};
use crate::hints::DltType;
use crate::hints::tables::DLT_LOADS;
use crate::hints::{CursorState, LoadId};
use crate::hints::{TableHints, WriteDisposition};

/// A table that received rows in this load, with its columns' types in order.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedTable {
    /// Table name.
    pub name: String,
    /// Columns seen in this load, with their types.
    pub columns: Vec<(String, DltType)>,
}

/// What to commit for one resource.
#[derive(Debug, Clone)]
pub struct ResourceCommit {
    /// Root table and how to apply it.
    pub hints: TableHints,
    /// Tables that received the resource's rows: the root first (if it got rows), then its
    /// children.
    pub tables: Vec<LoadedTable>,
    /// The incremental cursor to save with the rows.
    pub cursor: Option<CursorState>,
    /// Whether no primary key came twice in this load (see `table::dedupe::KeyLedger`): then no new
    /// row supersedes another, and the commit skips ranking them.
    pub keys_unique: bool,
}

/// Everything one commit applies: a checkpoint's chunk, or the load's last.
#[derive(Debug, Clone)]
pub struct CommitPlan {
    /// The load's id, for `_dlt_loads`.
    pub load_id: LoadId,
    /// `_dlt_loads.schema_name`: the source's name.
    pub schema_name: String,
    /// Per-resource work.
    pub resources: Vec<ResourceCommit>,
    /// Let a `replace` that returned no rows empty a table that has rows.
    pub allow_empty_replace: bool,
}

/// Why a commit was refused or failed; the transaction is rolled back either way.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A `replace` would have emptied a table that has rows.
    #[error(
        "resource `{resource}` returned no rows, and `replace` would empty {table} ({rows} rows); \
         nothing was changed. If the source really is empty now, rerun with --allow-empty-replace"
    )]
    EmptyReplace {
        /// The resource.
        resource: String,
        /// The table, schema-qualified.
        table: String,
        /// Rows it holds.
        rows: i64,
    },
    /// Records of one key differed within one sync under a strategy that keeps one row per key
    /// without ranking records.
    #[error(
        "table `{table}`: primary key {key} came more than once in this sync with different \
         values; `{strategy}` expects each key once (dlt would load every copy), so nothing \
         was changed. Use `strategy: delete-insert` (it keeps the latest record of a key, or \
         the one `dedup_sort` picks), or make the source return each record once"
    )]
    RepeatedKey {
        /// The root table.
        table: String,
        /// The merge strategy.
        strategy: &'static str,
        /// The key's values, as text.
        key: String,
    },
    /// Deletes detected by absence would have removed more of the table than allowed.
    #[error(
        "table `{table}`: {absent} of its {live} rows did not come in this sync ({share:.1}%), \
         more than `deletes: {{max_ratio: {max_ratio}}}` lets one sync delete; nothing was \
         changed. If the API really returned everything it has, raise `max_ratio` (1 allows \
         any share); if it did not (an empty or cut-short response), fix the source first",
        share = 100.0 * *absent as f64 / *live as f64
    )]
    TooManyAbsent {
        /// The root table.
        table: String,
        /// Live rows whose key did not come.
        absent: i64,
        /// Live rows the table held.
        live: i64,
        /// The configured ratio.
        max_ratio: f64,
    },
    /// DuckDB refused a statement.
    #[error("warehouse error while committing: {}", super::describe(.0))]
    Db(#[from] duckdb::Error),
    /// DuckDB's memory budget was too small for applying this load.
    #[error(
        "DuckDB ran out of its memory budget while committing ({}); nothing was changed. Set \
         DANGO_MEMORY_LIMIT higher than the default {default} (for example 1GB) and sync again",
        super::describe(.0),
        default = super::DEFAULT_MEMORY_LIMIT
    )]
    OutOfMemory(duckdb::Error),
    /// Another process committed a conflicting change to the same DuckLake table first.
    #[error(
        "another process changed the same table at the same time and committed first ({}); \
         nothing was changed: run the sync again (give each worker its own sources with \
         `--shard K/N` to avoid this)",
        super::describe(.0)
    )]
    Conflict(duckdb::Error),
    /// The writer could not run the commit.
    #[error(transparent)]
    Warehouse(#[from] super::WarehouseError),
}

/// What a load's commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The id of its last chunk, the load recorded in `_dlt_loads`.
    pub load_id: LoadId,
    /// Records deleted because they no longer came, by root table (tables that detect them).
    pub deleted: Deleted,
}

/// Records deleted by absence, by root table.
pub type Deleted = BTreeMap<String, u64>;

/// Applies the load's finished resources' work and commits it, clearing the checkpoints of an
/// interrupted sync (the source is complete); on any error the load is rolled back.
pub fn commit(mut load: Load) -> Result<Committed, CommitError> {
    let plan = load.chunks.final_plan();
    let load_id = plan.load_id.clone();
    let mut deleted = load.chunks.deleted().clone();
    let mut counted = Deleted::new();
    let committed = load.flush().map_err(CommitError::from).and_then(|()| {
        // `threads` belongs to the database, not the connection: a second one sets it back
        // once this one has committed (the commit compresses whatever rows are not yet).
        let settings = super::location::sibling(load.conn())?;
        on_every_core(&settings, || {
            counted = apply(&load, &plan)?;
            if load.chunks.enabled() {
                super::checkpoints::clear(load.conn(), load.dataset(), None)?;
            }
            Ok(load.commit()?)
        })
    });
    named(committed)?;
    for (table, n) in counted {
        *deleted.entry(table).or_default() += n;
    }
    Ok(Committed { load_id, deleted })
}

/// Commits the chunk in progress as a checkpoint (see [`super::chunks`]): the rows so far with
/// the dispositions applied to them, the finished resources' cursors, each running resource's
/// position, and the chunk's `_dlt_loads` row. The load goes on in a new transaction.
pub fn checkpoint(load: &mut Load) -> Result<(), CommitError> {
    let started = std::time::Instant::now();
    load.flush()?;
    let flushed = started.elapsed();
    let plan = load.chunks.checkpoint_plan(&load.loaded_tables()?);
    let settings = super::location::sibling(load.conn())?;
    named(on_every_core(&settings, || {
        let deleted = apply(load, &plan)?;
        let applied = started.elapsed();
        let checkpoints = load.chunks.checkpoints();
        super::checkpoints::save(load.conn(), load.dataset(), &checkpoints)?;
        load.commit_chunk(started.elapsed())?;
        load.chunks.count_deleted(deleted);
        for c in &checkpoints {
            tracing::info!(
                dataset = %load.dataset(),
                resource = %c.resource,
                rows = c.rows,
                pages = c.pages,
                flush_ms = flushed.as_millis() as u64,
                apply_ms = (applied - flushed).as_millis() as u64,
                commit_ms = (started.elapsed() - applied).as_millis() as u64,
                "checkpoint committed"
            );
        }
        Ok(())
    }))
}

/// `result` with DuckDB's errors that have a remedy of their own told apart.
fn named(result: Result<(), CommitError>) -> Result<(), CommitError> {
    match result {
        Err(CommitError::Db(db)) if super::out_of_memory(&db) => Err(CommitError::OutOfMemory(db)),
        Err(CommitError::Db(db)) if db.to_string().contains("Transaction conflict") => {
            Err(CommitError::Conflict(db))
        }
        other => other,
    }
}

/// Runs `f` with DuckDB on every core, then goes back to the appending setting: loads of other
/// sources may still be appending.
fn on_every_core(
    conn: &Connection,
    f: impl FnOnce() -> Result<(), CommitError>,
) -> Result<(), CommitError> {
    conn.execute_batch("RESET threads")?;
    let applied = f();
    let restored = conn.execute_batch(super::writer::APPEND_THREADS);
    applied?;
    Ok(restored?)
}

/// Applies the plan's work; returns the records deleted by absence.
fn apply(load: &Load, plan: &CommitPlan) -> Result<Deleted, CommitError> {
    let mut deleted = Deleted::new();
    for (i, table) in by_root_table(&plan.resources).iter().enumerate() {
        if let Some(n) = apply_resource(load, plan, table, i)? {
            deleted.insert(table.hints.table_name.clone(), n);
        }
    }
    let cursors: Vec<CursorState> = plan
        .resources
        .iter()
        .filter_map(|r| r.cursor.clone())
        .collect();
    super::cursors::save(load.conn(), load.dataset(), &plan.load_id, &cursors)?;
    record_load(load.conn(), load.dataset(), plan)?;
    Ok(deleted)
}

/// The resources' work per root table: resources that share one (validation lets them only
/// with the same disposition and keys) are applied as one, their rows ranked together, since a
/// key may come from each.
fn by_root_table(resources: &[ResourceCommit]) -> Vec<ResourceCommit> {
    let mut tables: Vec<ResourceCommit> = Vec::new();
    for r in resources {
        let same = |t: &&mut ResourceCommit| t.hints.table_name == r.hints.table_name;
        match tables.iter_mut().find(same) {
            None => tables.push(r.clone()),
            Some(table) => {
                table.keys_unique = false;
                for loaded in &r.tables {
                    match table.tables.iter_mut().find(|t| t.name == loaded.name) {
                        None => table.tables.push(loaded.clone()),
                        Some(t) => {
                            let new = loaded.columns.iter().filter(|c| !t.columns.contains(c));
                            let new: Vec<_> = new.cloned().collect();
                            t.columns.extend(new);
                        }
                    }
                }
            }
        }
    }
    tables
}

fn apply_resource(
    load: &Load,
    plan: &CommitPlan,
    resource: &ResourceCommit,
    ordinal: usize,
) -> Result<Option<u64>, CommitError> {
    let root = &resource.hints.table_name;
    let root_loaded = resource.tables.iter().any(|t| &t.name == root);
    // A sync that brought no rows at all still deletes what did not come, if the table exists.
    let detects = resource.hints.merge.deletes.is_some() && load.before().contains_key(root);
    match resource.hints.write_disposition {
        // The old rows went when the load began (`Load::replace`); refuse to commit an empty
        // table in their place unless asked to.
        WriteDisposition::Replace => {
            let rows = load.replaced_rows(root);
            if !root_loaded && !plan.allow_empty_replace && rows > 0 {
                return Err(CommitError::EmptyReplace {
                    resource: root.clone(),
                    table: qualified(load.dataset(), root),
                    rows,
                });
            }
        }
        WriteDisposition::Merge if root_loaded || detects => {
            return super::merge::apply(load, &plan.load_id, resource, ordinal);
        }
        // Append: the rows are in.
        _ => {}
    }
    Ok(None)
}

/// Adds this load's row to `_dlt_loads` (created as dlt creates it), status 0 = loaded.
fn record_load(conn: &Connection, dataset: &str, plan: &CommitPlan) -> duckdb::Result<()> {
    let loads = qualified(dataset, DLT_LOADS);
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {loads} (\"load_id\" VARCHAR NOT NULL, \"schema_name\" VARCHAR, \
         \"status\" BIGINT NOT NULL, \"inserted_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \
         \"schema_version_hash\" VARCHAR); \
         INSERT INTO {loads} VALUES ({}, {}, 0, now(), NULL);",
        literal(plan.load_id.as_str()),
        literal(&plan.schema_name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads(conn: &Connection) -> i64 {
        let sql = "SELECT current_setting('threads')";
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_commit_runs_on_every_core_and_appending_goes_back_to_one_thread() {
        let default = threads(&crate::warehouse::connect_in_memory().unwrap());
        let conn = crate::warehouse::connect_in_memory().unwrap();
        conn.execute_batch(crate::warehouse::writer::APPEND_THREADS)
            .unwrap();
        assert_eq!(threads(&conn), 1);
        let failed = on_every_core(&conn, || {
            assert_eq!(threads(&conn), default);
            Err(CommitError::Db(duckdb::Error::QueryReturnedNoRows))
        });
        assert!(failed.is_err());
        // Restored even though the commit failed: other loads are still appending.
        assert_eq!(threads(&conn), 1);
    }
}
