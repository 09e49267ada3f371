//! Checkpoints of syncs that did not finish (table `_dango_checkpoints` of each dataset): for
//! each resource of an interrupted sync, where it stood at its last checkpoint. Written in the
//! same transaction as the rows they cover, so a checkpoint never claims a row the warehouse
//! does not hold, nor misses one it does. The sync that completes the source deletes them.

use std::collections::HashMap;

use duckdb::Connection;
use serde_json::Value;

use super::sql::{ident, qualified};
use crate::source::ParentRow;

/// Name of the checkpoint table in each dataset.
pub const CHECKPOINT_TABLE: &str = "_dango_checkpoints";

/// The checkpoint table's columns and types, in order.
const COLUMNS: [(&str, &str); 7] = [
    ("resource", "VARCHAR NOT NULL"),
    ("position", "VARCHAR"),
    ("rows", "BIGINT NOT NULL"),
    ("pages", "BIGINT NOT NULL"),
    ("load_ids", "VARCHAR NOT NULL"),
    ("updated_at", "TIMESTAMP WITH TIME ZONE NOT NULL"),
    ("parent_rows", "VARCHAR"),
];

/// Where one resource of an interrupted sync stood at its last checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The resource.
    pub resource: String,
    /// What the resource needs to continue (its next request, its incremental range), as it
    /// wrote it; `None` once the resource had finished.
    pub position: Option<Value>,
    /// Records committed so far by the interrupted sync.
    pub rows: u64,
    /// Pages committed so far.
    pub pages: u64,
    /// The loads (`_dlt_loads`) its checkpoints committed, oldest first.
    pub load_ids: Vec<String>,
    /// When the last checkpoint was committed, ISO 8601 (UTC, to the second).
    pub at: String,
    /// For a finished resource that others run once per record of: the fields of its records
    /// they need, so a resumed sync feeds them without fetching it again.
    pub parent_rows: Option<Vec<ParentRow>>,
}

impl Checkpoint {
    /// Whether the resource finished in the interrupted sync.
    pub fn done(&self) -> bool {
        self.position.is_none()
    }
}

/// The checkpoints of `dataset`, by resource (none if the table does not exist).
pub fn load(conn: &Connection, dataset: &str) -> duckdb::Result<HashMap<String, Checkpoint>> {
    if !super::catalog::table_exists(conn, dataset, CHECKPOINT_TABLE)? {
        return Ok(HashMap::new());
    }
    // Read-only callers (`dango state`) may meet a table made before the column.
    let parent_rows = match has_parent_rows(conn, dataset)? {
        true => ident("parent_rows"),
        false => "NULL".into(),
    };
    let sql = format!(
        "SELECT resource, position, rows, pages, load_ids, \
         strftime(CAST(updated_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ'), {parent_rows} FROM {} \
         ORDER BY resource",
        qualified(dataset, CHECKPOINT_TABLE)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        let position: Option<String> = r.get(1)?;
        let load_ids: String = r.get(4)?;
        Ok(Checkpoint {
            resource: r.get(0)?,
            position: position.and_then(|p| serde_json::from_str(&p).ok()),
            rows: r.get::<_, i64>(2)?.max(0) as u64,
            pages: r.get::<_, i64>(3)?.max(0) as u64,
            load_ids: serde_json::from_str(&load_ids).unwrap_or_default(),
            at: r.get(5)?,
            parent_rows: r
                .get::<_, Option<String>>(6)?
                .and_then(|rows| serde_json::from_str(&rows).ok()),
        })
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let row = row?;
        out.insert(row.resource.clone(), row);
    }
    Ok(out)
}

/// Saves `checkpoints`, replacing each resource's previous row; inside the caller's
/// transaction.
pub fn save(conn: &Connection, dataset: &str, checkpoints: &[Checkpoint]) -> duckdb::Result<()> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    let table = qualified(dataset, CHECKPOINT_TABLE);
    let columns: Vec<String> = COLUMNS.iter().map(|(name, _)| ident(name)).collect();
    let defined: Vec<String> = COLUMNS
        .iter()
        .map(|(name, ty)| format!("{} {ty}", ident(name)))
        .collect();
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {table} ({})",
        defined.join(", ")
    ))?;
    if !has_parent_rows(conn, dataset)? {
        conn.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {} VARCHAR",
            ident("parent_rows")
        ))?;
    }
    for c in checkpoints {
        conn.execute(
            &format!("DELETE FROM {table} WHERE resource = ?"),
            [&c.resource],
        )?;
        conn.execute(
            &format!(
                "INSERT INTO {table} ({}) VALUES (?, ?, ?, ?, ?, now(), ?)",
                columns.join(", ")
            ),
            duckdb::params![
                c.resource.as_str(),
                c.position.as_ref().map(Value::to_string),
                i64::try_from(c.rows).unwrap_or(i64::MAX),
                i64::try_from(c.pages).unwrap_or(i64::MAX),
                serde_json::to_string(&c.load_ids).unwrap_or_else(|_| "[]".into()),
                c.parent_rows
                    .as_ref()
                    .and_then(|rows| serde_json::to_string(rows).ok()),
            ],
        )?;
    }
    Ok(())
}

/// Whether the checkpoint table of `dataset` has the `parent_rows` column.
fn has_parent_rows(conn: &Connection, dataset: &str) -> duckdb::Result<bool> {
    super::catalog::column_exists(conn, dataset, CHECKPOINT_TABLE, "parent_rows")
}

/// Deletes the checkpoints of `dataset` (of `resource` only, if given); inside the caller's
/// transaction. Returns the resources whose checkpoint went.
pub fn clear(
    conn: &Connection,
    dataset: &str,
    resource: Option<&str>,
) -> duckdb::Result<Vec<String>> {
    let mut gone: Vec<String> = load(conn, dataset)?.into_keys().collect();
    gone.retain(|r| resource.is_none_or(|only| only == r));
    gone.sort();
    let table = qualified(dataset, CHECKPOINT_TABLE);
    for r in &gone {
        conn.execute(&format!("DELETE FROM {table} WHERE resource = ?"), [r])?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(resource: &str, position: Option<Value>) -> Checkpoint {
        Checkpoint {
            resource: resource.into(),
            position,
            rows: 412_000,
            pages: 412,
            load_ids: vec!["1.1".into(), "1.2".into()],
            at: String::new(),
            parent_rows: None,
        }
    }

    #[test]
    fn checkpoints_read_back_as_saved_and_a_later_one_replaces_an_earlier() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        conn.execute_batch("CREATE SCHEMA raw").unwrap();
        assert!(load(&conn, "raw").unwrap().is_empty());
        let first = checkpoint("orders", Some(serde_json::json!({"page": 12})));
        let mut users = checkpoint("users", None);
        users.parent_rows = Some(vec![
            serde_json::json!({"id": 7}).as_object().unwrap().clone(),
        ]);
        save(&conn, "raw", &[first, users]).unwrap();
        let later = checkpoint("orders", Some(serde_json::json!({"page": 413})));
        save(&conn, "raw", std::slice::from_ref(&later)).unwrap();
        let saved = load(&conn, "raw").unwrap();
        assert_eq!(saved.len(), 2);
        let orders = &saved["orders"];
        assert_eq!(orders.position, later.position);
        assert_eq!((orders.rows, orders.pages), (412_000, 412));
        assert_eq!(orders.load_ids, ["1.1", "1.2"]);
        assert!(orders.at.ends_with('Z') && !orders.done());
        assert!(saved["users"].done());
        assert_eq!(saved["users"].parent_rows.as_ref().map(Vec::len), Some(1));
        assert_eq!(orders.parent_rows, None);
        assert_eq!(clear(&conn, "raw", Some("users")).unwrap(), ["users"]);
        assert_eq!(clear(&conn, "raw", None).unwrap(), ["orders"]);
        assert!(load(&conn, "raw").unwrap().is_empty());
    }
}
