//! The sync history: one row per sync of a source, committed or not, in `_dango.syncs`. It is
//! written in a transaction of its own after the load's commit or rollback, so a failed sync is
//! recorded though its rows are gone. A row the warehouse cannot take then (its disk is full)
//! waits in a file beside a DuckDB warehouse, and the next sync that can writes it.

use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::sql::{ident, qualified};
use super::writer::{Warehouse, WarehouseError};

/// The schema of Dango's own tables that belong to no source.
pub const HISTORY_SCHEMA: &str = "_dango";

/// The history table.
pub const HISTORY_TABLE: &str = "syncs";

/// One sync of one source.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Why a sync is not in the history (yet).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The warehouse could not take the row; it waits in a file for the next sync.
    #[error(
        "the history could not record this sync now ({reason}); it is kept in {} and the next \
         sync records it",
        file.display()
    )]
    Kept {
        /// Why the warehouse could not take it.
        reason: String,
        /// Where it waits.
        file: PathBuf,
    },
    /// Neither the warehouse nor the file beside it could take the row.
    #[error("the history could not record this sync: {0}")]
    Lost(String),
}

impl Warehouse {
    /// Records `record` in the history, in a transaction of its own, after any rows earlier
    /// syncs could not write. What the warehouse cannot take now waits in
    /// [`Location::pending_history`] for the next sync.
    pub async fn record_sync(&self, record: SyncRecord) -> Result<(), HistoryError> {
        let pending = self.location().pending_history();
        let mut records = pending.as_deref().map(read_pending).unwrap_or_default();
        records.push(record);
        let batch = records.clone();
        let written = self
            .run(move |w| record_all(w.conn(), &batch))
            .await
            .and_then(|r| r.map_err(WarehouseError::Db));
        let reason = match written {
            Ok(()) => {
                if let Some(file) = &pending {
                    let _ = std::fs::remove_file(file);
                }
                return Ok(());
            }
            Err(e) => self.redact(&e.to_string()),
        };
        let Some(file) = pending else {
            return Err(HistoryError::Lost(reason));
        };
        let lines: Vec<String> = records
            .iter()
            .filter_map(|r| serde_json::to_string(r).ok())
            .collect();
        match std::fs::write(&file, lines.join("\n") + "\n") {
            Ok(()) => Err(HistoryError::Kept { reason, file }),
            Err(e) => Err(HistoryError::Lost(format!(
                "{reason}; nor could {} take it: {e}",
                file.display()
            ))),
        }
    }
}

/// The rows waiting in `file` (none if there is none; a line that does not read is skipped,
/// as a half-written one would be).
fn read_pending(file: &Path) -> Vec<SyncRecord> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Appends `records` in one transaction: all of them, or none.
fn record_all(conn: &Connection, records: &[SyncRecord]) -> duckdb::Result<()> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    let written = records.iter().try_for_each(|r| record_in(conn, r));
    match written {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
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
