//! Staging: rows stream into `<dataset>_staging` tables as batches arrive, through DuckDB's Arrow
//! appender. Nothing there is visible in the final tables until the commit applies it, so a sync
//! that dies half-way leaves the warehouse as it was.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::sql::{ident, qualified};
use crate::decode::DltType;
use crate::decode::table::field_dlt_type;

/// Staging tables written in this process, with the columns they have, so that a batch bringing
/// a new column widens its table without asking the catalog every time.
#[derive(Debug, Default)]
pub struct StagingTables {
    columns: HashMap<(String, String), Vec<String>>,
}

/// Type of a staging column: JSON travels as text and is cast at commit.
fn staging_type(ty: DltType) -> &'static str {
    match ty {
        DltType::Json => "VARCHAR",
        other => other.duckdb_type(),
    }
}

impl StagingTables {
    /// Empties the staging schema `schema`: leftovers of an interrupted sync are discarded.
    pub fn reset(&mut self, conn: &Connection, schema: &str) -> duckdb::Result<()> {
        self.columns.retain(|(s, _), _| s != schema);
        conn.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s};",
            s = ident(schema)
        ))
    }

    /// Drops the staging schema `schema` once its contents are committed.
    pub fn drop_schema(&mut self, conn: &Connection, schema: &str) -> duckdb::Result<()> {
        self.columns.retain(|(s, _), _| s != schema);
        conn.execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(schema)))
    }

    /// Appends `batch` to `schema.table`, creating or widening the table first.
    pub fn append(
        &mut self,
        conn: &Connection,
        schema: &str,
        table: &str,
        batch: RecordBatch,
    ) -> duckdb::Result<()> {
        let key = (schema.to_string(), table.to_string());
        let fields = batch.schema();
        match self.columns.get_mut(&key) {
            None => {
                let cols: Vec<String> = fields
                    .fields()
                    .iter()
                    .map(|f| {
                        let ty = field_dlt_type(f).unwrap_or(DltType::Text);
                        format!("{} {}", ident(f.name()), staging_type(ty))
                    })
                    .collect();
                conn.execute_batch(&format!(
                    "CREATE TABLE {} ({})",
                    qualified(schema, table),
                    cols.join(", ")
                ))?;
                let names = fields.fields().iter().map(|f| f.name().clone()).collect();
                self.columns.insert(key.clone(), names);
            }
            Some(existing) => {
                for f in fields.fields() {
                    if !existing.contains(f.name()) {
                        let ty = field_dlt_type(f).unwrap_or(DltType::Text);
                        conn.execute_batch(&format!(
                            "ALTER TABLE {} ADD COLUMN {} {}",
                            qualified(schema, table),
                            ident(f.name()),
                            staging_type(ty)
                        ))?;
                        existing.push(f.name().clone());
                    }
                }
            }
        }
        let names: Vec<&str> = fields.fields().iter().map(|f| f.name().as_str()).collect();
        let mut appender = conn.appender_with_columns_to_db(table, schema, &names)?;
        appender.append_record_batch(batch)?;
        // Errors of the implicit flush on drop are lost: flush explicitly.
        appender.flush()
    }
}
