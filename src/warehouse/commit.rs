//! The commit of one source's load: in a single DuckDB transaction, create or widen the final
//! tables, apply each resource's staged rows by its write disposition, and record the load in
//! `_dlt_loads`. Either all of it becomes visible or none of it does.

use duckdb::Connection;

use super::catalog::{SchemaColumns, schema_columns};
use super::sql::{ident, key_match, literal, qualified};
use super::staging::staging_table;
use crate::decode::DltType;
use crate::hints::{TableHints, WriteDisposition};
use crate::normalize::relational::columns::{DLT_ID, DLT_ROOT_ID};
use crate::state::CursorState;

/// A table staged for this load, with its columns' types in order.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedTable {
    /// Table name (same in staging and final schema).
    pub name: String,
    /// Columns seen in this load, with their types.
    pub columns: Vec<(String, DltType)>,
}

/// What to commit for one resource.
#[derive(Debug, Clone)]
pub struct ResourceCommit {
    /// Root table and how to apply it.
    pub hints: TableHints,
    /// Tables staged for the resource: the root first (if it got rows), then its children.
    pub tables: Vec<StagedTable>,
    /// The incremental cursor to save with the rows.
    pub cursor: Option<CursorState>,
}

/// Everything one source's commit applies.
#[derive(Debug, Clone)]
pub struct CommitPlan {
    /// Final schema, e.g. `raw_my_api`.
    pub dataset: String,
    /// Staging schema holding this load's rows.
    pub staging: String,
    /// The load's id, for `_dlt_loads`.
    pub load_id: String,
    /// `_dlt_loads.schema_name`: the source's name.
    pub schema_name: String,
    /// Per-resource work.
    pub resources: Vec<ResourceCommit>,
    /// Let a `replace` that returned no rows empty a table that has rows.
    pub allow_empty_replace: bool,
    /// Drop the dataset (tables and cursors) before applying: a load from scratch.
    pub full_refresh: bool,
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
    /// DuckDB refused a statement.
    #[error("warehouse error while committing: {0}")]
    Db(#[from] duckdb::Error),
    /// DuckDB's memory budget was too small for applying this load.
    #[error(
        "DuckDB ran out of its memory budget while committing ({0}); nothing was changed. Set \
         DANGO_MEMORY_LIMIT higher than the default {default} (for example 1GB) and sync again",
        default = super::DEFAULT_MEMORY_LIMIT
    )]
    OutOfMemory(duckdb::Error),
}

/// Applies `plan` in one transaction.
pub fn commit(conn: &mut Connection, plan: &CommitPlan) -> Result<(), CommitError> {
    let out_of_memory = |e| match e {
        CommitError::Db(db) if super::out_of_memory(&db) => CommitError::OutOfMemory(db),
        other => other,
    };
    match apply(conn, plan).map_err(out_of_memory) {
        // Applying a load can need more memory than staging it: replacing millions of rows keeps
        // their undo records in memory until the commit. Under the default budget (not one the
        // user chose), retry once with DuckDB's own limit; the failed attempt rolled back and
        // left staging as it was.
        Err(CommitError::OutOfMemory(e)) if std::env::var_os("DANGO_MEMORY_LIMIT").is_none() => {
            tracing::warn!(error = %e, "the commit needs more than the default memory budget; retrying with DuckDB's default limit");
            conn.execute_batch("RESET memory_limit")?;
            let retried = apply(conn, plan).map_err(out_of_memory);
            conn.execute_batch(&format!(
                "SET memory_limit = {}",
                literal(super::DEFAULT_MEMORY_LIMIT)
            ))?;
            retried
        }
        other => other,
    }
}

/// [`commit`]'s transaction.
fn apply(conn: &mut Connection, plan: &CommitPlan) -> Result<(), CommitError> {
    let tx = conn.transaction()?;

    if plan.full_refresh {
        tx.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            ident(&plan.dataset)
        ))?;
    }
    tx.execute_batch(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}",
        ident(&plan.dataset)
    ))?;
    let existing = schema_columns(&tx, &plan.dataset)?;
    for (i, resource) in plan.resources.iter().enumerate() {
        apply_resource(&tx, plan, &existing, resource, i)?;
    }
    let cursors: Vec<CursorState> = plan
        .resources
        .iter()
        .filter_map(|r| r.cursor.clone())
        .collect();
    crate::state::save(&tx, &plan.dataset, &plan.load_id, &cursors)?;
    record_load(&tx, plan)?;
    tx.commit()?;
    Ok(())
}

fn apply_resource(
    conn: &Connection,
    plan: &CommitPlan,
    existing: &SchemaColumns,
    resource: &ResourceCommit,
    ordinal: usize,
) -> Result<(), CommitError> {
    let root = &resource.hints.table_name;
    for table in &resource.tables {
        ensure_table(conn, &plan.dataset, table, existing.get(&table.name))?;
    }
    // Child tables from earlier loads count too: replace and merge must clear their rows.
    let prefix = format!("{root}__");
    let mut family: Vec<String> = existing
        .keys()
        .filter(|t| t.starts_with(&prefix))
        .cloned()
        .chain(resource.tables.iter().map(|t| t.name.clone()))
        .filter(|t| t != root)
        .collect();
    family.sort();
    family.dedup();
    let root_staged = resource.tables.iter().any(|t| &t.name == root);
    let root_exists = root_staged || existing.contains_key(root);
    let fin = |t: &str| qualified(&plan.dataset, t);
    let stg = |t: &str| staging_table(&plan.staging, t);
    match resource.hints.write_disposition {
        WriteDisposition::Replace => {
            if !root_staged && !plan.allow_empty_replace && root_exists {
                let rows = super::catalog::row_count(conn, &plan.dataset, root)?;
                if rows > 0 {
                    return Err(CommitError::EmptyReplace {
                        resource: root.clone(),
                        table: fin(root),
                        rows,
                    });
                }
            }
            for t in std::iter::once(root).chain(&family) {
                if existing.contains_key(t) {
                    conn.execute_batch(&format!("DELETE FROM {}", fin(t)))?;
                }
            }
            insert_all(conn, resource, &fin, &stg)?;
        }
        WriteDisposition::Merge if has_keys(&resource.hints) && root_staged => {
            let hints = &resource.hints;
            // Only a merge key: every staged row is inserted, as in dlt.
            if !hints.primary_key.is_empty() {
                drop_superseded(conn, resource, &stg, ordinal)?;
            }
            // A table empty before this load (a first sync, however big) has nothing to
            // replace: skipping the deletes spares joins over every staged key.
            if super::catalog::row_count(conn, &plan.dataset, root)? > 0 {
                let children: Vec<&String> = family
                    .iter()
                    .filter(|c| has_root_key(existing, resource, c))
                    .collect();
                delete_replaced(conn, resource, &children, &fin, &stg, ordinal)?;
            }
            insert_all(conn, resource, &fin, &stg)?;
        }
        // Append, and merge without a key (which dlt also treats as append).
        _ => insert_all(conn, resource, &fin, &stg)?,
    }
    Ok(())
}

/// Removes from staging every root row, with its child rows, that a later staged row with the
/// same primary key supersedes (the latest record wins; staging holds rows in arrival order).
/// Only keys staged more than once are ranked, so a load without duplicates, the usual case,
/// costs one grouping of the keys, and memory follows the duplicates, not the load.
fn drop_superseded(
    conn: &Connection,
    resource: &ResourceCommit,
    stg: &dyn Fn(&str) -> String,
    ordinal: usize,
) -> duckdb::Result<()> {
    let hints = &resource.hints;
    let root = stg(&hints.table_name);
    let keys: Vec<String> = hints.primary_key.iter().map(|k| ident(k)).collect();
    let staged_keys: Vec<String> = keys.iter().map(|k| format!("s.{k}")).collect();
    let stale = format!("dango_stale_{ordinal}");
    let id = ident(DLT_ID);
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE {stale} AS SELECT {id} FROM ( \
           SELECT s.{id}, row_number() OVER (PARTITION BY {sk} ORDER BY s.rowid DESC) AS dango_rank \
           FROM {root} AS s \
           WHERE EXISTS (SELECT 1 FROM (SELECT {k} FROM {root} GROUP BY {k} HAVING count(*) > 1) AS d \
                         WHERE {m})) \
         WHERE dango_rank > 1",
        sk = staged_keys.join(", "),
        k = keys.join(", "),
        m = key_match("d", "s", &hints.primary_key),
    ))?;
    let stale_rows: i64 =
        conn.query_row(&format!("SELECT count(*) FROM {stale}"), [], |r| r.get(0))?;
    if stale_rows > 0 {
        for table in &resource.tables {
            let link = if table.name == hints.table_name {
                DLT_ID
            } else {
                DLT_ROOT_ID
            };
            conn.execute_batch(&format!(
                "DELETE FROM {s} WHERE {l} IN (SELECT {id} FROM {stale})",
                s = stg(&table.name),
                l = ident(link),
            ))?;
        }
    }
    conn.execute_batch(&format!("DROP TABLE {stale}"))
}

/// Staged rows per pass of [`delete_replaced`]: each pass joins the old rows against at most this
/// many staged keys, so the joins fit DuckDB's memory budget however large the load.
const MERGE_PASS_ROWS: i64 = 500_000;

/// Deletes the old rows that staged rows replace (same primary key or merge key), and their
/// child rows, a slice of staging at a time.
fn delete_replaced(
    conn: &Connection,
    resource: &ResourceCommit,
    children: &[&String],
    fin: &dyn Fn(&str) -> String,
    stg: &dyn Fn(&str) -> String,
    ordinal: usize,
) -> duckdb::Result<()> {
    let hints = &resource.hints;
    let (root, staged) = (fin(&hints.table_name), stg(&hints.table_name));
    let matches: Vec<String> = [&hints.primary_key, &hints.merge_key]
        .into_iter()
        .filter(|k| !k.is_empty())
        .map(|k| format!("({})", key_match("d", "s", k)))
        .collect();
    let last: Option<i64> =
        conn.query_row(&format!("SELECT max(rowid) FROM {staged}"), [], |r| {
            r.get(0)
        })?;
    let (gone, id) = (format!("dango_gone_{ordinal}"), ident(DLT_ID));
    let mut from = 0;
    while last.is_some_and(|last| from <= last) {
        let to = from + MERGE_PASS_ROWS;
        conn.execute_batch(&format!(
            "CREATE TEMP TABLE {gone} AS SELECT d.{id} FROM {root} AS d WHERE EXISTS ( \
               SELECT 1 FROM {staged} AS s WHERE s.rowid >= {from} AND s.rowid < {to} AND ({m}))",
            m = matches.join(" OR "),
        ))?;
        for child in children {
            conn.execute_batch(&format!(
                "DELETE FROM {c} WHERE {rid} IN (SELECT {id} FROM {gone})",
                c = fin(child),
                rid = ident(DLT_ROOT_ID),
            ))?;
        }
        conn.execute_batch(&format!(
            "DELETE FROM {root} WHERE {id} IN (SELECT {id} FROM {gone}); DROP TABLE {gone}"
        ))?;
        from = to;
    }
    Ok(())
}

fn has_keys(hints: &TableHints) -> bool {
    !hints.primary_key.is_empty() || !hints.merge_key.is_empty()
}

fn insert_all(
    conn: &Connection,
    resource: &ResourceCommit,
    fin: &dyn Fn(&str) -> String,
    stg: &dyn Fn(&str) -> String,
) -> duckdb::Result<()> {
    for table in &resource.tables {
        conn.execute_batch(&format!(
            "INSERT INTO {} BY NAME SELECT * FROM {}",
            fin(&table.name),
            stg(&table.name)
        ))?;
    }
    Ok(())
}

fn has_root_key(existing: &SchemaColumns, resource: &ResourceCommit, table: &str) -> bool {
    let staged = resource
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| &t.columns);
    let old = existing.get(table);
    staged
        .into_iter()
        .chain(old)
        .any(|cols| cols.iter().any(|(c, _)| c == DLT_ROOT_ID))
}

/// Creates `table` in `dataset`, or adds the columns it lacks. `_dlt_*` columns are NOT NULL.
fn ensure_table(
    conn: &Connection,
    dataset: &str,
    table: &StagedTable,
    existing: Option<&Vec<(String, DltType)>>,
) -> duckdb::Result<()> {
    let def = |(name, ty): &(String, DltType)| {
        let not_null = if name.starts_with("_dlt_") {
            " NOT NULL"
        } else {
            ""
        };
        format!("{} {}{not_null}", ident(name), ty.duckdb_type())
    };
    match existing {
        None => {
            let cols: Vec<String> = table.columns.iter().map(def).collect();
            conn.execute_batch(&format!(
                "CREATE TABLE {} ({})",
                qualified(dataset, &table.name),
                cols.join(", ")
            ))
        }
        Some(have) => {
            for col in table
                .columns
                .iter()
                .filter(|(c, _)| !have.iter().any(|(h, _)| h == c))
            {
                // A column added later holds NULL for older rows, so it cannot be NOT NULL.
                conn.execute_batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    qualified(dataset, &table.name),
                    ident(&col.0),
                    col.1.duckdb_type()
                ))?;
            }
            Ok(())
        }
    }
}

/// Adds this load's row to `_dlt_loads` (created as dlt creates it), status 0 = loaded.
fn record_load(conn: &Connection, plan: &CommitPlan) -> duckdb::Result<()> {
    let loads = qualified(&plan.dataset, "_dlt_loads");
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {loads} (\"load_id\" VARCHAR NOT NULL, \"schema_name\" VARCHAR, \
         \"status\" BIGINT NOT NULL, \"inserted_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \
         \"schema_version_hash\" VARCHAR); \
         INSERT INTO {loads} VALUES ({}, {}, 0, now(), NULL);",
        literal(&plan.load_id),
        literal(&plan.schema_name),
    ))
}
