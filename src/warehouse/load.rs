//! One source's load in progress: a connection of its own with one open transaction, in which
//! batches are appended straight into the final tables as they arrive (created or widened on
//! the way). Nothing of it is visible until [`commit`](super::commit::commit) applies the write
//! dispositions and commits; an error, or a crash, rolls all of it back. Appending in place
//! rather than through staging tables spares a second copy of every row: DuckDB writes the
//! transaction's full row groups to the file as they fill, so memory stays bounded, and the
//! commit only links them in.
//!
//! scd2 tables are the exception ([`Load::stage`]): a sync brings every version again, and
//! most are unchanged, so their rows go to a staging table in DuckDB's temporary catalog and
//! the commit inserts only the new versions. Appending them in place would mean deleting the
//! unchanged copies inside the transaction, and DuckDB 1.5.5 holds memory for every row a
//! transaction deletes of its own (docs/merge-strategies.md, "Memory").

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray, StringArray};
use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::catalog::{SchemaColumns, schema_columns};
use super::chunks::{ChunkOptions, Chunks};
use super::commit::LoadedTable;
use super::sql::{ident, qualified};
use crate::hints::DltType;
use crate::hints::columns::{BOOKKEEPING, DLT_ID, DLT_LOAD_ID, DLT_PARENT_ID, DLT_ROOT_ID};
use crate::hints::field_dlt_type;

/// Rows of a table held back before they are appended. DuckDB runs a query for every
/// appender flush, so a flush every few pages rather than every page saves a good part of
/// the writer's time (criterion `load_into_duckdb`), for a few megabytes of held batches.
const APPEND_ROWS: usize = 10_000;

/// DuckDB memory an append takes per column of the tables being loaded (a vector buffer and a
/// segment each), on top of [`BASE_BYTES`]; measured on wide tables (docs/performance.md,
/// "Measurements behind the code").
const PER_COLUMN_BYTES: u64 = 40 << 10;

/// What a narrow load takes besides its columns.
const BASE_BYTES: u64 = 16 << 20;

/// A source's open load transaction and what it has written so far.
pub struct Load {
    conn: Connection,
    dataset: String,
    /// Whether the transaction is still open (neither committed nor rolled back).
    open: bool,
    /// The dataset's tables as they were when the load began.
    before: SchemaColumns,
    /// Columns of each table inside this transaction, so a batch bringing a new column widens
    /// its table without asking the catalog every time.
    columns: HashMap<String, Vec<String>>,
    /// Rows each `replace` root table held when the load emptied it.
    replaced: HashMap<String, i64>,
    /// Batches of each table not yet appended, all of one schema.
    held: HashMap<String, Vec<RecordBatch>>,
    /// Whether the file's storage format takes [`id_compression`]'s methods.
    compress_ids: bool,
    /// (table, column) of the `wei` (DECIMAL(38,0)) columns, so a `bigint` column that a batch
    /// brings as `wei` (an integer beyond 64 bits arrived) is widened once.
    wei: std::collections::HashSet<(String, String)>,
    /// DuckDB's memory budget when it is Dango's default, which [`Load::fit_memory`] raises
    /// for wide tables; `None` when the user set `DANGO_MEMORY_LIMIT`, which is kept.
    budget: Option<u64>,
    /// The load's chunks: the one in progress, and what its checkpoint will commit.
    pub chunks: Chunks,
    /// Tables that received rows in the chunk in progress.
    appended: HashSet<String>,
    /// The highest `rowid` of each table the chunk in progress appended to, before it did:
    /// rows above it are the chunk's.
    marks: HashMap<String, i64>,
    /// The tables whose rows the chunk in progress staged ([`Load::stage`]).
    staged: HashSet<String>,
}

impl Load {
    /// Opens a transaction on a new connection to `main`'s database for loading into `dataset`;
    /// with `full_refresh` the dataset (tables, cursors and checkpoints) is dropped inside it
    /// first.
    pub fn begin(
        main: &Connection,
        dataset: &str,
        full_refresh: bool,
        chunks: ChunkOptions,
    ) -> duckdb::Result<Self> {
        let compress_ids = takes_id_compression(main)?;
        let conn = super::location::sibling(main)?;
        conn.execute_batch("BEGIN TRANSACTION")?;
        let mut load = Self {
            conn,
            dataset: dataset.to_string(),
            open: true,
            before: SchemaColumns::new(),
            columns: HashMap::new(),
            replaced: HashMap::new(),
            held: HashMap::new(),
            compress_ids,
            wei: Default::default(),
            budget: super::default_memory_budget(),
            chunks: Chunks::new(chunks, HashMap::new()),
            appended: HashSet::new(),
            marks: HashMap::new(),
            staged: HashSet::new(),
        };
        if full_refresh {
            load.conn
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(dataset)))?;
        }
        load.conn
            .execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(dataset)))?;
        load.before = schema_columns(&load.conn, dataset)?;
        load.chunks = Chunks::new(
            load.chunks.options().clone(),
            super::checkpoints::load(&load.conn, dataset)?,
        );
        load.columns = load
            .before
            .iter()
            .map(|(t, cols)| (t.clone(), cols.iter().map(|(c, _)| c.clone()).collect()))
            .collect();
        load.wei = load
            .before
            .iter()
            .flat_map(|(t, cols)| cols.iter().map(move |(c, ty)| (t, c, *ty)))
            .filter(|(_, _, ty)| *ty == DltType::Wei)
            .map(|(t, c, _)| (t.clone(), c.clone()))
            .collect();
        Ok(load)
    }

    /// The transaction's connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The dataset (schema) being loaded.
    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    /// The dataset's tables as they were when the load began.
    pub fn before(&self) -> &SchemaColumns {
        &self.before
    }

    /// Rows `replace` root table `root` held before [`Load::replace`] emptied it.
    pub fn replaced_rows(&self, root: &str) -> i64 {
        self.replaced.get(root).copied().unwrap_or(0)
    }

    /// Empties `root` and its child tables (`root__*`, from earlier loads) for a `replace`
    /// resource, before its rows arrive; the rows they held stay counted for the commit's
    /// empty-replace check.
    pub fn replace(&mut self, root: &str) -> duckdb::Result<()> {
        // Resources sharing a table ask once each; the count is of the rows before the first.
        if !self.before.contains_key(root) || self.replaced.contains_key(root) {
            return Ok(());
        }
        let rows = super::catalog::row_count(&self.conn, &self.dataset, root)?;
        self.replaced.insert(root.to_string(), rows);
        for t in self.family(root) {
            self.conn
                .execute_batch(&format!("DELETE FROM {}", qualified(&self.dataset, &t)))?;
        }
        Ok(())
    }

    /// Deletes the rows of root table `root` that `loads` committed, with their child rows
    /// (found through `_dlt_parent_id`, a level at a time), inside the load.
    pub fn forget(&mut self, root: &str, loads: &[String]) -> duckdb::Result<()> {
        if loads.is_empty() || !self.columns.contains_key(root) {
            return Ok(());
        }
        let ids: Vec<String> = loads.iter().map(|l| super::sql::literal(l)).collect();
        let (id, parent) = (ident(DLT_ID), ident(DLT_PARENT_ID));
        self.conn.execute_batch(&format!(
            "CREATE TEMP TABLE dango_forget AS SELECT {id} FROM {} WHERE {} IN ({})",
            qualified(&self.dataset, root),
            ident(DLT_LOAD_ID),
            ids.join(", ")
        ))?;
        // Children before grandchildren: a table's parent rows are gathered before it is read.
        let mut children: Vec<String> = self
            .family_now(root)
            .into_iter()
            .filter(|t| t != root)
            .collect();
        children.sort_by_key(|t| t.matches("__").count());
        for child in &children {
            self.conn.execute_batch(&format!(
                "INSERT INTO dango_forget SELECT {id} FROM {c} WHERE {parent} IN \
                 (SELECT {id} FROM dango_forget)",
                c = qualified(&self.dataset, child)
            ))?;
        }
        for table in children.iter().chain(std::iter::once(&root.to_string())) {
            self.conn.execute_batch(&format!(
                "DELETE FROM {} WHERE {id} IN (SELECT {id} FROM dango_forget)",
                qualified(&self.dataset, table)
            ))?;
        }
        self.conn.execute_batch("DROP TABLE dango_forget")
    }

    /// `root` and every child table of it in the load as it is now.
    fn family_now(&self, root: &str) -> Vec<String> {
        family_among(self.columns.keys(), root)
    }

    /// `root` and every child table of it that existed before the load.
    pub fn family(&self, root: &str) -> Vec<String> {
        family_among(self.before.keys(), root)
    }

    /// Appends `batch` to final table `table`, creating or widening the table first. The rows
    /// may be held back until more arrive; [`Load::flush`] appends what is held.
    pub fn append(&mut self, table: &str, batch: RecordBatch) -> duckdb::Result<()> {
        self.append_to(table, batch, false)
    }

    /// Appends `batch` to the staging table of final table `table` (see the module's note):
    /// the final table is created or widened as [`Load::append`] would, and the staging table
    /// keeps its columns. The commit reads the rows from [`Load::staging`]; they go when the
    /// chunk commits.
    pub fn stage(&mut self, table: &str, batch: RecordBatch) -> duckdb::Result<()> {
        self.append_to(table, batch, true)
    }

    fn append_to(&mut self, table: &str, batch: RecordBatch, staged: bool) -> duckdb::Result<()> {
        let batch = self.stamped(batch)?;
        let newly_staged = staged && !self.staged.contains(table);
        if newly_staged {
            // Rows held for the final table go there first.
            self.append_held(table)?;
        }
        // Strategies whose ids are hashes tell the chunk's rows from older ones with the same
        // ids by `rowid` (appended rows come after every committed one); one cheap query per
        // table and chunk. Staged rows are told apart by where they are.
        if self.appended.insert(table.to_string()) && !staged {
            let mark = match self.columns.contains_key(table) {
                true => self.conn.query_row(
                    &format!(
                        "SELECT coalesce(max(rowid), -1) FROM {}",
                        qualified(&self.dataset, table)
                    ),
                    [],
                    |r| r.get(0),
                )?,
                false => -1,
            };
            self.marks.insert(table.to_string(), mark);
        }
        let same_schema = |held: &Vec<RecordBatch>| {
            held.first()
                .is_none_or(|first| first.schema_ref() == batch.schema_ref())
        };
        if !self.held.get(table).is_none_or(same_schema) {
            self.append_held(table)?;
        }
        self.prepare(table, &batch.schema())?;
        if newly_staged {
            // Made from the final table as it is now; `prepare` widens both from here on.
            self.conn.execute_batch(&format!(
                "CREATE TEMP TABLE {} AS SELECT * FROM {} LIMIT 0",
                staging_table(table),
                qualified(&self.dataset, table)
            ))?;
            self.staged.insert(table.to_string());
        }
        let held = self.held.entry(table.to_string()).or_default();
        held.push(batch);
        if held.iter().map(RecordBatch::num_rows).sum::<usize>() >= APPEND_ROWS {
            self.append_held(table)?;
        }
        Ok(())
    }

    /// Appends every row held back.
    pub fn flush(&mut self) -> duckdb::Result<()> {
        let tables: Vec<String> = self.held.keys().cloned().collect();
        for table in tables {
            self.append_held(&table)?;
        }
        Ok(())
    }

    /// `batch` with its root rows' `_dlt_load_id` set to the chunk in progress: rows built
    /// before a checkpoint may be appended after it, and each chunk's merge finds its rows by
    /// their load id.
    fn stamped(&self, batch: RecordBatch) -> duckdb::Result<RecordBatch> {
        let id = self.chunks.load_id().as_str();
        let Ok(at) = batch.schema().index_of(DLT_LOAD_ID) else {
            return Ok(batch);
        };
        let column = batch.column(at);
        let current = column
            .as_string_opt::<i32>()
            .is_some_and(|c| c.is_empty() || (c.is_valid(0) && c.value(0) == id));
        if current {
            return Ok(batch);
        }
        let mut columns = batch.columns().to_vec();
        columns[at] = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            id,
            batch.num_rows(),
        )));
        RecordBatch::try_new(batch.schema(), columns)
            .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))
    }

    /// The staging table (qualified) of final table `table`, if the chunk in progress staged
    /// rows of it.
    pub fn staging(&self, table: &str) -> Option<String> {
        self.staged.contains(table).then(|| staging_table(table))
    }

    /// The highest `rowid` of `table` before the chunk in progress appended to it (-1: it was
    /// empty or new); `None`: the chunk appended nothing to it.
    pub fn mark(&self, table: &str) -> Option<i64> {
        self.marks.get(table).copied()
    }

    /// The tables that received rows in the chunk in progress, with their columns now.
    pub fn loaded_tables(&self) -> duckdb::Result<Vec<LoadedTable>> {
        let mut now = schema_columns(&self.conn, &self.dataset)?;
        let mut tables: Vec<LoadedTable> = self
            .appended
            .iter()
            .map(|name| LoadedTable {
                name: name.clone(),
                columns: now.remove(name).unwrap_or_default(),
            })
            .collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tables)
    }

    /// Commits the chunk in progress (its rows and whatever the caller wrote) and opens the
    /// next one's transaction: the load goes on, and a failure from here on rolls back only
    /// the new chunk. The checkpoint took `took`, which paces the next one.
    pub fn commit_chunk(&mut self, took: std::time::Duration) -> duckdb::Result<()> {
        self.drop_staging()?;
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        self.open = true;
        self.chunks.committed(took);
        self.appended.clear();
        self.marks.clear();
        self.before = schema_columns(&self.conn, &self.dataset)?;
        Ok(())
    }

    /// Creates `table` with the columns of `schema`, or adds those it lacks.
    fn prepare(&mut self, table: &str, fields: &arrow::datatypes::Schema) -> duckdb::Result<()> {
        let target = qualified(&self.dataset, table);
        // A staging table keeps the final table's columns, in the same order.
        let staging = self.staging(table);
        let alter = |conn: &Connection, change: String| {
            for t in std::iter::once(&target).chain(&staging) {
                conn.execute_batch(&format!("ALTER TABLE {t} {change}"))?;
            }
            Ok::<_, duckdb::Error>(())
        };
        match self.columns.get_mut(table) {
            None => {
                // `_dlt_*` columns are NOT NULL, as dlt creates them.
                let cols: Vec<String> = fields
                    .fields()
                    .iter()
                    .map(|f| {
                        let not_null = if BOOKKEEPING.contains(&f.name().as_str()) {
                            " NOT NULL"
                        } else {
                            ""
                        };
                        let compression = id_compression(f.name())
                            .filter(|_| self.compress_ids)
                            .map(|c| format!(" USING COMPRESSION {c}"))
                            .unwrap_or_default();
                        format!(
                            "{} {}{not_null}{compression}",
                            ident(f.name()),
                            column_type(f)
                        )
                    })
                    .collect();
                self.conn
                    .execute_batch(&format!("CREATE TABLE {target} ({})", cols.join(", ")))?;
                let names = fields.fields().iter().map(|f| f.name().clone()).collect();
                self.columns.insert(table.to_string(), names);
                for f in fields.fields() {
                    if field_dlt_type(f) == Some(DltType::Wei) {
                        self.wei.insert((table.to_string(), f.name().clone()));
                    }
                }
            }
            Some(existing) => {
                for f in fields.fields() {
                    if !existing.contains(f.name()) {
                        // A column added later holds NULL for older rows: never NOT NULL.
                        alter(
                            &self.conn,
                            format!("ADD COLUMN {} {}", ident(f.name()), column_type(f)),
                        )?;
                        existing.push(f.name().clone());
                        if field_dlt_type(f) == Some(DltType::Wei) {
                            self.wei.insert((table.to_string(), f.name().clone()));
                        }
                    } else if field_dlt_type(f) == Some(DltType::Wei)
                        && self.wei.insert((table.to_string(), f.name().clone()))
                    {
                        // A `bigint` column met an integer beyond 64 bits: widen it (lossless).
                        alter(
                            &self.conn,
                            format!(
                                "ALTER COLUMN {} SET DATA TYPE {}",
                                ident(f.name()),
                                DltType::Wei.duckdb_type()
                            ),
                        )?;
                    }
                }
            }
        }
        self.fit_memory()
    }

    /// Raises DuckDB's default memory budget to what appending into tables as wide as this
    /// load's takes: thousands of columns (records with many distinct keys) would otherwise
    /// fail within the default, however few their rows. A budget the user set is kept (the
    /// out-of-memory error then says to raise it).
    fn fit_memory(&mut self) -> duckdb::Result<()> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        let columns: usize = self.columns.values().map(Vec::len).sum();
        let needed = BASE_BYTES + columns as u64 * PER_COLUMN_BYTES;
        if needed > budget {
            let megabytes = needed.div_ceil(1 << 20);
            self.conn
                .execute_batch(&format!("SET memory_limit = '{megabytes}MB'"))?;
            self.budget = Some(megabytes << 20);
        }
        Ok(())
    }

    /// Appends the batches held for `table` through one appender, flushed once.
    fn append_held(&mut self, table: &str) -> duckdb::Result<()> {
        let Some(held) = self.held.remove(table) else {
            return Ok(());
        };
        let Some(first) = held.first() else {
            return Ok(());
        };
        let fields = first.schema();
        let names: Vec<&str> = fields.fields().iter().map(|f| f.name().as_str()).collect();
        // Batches with every column of the table, in order (the usual case: the table was made
        // from this resource's batches) take the plain appender; naming the columns makes
        // DuckDB plan an insert for every flush.
        let whole = self.columns.get(table).is_some_and(|cols| cols == &names);
        let staged = self.staged.contains(table);
        let (catalog, schema, name) = match staged {
            true => (Some(TEMP_CATALOG), "main", staging_name(table)),
            false => (None, self.dataset.as_str(), table.to_string()),
        };
        let mut appender = match (catalog, whole) {
            (None, true) => self.conn.appender_to_db(&name, schema)?,
            (None, false) => self
                .conn
                .appender_with_columns_to_db(&name, schema, &names)?,
            (Some(catalog), true) => self
                .conn
                .appender_to_catalog_and_db(&name, catalog, schema)?,
            (Some(catalog), false) => self
                .conn
                .appender_with_columns_to_catalog_and_db(&name, catalog, schema, &names)?,
        };
        for batch in held {
            appender.append_record_batch(batch)?;
        }
        // Errors of the implicit flush on drop are lost: flush explicitly.
        appender.flush()
    }

    /// Commits the transaction.
    pub fn commit(mut self) -> duckdb::Result<()> {
        self.drop_staging()?;
        self.open = false;
        self.conn.execute_batch("COMMIT")
    }

    /// Drops the chunk's staging tables, whose rows the commit took what it needed from.
    fn drop_staging(&mut self) -> duckdb::Result<()> {
        for table in std::mem::take(&mut self.staged) {
            self.conn
                .execute_batch(&format!("DROP TABLE IF EXISTS {}", staging_table(&table)))?;
        }
        Ok(())
    }
}

impl Drop for Load {
    /// A load that is dropped without committing leaves nothing behind.
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// DuckDB's catalog of a connection's temporary tables, where staging tables are.
const TEMP_CATALOG: &str = "temp";

/// The name of final table `table`'s staging table (one load per connection, so one dataset;
/// merge's temp tables are named `dango_<what>_<n>`, never `dango_stage__`).
fn staging_name(table: &str) -> String {
    format!("dango_stage__{table}")
}

/// The staging table of `table`, qualified.
fn staging_table(table: &str) -> String {
    format!("{TEMP_CATALOG}.main.{}", ident(&staging_name(table)))
}

/// The compression of dlt's id columns, named when their table is created. DuckDB otherwise
/// tries every method on every row group of every column, and on these the answer is known: a
/// row's own id is unique, so a dictionary never pays, and a parent's or root's id repeats on
/// each of its children's rows, which is what a dictionary is for (where every parent has one
/// child it costs a little space). Naming them makes DuckDB store a sync's tables faster and
/// smaller (docs/performance.md, "Measurements behind the code").
fn id_compression(column: &str) -> Option<&'static str> {
    match column {
        DLT_ID => Some("fsst"),
        DLT_PARENT_ID | DLT_ROOT_ID => Some("dictionary"),
        _ => None,
    }
}

/// Whether the database's storage format still writes [`id_compression`]'s methods: from
/// format v1.3.0 on, DuckDB merged them into one (`dict_fsst`) and refuses to be told either.
/// DuckDB writes v1.0.0 unless a file was made with a newer one.
fn takes_id_compression(conn: &Connection) -> duckdb::Result<bool> {
    let version: Option<String> = conn.query_row(
        "SELECT tags['storage_version'] FROM duckdb_databases() \
         WHERE database_name = current_database()",
        [],
        |r| r.get(0),
    )?;
    let Some(version) = version else {
        return Ok(false);
    };
    let mut parts = version
        .trim_start_matches('v')
        .trim_end_matches('+')
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    Ok(matches!(
        (parts.next().flatten(), parts.next().flatten()),
        (Some(0), Some(_)) | (Some(1), Some(0..=2))
    ))
}

/// The DuckDB type of the column for Arrow field `f` (its dlt type is in the field's metadata).
fn column_type(f: &arrow::datatypes::Field) -> std::borrow::Cow<'static, str> {
    field_dlt_type(f).unwrap_or(DltType::Text).duckdb_type()
}

/// `root` and its child tables (`root__*`) among `tables`, sorted.
fn family_among<'a>(tables: impl Iterator<Item = &'a String>, root: &str) -> Vec<String> {
    let prefix = format!("{root}__");
    let mut family: Vec<String> = tables
        .filter(|t| *t == root || t.starts_with(&prefix))
        .cloned()
        .collect();
    family.sort();
    family
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// A child table's batch in which every row has a parent of its own, so that DuckDB, left
    /// to choose, would not pick a dictionary for the parent ids.
    fn children(rows: usize) -> RecordBatch {
        let id = |prefix: &str, i: usize| format!("{prefix}{:013x}", i.wrapping_mul(0x9e37_79b9));
        let column = |prefix: &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| id(prefix, i)),
            ))
        };
        let schema = Schema::new(vec![
            Field::new("value", DataType::Utf8, false),
            Field::new(DLT_PARENT_ID, DataType::Utf8, false),
            Field::new(DLT_ID, DataType::Utf8, false),
        ]);
        let columns = vec![column("v"), column("p"), column("c")];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    fn compression(conn: &Connection, column: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT compression FROM pragma_storage_info('ds.t__items') \
                 WHERE column_name = ? AND segment_type = 'VARCHAR' ORDER BY 1",
            )
            .unwrap();
        stmt.query_map([column], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn dlt_id_columns_are_created_with_their_compression() {
        let dir = tempfile::tempdir().unwrap();
        let main = crate::warehouse::connect(&dir.path().join("w.duckdb")).unwrap();
        let mut load = Load::begin(&main, "ds", false, Default::default()).unwrap();
        assert!(load.compress_ids);
        load.append("t__items", children(200_000)).unwrap();
        load.flush().unwrap();
        load.commit().unwrap();
        main.execute_batch("CHECKPOINT").unwrap();
        assert_eq!(compression(&main, DLT_PARENT_ID), ["Dictionary"]);
        assert_eq!(compression(&main, DLT_ID), ["FSST"]);
        // An ordinary column is left to DuckDB: unique strings do not get a dictionary.
        assert!(!compression(&main, "value").contains(&"Dictionary".to_string()));
    }

    #[test]
    fn a_newer_storage_format_is_left_to_choose() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::warehouse::connect_in_memory().unwrap();
        let newer = dir.path().join("newer.duckdb");
        let older = dir.path().join("older.duckdb");
        conn.execute_batch(&format!(
            "ATTACH '{}' AS newer (STORAGE_VERSION 'v1.3.0'); ATTACH '{}' AS older",
            newer.display(),
            older.display()
        ))
        .unwrap();
        conn.execute_batch("USE newer").unwrap();
        assert!(!takes_id_compression(&conn).unwrap());
        conn.execute_batch("USE older").unwrap();
        assert!(takes_id_compression(&conn).unwrap());
    }
}
