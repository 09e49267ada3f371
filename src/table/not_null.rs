//! `nullable: false` columns and `merge` keys: a batch with a row lacking a value there fails
//! the sync, naming the table, the column and the record.

use arrow::array::{Array, RecordBatch};

/// A row lacked a value in a `nullable: false` column.
#[derive(Debug, thiserror::Error)]
#[error(
    "table `{table}` column `{column}` is declared `nullable: false`, but a record has no value \
     there: {record}; nothing was loaded. Fix the data or the hint (a `transform:` can fill it \
     with `coalesce({column}, ...)`)"
)]
pub struct NullInNotNull {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The first such row, as JSON (shortened).
    pub record: String,
}

/// A `merge` row without a value in a key column. It could never replace the row it updates
/// (NULL matches no key), so every sync would add one more copy of the record.
#[derive(Debug, thiserror::Error)]
#[error(
    "table `{table}` has no value in key column `{column}` for a record: {record}; nothing was \
     loaded. A `merge` replaces records by their key, so every record needs one (a `transform:` \
     must pass the key through unchanged)"
)]
pub struct NullKey {
    /// The table.
    pub table: String,
    /// The key column.
    pub column: String,
    /// The first such row, as JSON (shortened).
    pub record: String,
}

/// Longest record shown in the error.
const SHOWN: usize = 300;

/// Checks that no row of `batch` (of `table`) is null in any of `columns`.
pub fn check(table: &str, batch: &RecordBatch, columns: &[String]) -> Result<(), NullInNotNull> {
    match first_null(batch, columns) {
        Some((column, row)) => Err(NullInNotNull {
            table: table.to_string(),
            column: column.clone(),
            record: shown(batch, row),
        }),
        None => Ok(()),
    }
}

/// Checks that every row of `batch`, a `merge` root table's (`table`), has its `keys`.
pub fn check_keys(table: &str, batch: &RecordBatch, keys: &[String]) -> Result<(), NullKey> {
    match first_null(batch, keys) {
        Some((column, row)) => Err(NullKey {
            table: table.to_string(),
            column: column.clone(),
            record: shown(batch, row),
        }),
        None => Ok(()),
    }
}

/// The first of `columns` null in some row of `batch` (absent counts as null), and that row.
fn first_null<'a>(batch: &RecordBatch, columns: &'a [String]) -> Option<(&'a String, usize)> {
    columns.iter().find_map(|column| {
        let row = match batch.column_by_name(column) {
            None if batch.num_rows() > 0 => Some(0),
            None => None,
            Some(values) if values.null_count() == 0 => None,
            Some(values) => (0..values.len()).find(|&r| values.is_null(r)),
        };
        row.map(|row| (column, row))
    })
}

/// Row `row` of `batch` as JSON, without dlt's bookkeeping, cut to [`SHOWN`] characters.
fn shown(batch: &RecordBatch, row: usize) -> String {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| !batch.schema().field(i).name().starts_with("_dlt_"))
        .collect();
    let one = batch.slice(row, 1).project(&keep);
    let mut writer = arrow::json::LineDelimitedWriter::new(Vec::new());
    let json = one
        .ok()
        .and_then(|b| writer.write(&b).ok())
        .and_then(|_| writer.finish().ok())
        .map(|_| {
            String::from_utf8_lossy(&writer.into_inner())
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "(the record could not be shown)".into());
    match json.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &json[..cut]),
        None => json,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn names_the_column_and_shows_the_record() {
        let schema = Schema::new(vec![
            Field::new("email", DataType::Utf8, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![Some("a@x"), None])),
                Arc::new(StringArray::from(vec![Some("A"), Some("Bo")])),
            ],
        )
        .unwrap();
        assert!(check("users", &batch, &["name".into()]).is_ok());
        let err = check("users", &batch, &["email".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("table `users` column `email`"), "{err}");
        assert!(err.contains(r#"{"name":"Bo"}"#), "{err}");
        let absent = check("users", &batch, &["phone".into()]).unwrap_err();
        assert_eq!(absent.column, "phone");
    }

    #[test]
    fn a_null_key_names_the_key_and_the_record() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![Some("1"), None, Some("3")])),
                Arc::new(StringArray::from(vec![Some("A"), Some("Bo"), None])),
            ],
        )
        .unwrap();
        assert!(check_keys("users", &batch, &["name".into()]).is_err());
        let err = check_keys("users", &batch, &["id".into()]).unwrap_err();
        assert_eq!((err.table.as_str(), err.column.as_str()), ("users", "id"));
        let shown = err.to_string();
        assert!(shown.contains("key column `id`"), "{shown}");
        assert!(shown.contains(r#"{"name":"Bo"}"#), "{shown}");
        let whole = batch.slice(0, 1);
        assert!(check_keys("users", &whole, &["id".into(), "name".into()]).is_ok());
    }
}
