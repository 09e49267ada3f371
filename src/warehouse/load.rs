//! One source's load in progress: a connection of its own with one open transaction, in which
//! batches are appended straight into the final tables as they arrive (created or widened on
//! the way). Nothing of it is visible until [`commit`](super::commit::commit) applies the write
//! dispositions and commits; an error, or a crash, rolls all of it back. Appending in place
//! rather than through staging tables spares a second copy of every row: DuckDB writes the
//! transaction's full row groups to the file as they fill, so memory stays bounded, and the
//! commit only links them in.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::catalog::{SchemaColumns, schema_columns};
use super::sql::{ident, qualified};
use crate::decode::DltType;
use crate::decode::table::field_dlt_type;

/// Rows of a table held back before they are appended. DuckDB runs a query for every
/// appender flush, so a flush every few pages rather than every page saves about a fifth of
/// the writer's time (criterion `load_into_duckdb`), for a few megabytes of held batches.
const APPEND_ROWS: usize = 10_000;

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
}

impl Load {
    /// Opens a transaction on a new connection to `main`'s database for loading into `dataset`;
    /// with `full_refresh` the dataset (tables and cursors) is dropped inside it first.
    pub fn begin(main: &Connection, dataset: &str, full_refresh: bool) -> duckdb::Result<Self> {
        let conn = main.try_clone()?;
        conn.execute_batch("BEGIN TRANSACTION")?;
        let mut load = Self {
            conn,
            dataset: dataset.to_string(),
            open: true,
            before: SchemaColumns::new(),
            columns: HashMap::new(),
            replaced: HashMap::new(),
            held: HashMap::new(),
        };
        if full_refresh {
            load.conn
                .execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(dataset)))?;
        }
        load.conn
            .execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(dataset)))?;
        load.before = schema_columns(&load.conn, dataset)?;
        load.columns = load
            .before
            .iter()
            .map(|(t, cols)| (t.clone(), cols.iter().map(|(c, _)| c.clone()).collect()))
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
        if !self.before.contains_key(root) {
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

    /// `root` and every child table of it that existed before the load.
    pub fn family(&self, root: &str) -> Vec<String> {
        let prefix = format!("{root}__");
        let mut tables: Vec<String> = self
            .before
            .keys()
            .filter(|t| *t == root || t.starts_with(&prefix))
            .cloned()
            .collect();
        tables.sort();
        tables
    }

    /// Appends `batch` to final table `table`, creating or widening the table first. The rows
    /// may be held back until more arrive; [`Load::flush`] appends what is held.
    pub fn append(&mut self, table: &str, batch: RecordBatch) -> duckdb::Result<()> {
        let same_schema = |held: &Vec<RecordBatch>| {
            held.first()
                .is_none_or(|first| first.schema_ref() == batch.schema_ref())
        };
        if !self.held.get(table).is_none_or(same_schema) {
            self.append_held(table)?;
        }
        self.prepare(table, &batch.schema())?;
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

    /// Creates `table` with the columns of `schema`, or adds those it lacks.
    fn prepare(&mut self, table: &str, fields: &arrow::datatypes::Schema) -> duckdb::Result<()> {
        let target = qualified(&self.dataset, table);
        match self.columns.get_mut(table) {
            None => {
                // `_dlt_*` columns are NOT NULL, as dlt creates them.
                let cols: Vec<String> = fields
                    .fields()
                    .iter()
                    .map(|f| {
                        let not_null = if f.name().starts_with("_dlt_") {
                            " NOT NULL"
                        } else {
                            ""
                        };
                        format!("{} {}{not_null}", ident(f.name()), column_type(f))
                    })
                    .collect();
                self.conn
                    .execute_batch(&format!("CREATE TABLE {target} ({})", cols.join(", ")))?;
                let names = fields.fields().iter().map(|f| f.name().clone()).collect();
                self.columns.insert(table.to_string(), names);
            }
            Some(existing) => {
                for f in fields.fields() {
                    if !existing.contains(f.name()) {
                        // A column added later holds NULL for older rows: never NOT NULL.
                        self.conn.execute_batch(&format!(
                            "ALTER TABLE {target} ADD COLUMN {} {}",
                            ident(f.name()),
                            column_type(f)
                        ))?;
                        existing.push(f.name().clone());
                    }
                }
            }
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
        let mut appender = if whole {
            self.conn.appender_to_db(table, &self.dataset)?
        } else {
            self.conn
                .appender_with_columns_to_db(table, &self.dataset, &names)?
        };
        for batch in held {
            appender.append_record_batch(batch)?;
        }
        // Errors of the implicit flush on drop are lost: flush explicitly.
        appender.flush()
    }

    /// Commits the transaction.
    pub fn commit(mut self) -> duckdb::Result<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT")
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

/// The DuckDB type of the column for Arrow field `f` (its dlt type is in the field's metadata).
fn column_type(f: &arrow::datatypes::Field) -> &'static str {
    field_dlt_type(f).unwrap_or(DltType::Text).duckdb_type()
}
