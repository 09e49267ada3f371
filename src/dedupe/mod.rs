//! The DataFusion stage: for `merge` resources, keeps one row per primary key in each
//! micro-batch, the latest by arrival. Only the key columns and an arrival sequence go through
//! the aggregation; the surviving rows are then taken from the batch, so nested and wide columns
//! never enter DataFusion (whose per-group accumulators on them explode memory). A batch whose
//! keys are all distinct, the usual case, is recognised by hashing its keys and passes through
//! without a query: planning one costs more than the page's other stages spend on the batch.
//! Duplicates across micro-batches are resolved at commit, by the same rule.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, UInt64Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::prelude::{SessionContext, ident};

/// Name of the arrival-sequence column; cannot clash with a normalised column (they never start
/// with `__`).
const SEQ: &str = "__dango_seq";

/// Why deduplication failed.
#[derive(Debug, thiserror::Error)]
pub enum DedupeError {
    /// A primary-key column is not in the batch.
    #[error("primary key column `{0}` is missing")]
    MissingKey(String),
    /// DataFusion or Arrow failed.
    #[error("deduplication failed: {0}")]
    Engine(#[from] DataFusionError),
}

impl From<arrow::error::ArrowError> for DedupeError {
    fn from(e: arrow::error::ArrowError) -> Self {
        Self::Engine(e.into())
    }
}

/// Keeps the last row of each `key` in `batch`, in arrival order.
pub async fn latest_per_key(
    ctx: &SessionContext,
    batch: RecordBatch,
    key: &[String],
) -> Result<RecordBatch, DedupeError> {
    let rows = batch.num_rows();
    if rows < 2 || key.is_empty() {
        return Ok(batch);
    }
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(key.len() + 1);
    let mut columns = Vec::with_capacity(key.len() + 1);
    for k in key {
        let i = schema
            .index_of(k)
            .map_err(|_| DedupeError::MissingKey(k.clone()))?;
        fields.push(schema.field(i).clone());
        columns.push(batch.column(i).clone());
    }
    if all_distinct(&columns)? {
        return Ok(batch);
    }
    fields.push(Field::new(SEQ, DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from_iter_values(0..rows as u64)));
    let keys = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let latest = ctx
        .read_batch(keys)?
        .aggregate(
            key.iter().map(ident).collect(),
            vec![max(ident(SEQ)).alias(SEQ)],
        )?
        .select_columns(&[SEQ])?
        .collect()
        .await?;
    let mut survivors: Vec<u64> = latest
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    if survivors.len() == rows {
        return Ok(batch);
    }
    survivors.sort_unstable();
    Ok(take_record_batch(&batch, &UInt64Array::from(survivors))?)
}

/// Whether no two rows of the key `columns` are equal.
fn all_distinct(columns: &[ArrayRef]) -> Result<bool, ArrowError> {
    let converter = RowConverter::new(
        columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )?;
    let rows = converter.convert_columns(columns)?;
    let mut seen = HashSet::with_capacity(rows.num_rows());
    Ok(rows.iter().all(|row| seen.insert(row)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};

    #[tokio::test]
    async fn latest_row_per_key_wins_and_order_is_kept() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 1, 3, 2])),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
            ],
        )
        .unwrap();
        let ctx = SessionContext::new();
        let out = latest_per_key(&ctx, batch, &["id".to_string()])
            .await
            .unwrap();
        let v: Vec<&str> = out.column(1).as_string::<i32>().iter().flatten().collect();
        assert_eq!(v, ["c", "d", "e"]);
    }

    #[tokio::test]
    async fn compound_keys_are_compared_whole() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("org", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let batch = |orgs: Vec<&str>| {
            let n = orgs.len() as i64;
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(orgs)),
                    Arc::new(Int64Array::from(vec![1; n as usize])),
                    Arc::new(Int64Array::from_iter_values(0..n)),
                ],
            )
            .unwrap()
        };
        let key = ["org".to_string(), "id".to_string()];
        let ctx = SessionContext::new();
        // Same id, different org: all distinct, the batch passes through whole.
        let distinct = latest_per_key(&ctx, batch(vec!["a", "b", "c"]), &key)
            .await
            .unwrap();
        assert_eq!(distinct.num_rows(), 3);
        let dup = latest_per_key(&ctx, batch(vec!["a", "b", "a"]), &key)
            .await
            .unwrap();
        let v: Vec<i64> = dup
            .column(2)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .values()
            .to_vec();
        assert_eq!(v, [1, 2]);
    }

    #[tokio::test]
    async fn missing_key_column_is_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
        let err = latest_per_key(&SessionContext::new(), batch, &["id".into()]).await;
        assert!(matches!(err, Err(DedupeError::MissingKey(k)) if k == "id"));
    }
}
