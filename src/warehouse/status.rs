//! What a dataset holds, for the commands that show it (`dango state`, `dango demo`): its last
//! load in `_dlt_loads`, and its tables with their columns and rows.

use duckdb::Connection;

use super::catalog::table_exists;
use super::sql::qualified;
use crate::hints::tables::DLT_LOADS;

/// The newest row of a dataset's `_dlt_loads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLoad {
    /// The load id.
    pub load_id: String,
    /// dlt's status: 0 once committed.
    pub status: i64,
    /// When it was recorded, ISO 8601 (UTC, to the second).
    pub inserted_at: String,
}

impl LastLoad {
    /// Whether the load committed (dlt's status 0).
    pub fn committed(&self) -> bool {
        self.status == 0
    }
}

/// One table of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table's name.
    pub name: String,
    /// Its columns in order, each with DuckDB's name of its type (`BIGINT`, `VARCHAR`, ...).
    pub columns: Vec<(String, String)>,
    /// How many rows it holds.
    pub rows: i64,
}

impl TableSummary {
    /// Whether this is one of dlt's or Dango's own tables (`_dlt_loads`, `_dango_cursors`):
    /// a name starting with `_d`, which no loaded table's does.
    pub fn is_bookkeeping(&self) -> bool {
        self.name.starts_with("_d")
    }
}

/// Why a dataset's status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A query of the dataset failed.
    #[error("cannot read what `{dataset}` holds")]
    Read {
        /// The dataset.
        dataset: String,
        /// DuckDB's error.
        #[source]
        source: duckdb::Error,
    },
}

/// The newest load of `dataset`; `None` if it has none.
pub fn last_load(conn: &Connection, dataset: &str) -> Result<Option<LastLoad>, StatusError> {
    read_last_load(conn, dataset).map_err(|source| read_error(dataset, source))
}

/// Every table of `dataset` in name order, with its columns and rows.
pub fn tables(conn: &Connection, dataset: &str) -> Result<Vec<TableSummary>, StatusError> {
    read_tables(conn, dataset).map_err(|source| read_error(dataset, source))
}

fn read_error(dataset: &str, source: duckdb::Error) -> StatusError {
    StatusError::Read {
        dataset: dataset.to_string(),
        source,
    }
}

fn read_last_load(conn: &Connection, dataset: &str) -> duckdb::Result<Option<LastLoad>> {
    if !table_exists(conn, dataset, DLT_LOADS)? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT load_id, status, strftime(CAST(inserted_at AS TIMESTAMP), '%Y-%m-%dT%H:%M:%SZ') \
         FROM {} ORDER BY load_id DESC LIMIT 1",
        qualified(dataset, DLT_LOADS)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query_map([], |r| {
        Ok(LastLoad {
            load_id: r.get(0)?,
            status: r.get(1)?,
            inserted_at: r.get(2)?,
        })
    })?;
    rows.next().transpose()
}

fn read_tables(conn: &Connection, dataset: &str) -> duckdb::Result<Vec<TableSummary>> {
    let mut tables: Vec<TableSummary> = Vec::new();
    for (table, name, data_type) in super::catalog::columns(conn, dataset)? {
        match tables.last_mut() {
            Some(last) if last.name == table => last.columns.push((name, data_type)),
            _ => tables.push(TableSummary {
                name: table,
                columns: vec![(name, data_type)],
                rows: 0,
            }),
        }
    }
    for table in &mut tables {
        let sql = format!("SELECT count(*) FROM {}", qualified(dataset, &table.name));
        table.rows = conn.query_row(&sql, [], |r| r.get(0))?;
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_never_loaded_has_no_load_and_no_tables() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        assert_eq!(last_load(&conn, "raw_shop").unwrap(), None);
        assert!(tables(&conn, "raw_shop").unwrap().is_empty());
    }

    #[test]
    fn the_newest_load_and_every_table_with_its_columns_and_rows() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        conn.execute_batch(
            "CREATE SCHEMA raw_shop;
             CREATE TABLE raw_shop._dlt_loads (load_id VARCHAR, schema_name VARCHAR, status BIGINT,
                 inserted_at TIMESTAMPTZ, schema_version_hash VARCHAR);
             INSERT INTO raw_shop._dlt_loads VALUES
                 ('1700000000.000001', 'shop', 0, '2024-01-02 03:04:05+00', NULL),
                 ('1700000001.000001', 'shop', 1, '2024-01-03 03:04:05+00', NULL);
             CREATE TABLE raw_shop.orders (id BIGINT, note VARCHAR);
             INSERT INTO raw_shop.orders VALUES (1, 'a'), (2, 'b');
             CREATE SCHEMA other; CREATE TABLE other.t (x INTEGER);",
        )
        .unwrap();
        let last = last_load(&conn, "raw_shop").unwrap().unwrap();
        assert_eq!(last.load_id, "1700000001.000001");
        assert!(!last.committed());
        assert_eq!(last.inserted_at, "2024-01-03T03:04:05Z");
        let tables = tables(&conn, "raw_shop").unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["_dlt_loads", "orders"]);
        assert!(tables[0].is_bookkeeping() && !tables[1].is_bookkeeping());
        assert_eq!(tables[0].rows, 2);
        assert_eq!(
            tables[1],
            TableSummary {
                name: "orders".into(),
                columns: vec![
                    ("id".into(), "BIGINT".into()),
                    ("note".into(), "VARCHAR".into())
                ],
                rows: 2,
            }
        );
    }
}
