//! Incremental cursors, stored in the warehouse next to the data they describe (table
//! `_dango_cursors` of each dataset) and written in the same transaction as that data, so the
//! cursor can never run ahead of, or behind, the rows. A sync [`load`]s and [`save`]s them;
//! `dango state` shows them as [`saved`] and clears them with [`reset`], in a transaction of
//! its own.

use std::collections::HashMap;

use duckdb::Connection;
use serde_json::Value;

use super::dlt_state::DltState;
use super::sql::{ident, qualified};
use crate::hints::{CursorState, LoadId};
use crate::source::Span;

/// Name of the cursor table in each dataset.
pub const CURSOR_TABLE: &str = "_dango_cursors";

/// The saved cursors of `dataset`, by resource name (none if the table does not exist).
pub fn load(conn: &Connection, dataset: &str) -> duckdb::Result<HashMap<String, CursorState>> {
    if !super::catalog::table_exists(conn, dataset, CURSOR_TABLE)? {
        return Ok(HashMap::new());
    }
    // Read-only callers (`source test`, `--dry-run`) may meet a table made before a column.
    let state = optional_column(conn, dataset, "state")?;
    let backfilled = optional_column(conn, dataset, "backfilled")?;
    let sql = format!(
        "SELECT resource, cursor_path, last_value, boundary, {state}, {backfilled} FROM {}",
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
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (resource, cursor_path, last, boundary, native, backfilled) = row?;
        let state = CursorState {
            resource: resource.clone(),
            cursor_path,
            last_value: serde_json::from_str(&last).unwrap_or(Value::Null),
            boundary: serde_json::from_str(&boundary).unwrap_or_default(),
            native,
            backfilled: read_spans(backfilled.as_deref()),
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
    load_id: &LoadId,
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
    for column in ["state", "backfilled"] {
        ensure_column(conn, dataset, column)?;
    }
    for c in cursors {
        conn.execute(
            &format!("DELETE FROM {table} WHERE resource = ?"),
            [&c.resource],
        )?;
        conn.execute(
            &format!(
                "INSERT INTO {table} ({}, {}, {}, {}, {}, {}, {}, {}) \
                 VALUES (?, ?, ?, ?, ?, now(), ?, ?)",
                ident("resource"),
                ident("cursor_path"),
                ident("last_value"),
                ident("boundary"),
                ident("load_id"),
                ident("updated_at"),
                ident("state"),
                ident("backfilled"),
            ),
            duckdb::params![
                c.resource.as_str(),
                c.cursor_path.as_str(),
                &c.last_value.to_string(),
                &serde_json::to_string(&c.boundary).unwrap_or_else(|_| "[]".into()),
                load_id.as_str(),
                c.native.as_deref(),
                (!c.backfilled.is_empty())
                    .then(|| serde_json::to_string(&c.backfilled).unwrap_or_default()),
            ],
        )?;
    }
    Ok(())
}

/// Adds `column` (`state`: a source's own state, see [`CursorState::native`]; `backfilled`:
/// see [`CursorState::backfilled`]) to a cursor table made before it existed; inside the
/// caller's transaction when saving.
fn ensure_column(conn: &Connection, dataset: &str, column: &str) -> duckdb::Result<()> {
    if !has_column(conn, dataset, column)? {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} VARCHAR",
            qualified(dataset, CURSOR_TABLE),
            ident(column)
        ))?;
    }
    Ok(())
}

/// `column` of the cursor table to select, or `NULL` when the table predates it.
fn optional_column(conn: &Connection, dataset: &str, column: &str) -> duckdb::Result<String> {
    Ok(match has_column(conn, dataset, column)? {
        true => ident(column),
        false => "NULL".into(),
    })
}

/// Whether the cursor table of `dataset` has `column`.
fn has_column(conn: &Connection, dataset: &str, column: &str) -> duckdb::Result<bool> {
    super::catalog::column_exists(conn, dataset, CURSOR_TABLE, column)
}

/// The `backfilled` column read back (none when empty or unreadable).
fn read_spans(text: Option<&str>) -> Vec<Span> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// One saved row of the cursor table, as `dango state` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedCursor {
    /// The REST resource, or the Python source whose dlt state this is.
    pub resource: String,
    /// When it was saved, ISO 8601 (UTC, to the second).
    pub updated_at: String,
    /// What is saved.
    pub saved: SavedState,
}

/// What a row of the cursor table holds.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedState {
    /// A REST resource's incremental cursor.
    Cursor {
        /// The cursor field's JSONPath.
        path: String,
        /// The last value loaded (`Null` if it does not read).
        last_value: Value,
        /// The ranges `--window` backfills loaded.
        backfilled: Vec<Span>,
    },
    /// A Python source's dlt state: the cursors of each of its resources.
    Dlt(DltState),
}

impl SavedCursor {
    /// The resources this row holds state of: its own, or each one in a dlt state.
    pub fn resources(&self) -> Vec<String> {
        match &self.saved {
            SavedState::Cursor { .. } => vec![self.resource.clone()],
            SavedState::Dlt(state) => state.resources().into_iter().map(|r| r.name).collect(),
        }
    }
}

/// What [`reset`] cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetOutcome {
    /// Rows deleted, by resource: a REST resource's cursor, or a Python source's whole dlt
    /// state.
    pub deleted: Vec<String>,
    /// Python sources whose dlt state lost the one resource's part.
    pub trimmed: Vec<String>,
    /// Resources whose interrupted sync's checkpoint was dropped: the next sync starts them
    /// over instead of resuming.
    pub checkpoints: Vec<String>,
}

impl ResetOutcome {
    /// How many cursors were cleared.
    pub fn cleared(&self) -> usize {
        self.deleted.len() + self.trimmed.len()
    }
}

/// Why the saved cursors could not be read or cleared.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// The cursor table could not be read.
    #[error("cannot read the saved cursors of `{dataset}`")]
    Read {
        /// The dataset.
        dataset: String,
        /// DuckDB's error.
        #[source]
        source: duckdb::Error,
    },
    /// Clearing failed; the transaction was rolled back.
    #[error("clearing the cursors of `{dataset}` failed and nothing was cleared")]
    Reset {
        /// The dataset.
        dataset: String,
        /// DuckDB's error.
        #[source]
        source: duckdb::Error,
    },
}

/// The saved cursors of `dataset`, by resource name (none if nothing was saved).
pub fn saved(conn: &Connection, dataset: &str) -> Result<Vec<SavedCursor>, CursorError> {
    read_saved(conn, dataset).map_err(|source| CursorError::Read {
        dataset: dataset.to_string(),
        source,
    })
}

/// Clears the cursors of `dataset` (those of `resource` only, if given), and the checkpoints an
/// interrupted sync left, in one transaction, so each resource's next sync loads from its
/// initial value. A Python source keeps every
/// resource's state in one dlt state: for one resource, only its part of it is taken out.
pub fn reset(
    conn: &Connection,
    dataset: &str,
    resource: Option<&str>,
) -> Result<ResetOutcome, CursorError> {
    let fail = |source| CursorError::Reset {
        dataset: dataset.to_string(),
        source,
    };
    // Rolled back when dropped before the commit.
    let tx = conn.unchecked_transaction().map_err(fail)?;
    let mut outcome = clear(&tx, dataset, resource).map_err(fail)?;
    outcome.checkpoints = super::checkpoints::clear(&tx, dataset, resource).map_err(fail)?;
    tx.commit().map_err(fail)?;
    Ok(outcome)
}

/// [`saved`], with DuckDB's error.
fn read_saved(conn: &Connection, dataset: &str) -> duckdb::Result<Vec<SavedCursor>> {
    if !super::catalog::table_exists(conn, dataset, CURSOR_TABLE)? {
        return Ok(Vec::new());
    }
    let state = optional_column(conn, dataset, "state")?;
    let backfilled = optional_column(conn, dataset, "backfilled")?;
    let sql = format!(
        "SELECT resource, cursor_path, last_value, \
         strftime(CAST(updated_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ'), {state}, {backfilled} \
         FROM {} ORDER BY resource",
        qualified(dataset, CURSOR_TABLE)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        let last: String = r.get(2)?;
        let native: Option<String> = r.get(4)?;
        let backfilled: Option<String> = r.get(5)?;
        Ok(SavedCursor {
            resource: r.get(0)?,
            updated_at: r.get(3)?,
            saved: match native {
                Some(state) => SavedState::Dlt(DltState::parse(&state)),
                None => SavedState::Cursor {
                    path: r.get(1)?,
                    last_value: serde_json::from_str(&last).unwrap_or_default(),
                    backfilled: read_spans(backfilled.as_deref()),
                },
            },
        })
    })?;
    rows.collect()
}

/// [`reset`]'s work, inside its transaction.
fn clear(conn: &Connection, dataset: &str, resource: Option<&str>) -> duckdb::Result<ResetOutcome> {
    let table = qualified(dataset, CURSOR_TABLE);
    let mut outcome = ResetOutcome::default();
    for row in read_saved(conn, dataset)? {
        match (row.saved, resource) {
            (SavedState::Dlt(mut state), Some(r)) => {
                if state.forget(r) {
                    conn.execute(
                        &format!(
                            "UPDATE {table} SET {} = ? WHERE resource = ?",
                            ident("state")
                        ),
                        [state.to_json(), row.resource.clone()],
                    )?;
                    outcome.trimmed.push(row.resource);
                }
                continue;
            }
            (SavedState::Cursor { .. }, Some(r)) if row.resource != r => continue,
            _ => {}
        }
        conn.execute(
            &format!("DELETE FROM {table} WHERE resource = ?"),
            [&row.resource],
        )?;
        outcome.deleted.push(row.resource);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DLT_STATE: &str = r#"{"resources": {"orders": {"incremental": {"updated_at": {"last_value": "2024-01-07"}}}, "users": {"incremental": {}}}}"#;

    /// A cursor of REST resource `orders` and the dlt state of Python source `py` in `raw`.
    fn saved_cursors() -> Connection {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        conn.execute_batch("CREATE SCHEMA raw").unwrap();
        let cursor = |resource: &str, native: Option<&str>| CursorState {
            resource: resource.into(),
            cursor_path: "$.updatedAt".into(),
            last_value: "2024-01-07".into(),
            boundary: Vec::new(),
            native: native.map(String::from),
            backfilled: Vec::new(),
        };
        let mut orders = cursor("orders", None);
        orders.backfilled = vec![("2024-01-01".into(), "2024-01-05".into())];
        let cursors = [orders, cursor("py", Some(DLT_STATE))];
        save(&conn, "raw", &LoadId::new(), &cursors).unwrap();
        conn
    }

    fn resources(conn: &Connection) -> Vec<String> {
        saved(conn, "raw")
            .unwrap()
            .iter()
            .flat_map(SavedCursor::resources)
            .collect()
    }

    #[test]
    fn nothing_saved_reads_and_clears_as_nothing() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        assert!(saved(&conn, "raw").unwrap().is_empty());
        assert_eq!(reset(&conn, "raw", None).unwrap().cleared(), 0);
    }

    #[test]
    fn saved_rows_are_typed_cursors_and_dlt_states() {
        let conn = saved_cursors();
        let rows = saved(&conn, "raw").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].saved,
            SavedState::Cursor {
                path: "$.updatedAt".into(),
                last_value: "2024-01-07".into(),
                backfilled: vec![("2024-01-01".into(), "2024-01-05".into())],
            }
        );
        let loaded = load(&conn, "raw").unwrap();
        assert_eq!(loaded["orders"].backfilled.len(), 1);
        assert!(loaded["py"].backfilled.is_empty());
        assert!(rows[0].updated_at.ends_with('Z'), "{}", rows[0].updated_at);
        assert_eq!(rows[1].saved, SavedState::Dlt(DltState::parse(DLT_STATE)));
        assert_eq!(resources(&conn), ["orders", "orders", "users"]);
    }

    #[test]
    fn resetting_one_resource_deletes_its_cursor_and_trims_each_dlt_state() {
        let conn = saved_cursors();
        let outcome = reset(&conn, "raw", Some("orders")).unwrap();
        assert_eq!(outcome.deleted, ["orders"]);
        assert_eq!(outcome.trimmed, ["py"]);
        assert_eq!(outcome.cleared(), 2);
        assert_eq!(resources(&conn), ["users"]);
        assert_eq!(
            load(&conn, "raw").unwrap().len(),
            1,
            "the dlt state row stays"
        );
        assert_eq!(reset(&conn, "raw", Some("orders")).unwrap().cleared(), 0);
    }

    #[test]
    fn resetting_every_cursor_deletes_every_row() {
        let conn = saved_cursors();
        let outcome = reset(&conn, "raw", None).unwrap();
        assert_eq!(outcome.deleted, ["orders", "py"]);
        assert!(load(&conn, "raw").unwrap().is_empty());
    }

    #[test]
    fn a_reset_that_fails_midway_clears_nothing() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        // A dlt state may not lose `orders` here: its UPDATE fails after the REST cursor's
        // DELETE, in the same transaction.
        conn.execute_batch(&format!(
            "CREATE SCHEMA raw; CREATE TABLE raw.{CURSOR_TABLE} (resource VARCHAR NOT NULL, \
             cursor_path VARCHAR NOT NULL, last_value VARCHAR NOT NULL, boundary VARCHAR NOT NULL, \
             load_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, \
             state VARCHAR CHECK (state IS NULL OR state LIKE '%orders%'))"
        ))
        .unwrap();
        let cursors: Vec<CursorState> = load(&saved_cursors(), "raw")
            .unwrap()
            .into_values()
            .collect();
        save(&conn, "raw", &LoadId::new(), &cursors).unwrap();
        let before = saved(&conn, "raw").unwrap();
        let err = reset(&conn, "raw", Some("orders")).unwrap_err();
        assert!(matches!(err, CursorError::Reset { .. }), "{err}");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(cause.is_some_and(|c| c.contains("CHECK")), "{err:?}");
        assert_eq!(saved(&conn, "raw").unwrap(), before);
    }
}
