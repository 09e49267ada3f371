//! Staging: rows stream into temporary tables as batches arrive, through DuckDB's Arrow appender,
//! one per final table, named `"<dataset>_staging.<table>"` (a dot never occurs in a normalised
//! name). Nothing there is visible in the final tables until the commit applies it, so a sync that
//! dies half-way leaves the warehouse as it was. Temporary tables are never written to the WAL or
//! checkpointed into the warehouse file, which halves the disk work of a load; DuckDB spills them
//! to its temp directory when they outgrow its memory limit, so memory stays bounded.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use super::sql::ident;
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

/// The SQL name of staging table `table` of namespace `schema` (`<dataset>_staging`).
pub fn staging_table(schema: &str, table: &str) -> String {
    format!("temp.main.{}", ident(&staging_name(schema, table)))
}

fn staging_name(schema: &str, table: &str) -> String {
    format!("{schema}.{table}")
}

impl StagingTables {
    /// Drops the staging tables of namespace `schema`: a committed load's, or leftovers of a
    /// failed one (temporary tables of an earlier process are already gone).
    pub fn clear(&mut self, conn: &Connection, schema: &str) -> duckdb::Result<()> {
        let mine: Vec<(String, String)> = self
            .columns
            .keys()
            .filter(|(s, _)| s == schema)
            .cloned()
            .collect();
        for key in mine {
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS {}",
                staging_table(&key.0, &key.1)
            ))?;
            self.columns.remove(&key);
        }
        Ok(())
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
                    "CREATE TEMP TABLE {} ({})",
                    ident(&staging_name(schema, table)),
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
                            staging_table(schema, table),
                            ident(f.name()),
                            staging_type(ty)
                        ))?;
                        existing.push(f.name().clone());
                    }
                }
            }
        }
        let names: Vec<&str> = fields.fields().iter().map(|f| f.name().as_str()).collect();
        let mut appender = conn.appender_with_columns_to_catalog_and_db(
            &staging_name(schema, table),
            "temp",
            "main",
            &names,
        )?;
        appender.append_record_batch(batch)?;
        // Errors of the implicit flush on drop are lost: flush explicitly.
        appender.flush()
    }
}
