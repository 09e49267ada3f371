//! The sync history: one row per sync of a source, committed or not, in `_dango.syncs`. It is
//! written in a transaction of its own after the load's commit or rollback, so a failed sync is
//! recorded though its rows are gone.

use duckdb::Connection;

use super::sql::{ident, qualified};
use super::writer::{Warehouse, WarehouseError};

/// The schema of Dango's own tables that belong to no source.
pub const HISTORY_SCHEMA: &str = "_dango";

/// The history table.
pub const HISTORY_TABLE: &str = "syncs";

/// One sync of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRecord {
    /// The source.
    pub source: String,
    /// Its dataset.
    pub dataset: String,
    /// The load id, when it committed.
    pub load_id: Option<String>,
    /// When it started, ISO 8601 (UTC).
    pub started_at: String,
    /// When it ended, ISO 8601 (UTC).
    pub finished_at: String,
    /// `ok`, `failed` or `interrupted`.
    pub status: String,
    /// Rows committed (0 unless `ok`).
    pub rows: i64,
    /// Per resource: its tables and rows, as JSON.
    pub resources: serde_json::Value,
    /// The error, when it failed (secrets already redacted).
    pub error: Option<String>,
}

impl Warehouse {
    /// Records `record` in the history, in a transaction of its own.
    pub async fn record_sync(&self, record: SyncRecord) -> Result<(), WarehouseError> {
        self.run(move |w| record_in(w.conn(), &record))
            .await?
            .map_err(WarehouseError::Db)
    }
}

/// Creates the history table if needed and appends `record`.
pub fn record_in(conn: &Connection, record: &SyncRecord) -> duckdb::Result<()> {
    let table = qualified(HISTORY_SCHEMA, HISTORY_TABLE);
    conn.execute_batch(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {table} (\
         source VARCHAR NOT NULL, dataset VARCHAR NOT NULL, load_id VARCHAR, \
         started_at TIMESTAMP WITH TIME ZONE NOT NULL, finished_at TIMESTAMP WITH TIME ZONE NOT NULL, \
         status VARCHAR NOT NULL, rows BIGINT NOT NULL, resources JSON, error VARCHAR)",
        schema = ident(HISTORY_SCHEMA),
    ))?;
    conn.execute(
        &format!(
            "INSERT INTO {table} VALUES (?, ?, ?, CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), \
             ?, ?, ?, ?)"
        ),
        duckdb::params![
            record.source,
            record.dataset,
            record.load_id,
            record.started_at,
            record.finished_at,
            record.status,
            record.rows,
            record.resources.to_string(),
            record.error,
        ],
    )?;
    Ok(())
}

/// The newest `limit` records, of `source` if given, newest first; none if nothing was ever
/// synced.
pub fn read(
    conn: &Connection,
    source: Option<&str>,
    limit: usize,
) -> duckdb::Result<Vec<SyncRecord>> {
    if !super::catalog::table_exists(conn, HISTORY_SCHEMA, HISTORY_TABLE)? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT source, dataset, load_id, strftime(CAST(started_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ'), \
         strftime(CAST(finished_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ'), status, rows, \
         CAST(resources AS VARCHAR), error FROM {} WHERE ? IS NULL OR source = ? \
         ORDER BY finished_at DESC LIMIT ?",
        qualified(HISTORY_SCHEMA, HISTORY_TABLE)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params![source, source, limit as i64], |r| {
        let resources: Option<String> = r.get(7)?;
        Ok(SyncRecord {
            source: r.get(0)?,
            dataset: r.get(1)?,
            load_id: r.get(2)?,
            started_at: r.get(3)?,
            finished_at: r.get(4)?,
            status: r.get(5)?,
            rows: r.get(6)?,
            resources: resources
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            error: r.get(8)?,
        })
    })?;
    rows.collect()
}
