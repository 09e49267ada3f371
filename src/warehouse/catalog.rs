//! What the warehouse already holds: the tables of a schema and their columns' types.

use std::collections::HashMap;

use duckdb::Connection;

use crate::hints::DltType;

/// Column name → type, per table, of one schema.
pub type SchemaColumns = HashMap<String, Vec<(String, DltType)>>;

/// Every column of `schema` as (table, column, DuckDB type), by table, in column order.
pub fn columns(conn: &Connection, schema: &str) -> duckdb::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT table_name, column_name, data_type FROM information_schema.columns \
         WHERE table_catalog = current_database() AND table_schema = ? \
         ORDER BY table_name, ordinal_position",
    )?;
    let rows = stmt.query_map([schema], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    rows.collect()
}

/// The tables of `schema` with their columns in order (types Dango does not write are skipped).
pub fn schema_columns(conn: &Connection, schema: &str) -> duckdb::Result<SchemaColumns> {
    let mut out = SchemaColumns::new();
    for (table, column, ty) in columns(conn, schema)? {
        let columns = out.entry(table).or_default();
        if let Some(ty) = DltType::from_duckdb(&ty) {
            columns.push((column, ty));
        }
    }
    Ok(out)
}

/// Whether `schema.table` exists.
pub fn table_exists(conn: &Connection, schema: &str, table: &str) -> duckdb::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, table],
        |row| row.get(0),
    )?;
    Ok(n > 0)
}

/// Whether `schema.table` has `column` (bookkeeping tables gain columns over versions).
pub fn column_exists(
    conn: &Connection,
    schema: &str,
    table: &str,
    column: &str,
) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM information_schema.columns \
         WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? \
         AND column_name = ?",
        [schema, table, column],
        |row| row.get(0),
    )
}

/// Rows in `schema.table`, or 0 if it does not exist.
pub fn row_count(conn: &Connection, schema: &str, table: &str) -> duckdb::Result<i64> {
    if !table_exists(conn, schema, table)? {
        return Ok(0);
    }
    let sql = format!(
        "SELECT count(*) FROM {}",
        super::sql::qualified(schema, table)
    );
    conn.query_row(&sql, [], |row| row.get(0))
}
