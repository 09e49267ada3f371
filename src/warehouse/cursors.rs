//! Incremental cursors, stored in the warehouse next to the data they describe (table
//! `_dango_cursors` of each dataset) and written in the same transaction as that data, so the
//! cursor can never run ahead of, or behind, the rows.

use std::collections::HashMap;

use duckdb::Connection;
use serde_json::Value;

use super::sql::{ident, qualified};
use crate::hints::CursorState;

/// Name of the cursor table in each dataset.
pub const CURSOR_TABLE: &str = "_dango_cursors";

/// The saved cursors of `dataset`, by resource name (none if the table does not exist).
pub fn load(conn: &Connection, dataset: &str) -> duckdb::Result<HashMap<String, CursorState>> {
    if !super::catalog::table_exists(conn, dataset, CURSOR_TABLE)? {
        return Ok(HashMap::new());
    }
    // Read-only callers (`source test`, `--dry-run`) may meet a table made before the column.
    let state = match has_state_column(conn, dataset)? {
        true => ident("state"),
        false => "NULL".into(),
    };
    let sql = format!(
        "SELECT resource, cursor_path, last_value, boundary, {state} FROM {}",
        qualified(dataset, CURSOR_TABLE)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (resource, cursor_path, last, boundary, native) = row?;
        let state = CursorState {
            resource: resource.clone(),
            cursor_path,
            last_value: serde_json::from_str(&last).unwrap_or(Value::Null),
            boundary: serde_json::from_str(&boundary).unwrap_or_default(),
            native,
        };
        out.insert(resource, state);
    }
    Ok(out)
}

/// Saves `cursors` of `dataset`, replacing each resource's previous row. Runs inside the
/// caller's transaction.
pub fn save(
    conn: &Connection,
    dataset: &str,
    load_id: &str,
    cursors: &[CursorState],
) -> duckdb::Result<()> {
    if cursors.is_empty() {
        return Ok(());
    }
    let table = qualified(dataset, CURSOR_TABLE);
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {table} ({} VARCHAR NOT NULL, {} VARCHAR NOT NULL, \
         {} VARCHAR NOT NULL, {} VARCHAR NOT NULL, {} VARCHAR NOT NULL, {} TIMESTAMP WITH TIME ZONE NOT NULL)",
        ident("resource"),
        ident("cursor_path"),
        ident("last_value"),
        ident("boundary"),
        ident("load_id"),
        ident("updated_at"),
    ))?;
    ensure_state_column(conn, dataset)?;
    for c in cursors {
        conn.execute(
            &format!("DELETE FROM {table} WHERE resource = ?"),
            [&c.resource],
        )?;
        conn.execute(
            &format!(
                "INSERT INTO {table} ({}, {}, {}, {}, {}, {}, {}) VALUES (?, ?, ?, ?, ?, now(), ?)",
                ident("resource"),
                ident("cursor_path"),
                ident("last_value"),
                ident("boundary"),
                ident("load_id"),
                ident("updated_at"),
                ident("state"),
            ),
            duckdb::params![
                c.resource.as_str(),
                c.cursor_path.as_str(),
                &c.last_value.to_string(),
                &serde_json::to_string(&c.boundary).unwrap_or_else(|_| "[]".into()),
                load_id,
                c.native.as_deref(),
            ],
        )?;
    }
    Ok(())
}

/// Adds the `state` column (a source's own state, see [`CursorState::native`]) to a cursor
/// table made before it existed; inside the caller's transaction when saving.
fn ensure_state_column(conn: &Connection, dataset: &str) -> duckdb::Result<()> {
    if !has_state_column(conn, dataset)? {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} VARCHAR",
            qualified(dataset, CURSOR_TABLE),
            ident("state")
        ))?;
    }
    Ok(())
}

/// Whether the cursor table of `dataset` has the `state` column.
pub fn has_state_column(conn: &Connection, dataset: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM information_schema.columns \
         WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? \
         AND column_name = 'state'",
        [dataset, CURSOR_TABLE],
        |r| r.get(0),
    )
}
