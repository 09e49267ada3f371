//! One row per primary key, for `merge`: in each page's batches, the latest record of each key
//! by arrival, with only the child rows of the records it keeps. Only the key columns and an
//! arrival sequence go through DataFusion's aggregation; the surviving rows are then taken from
//! the batch, so nested and wide columns never enter DataFusion (whose per-group accumulators
//! on them explode memory). A batch whose keys are all distinct, the usual case, is recognised
//! by hashing its keys and passes through without a query: planning one costs more than the
//! page's other stages spend on the batch. Duplicates across pages are resolved at commit, by
//! the same rule, unless the [`KeyLedger`] saw every key only once.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch, UInt64Array};
use arrow::compute::{filter_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, SortField};
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::prelude::{SessionContext, ident};

use super::not_null;
use crate::hints::columns::{DLT_ID, DLT_ROOT_ID};

/// Name of the arrival-sequence column; cannot clash with a normalised column (they never start
/// with `__`).
const SEQ: &str = "__dango_seq";

/// Why deduplication failed.
#[derive(Debug, thiserror::Error)]
pub enum DedupeError {
    /// A primary-key column is not in the batch.
    #[error("primary key column `{0}` is missing")]
    MissingKey(String),
    /// A row has no value in a key column.
    #[error(transparent)]
    NullKey(#[from] not_null::NullKey),
    /// DataFusion or Arrow failed.
    #[error("deduplication failed: {0}")]
    Engine(#[from] DataFusionError),
}

impl From<arrow::error::ArrowError> for DedupeError {
    fn from(e: arrow::error::ArrowError) -> Self {
        Self::Engine(e.into())
    }
}

/// Keeps, among one page's batches (`(table, batch)`, as the decoder builds them), the last
/// root row of each `key` in arrival order, and only the child rows of the rows kept: a record
/// that a later one in the same page supersedes goes with its whole family, as it does when the
/// later one comes in another page (see the commit). Child rows find their record through
/// `_dlt_root_id`, which every child table of a `merge` resource carries.
pub async fn latest_per_key_in_page(
    ctx: &SessionContext,
    mut batches: Vec<(String, RecordBatch)>,
    root: &str,
    key: &[String],
) -> Result<Vec<(String, RecordBatch)>, DedupeError> {
    let Some(at) = batches.iter().position(|(t, _)| t == root) else {
        return Ok(batches);
    };
    let (_, batch) = &batches[at];
    // The decoder refuses keys that fit no column; this also catches one a transform nulled.
    not_null::check_keys(root, batch, key)?;
    let Some(keep) = survivors(ctx, batch, key).await? else {
        return Ok(batches);
    };
    let superseded = superseded_ids(batch, &keep)?;
    batches[at].1 = take_record_batch(batch, &UInt64Array::from(keep))?;
    for (table, child) in batches.iter_mut().filter(|(t, _)| t != root) {
        let links = child
            .schema()
            .index_of(DLT_ROOT_ID)
            .map_err(|_| DedupeError::MissingKey(format!("{table}.{DLT_ROOT_ID}")))?;
        let links = child.column(links).as_string::<i32>();
        let kept: BooleanArray = links
            .iter()
            .map(|id| Some(id.is_none_or(|id| !superseded.contains(id))))
            .collect();
        *child = filter_record_batch(child, &kept)?;
    }
    Ok(batches)
}

/// The `_dlt_id`s of the rows of root `batch` not in `keep` (sorted row indices).
fn superseded_ids(batch: &RecordBatch, keep: &[u64]) -> Result<HashSet<String>, DedupeError> {
    let ids = batch
        .schema()
        .index_of(DLT_ID)
        .map_err(|_| DedupeError::MissingKey(DLT_ID.to_string()))?;
    let ids = batch.column(ids).as_string::<i32>();
    let mut kept = keep.iter().copied().peekable();
    let mut gone = HashSet::new();
    for (row, id) in ids.iter().enumerate() {
        if kept.next_if_eq(&(row as u64)).is_none()
            && let Some(id) = id
        {
            gone.insert(id.to_string());
        }
    }
    Ok(gone)
}

/// Keeps the last row of each `key` in `batch`, in arrival order.
#[cfg(test)]
async fn latest_per_key(
    ctx: &SessionContext,
    batch: RecordBatch,
    key: &[String],
) -> Result<RecordBatch, DedupeError> {
    match survivors(ctx, &batch, key).await? {
        None => Ok(batch),
        Some(keep) => Ok(take_record_batch(&batch, &UInt64Array::from(keep))?),
    }
}

/// The rows of `batch` to keep, in order, so that each `key` has only its last row; `None` when
/// every key is already distinct (the usual case).
async fn survivors(
    ctx: &SessionContext,
    batch: &RecordBatch,
    key: &[String],
) -> Result<Option<Vec<u64>>, DedupeError> {
    let rows = batch.num_rows();
    if rows < 2 || key.is_empty() {
        return Ok(None);
    }
    let mut columns = key_columns(batch, key)?;
    if all_distinct(&columns)? {
        return Ok(None);
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = key
        .iter()
        .filter_map(|k| schema.field_with_name(k).ok().cloned())
        .collect();
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
    let mut keep: Vec<u64> = latest
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    if keep.len() == rows {
        return Ok(None);
    }
    keep.sort_unstable();
    Ok(Some(keep))
}

/// The key `columns` of `batch`.
fn key_columns(batch: &RecordBatch, key: &[String]) -> Result<Vec<ArrayRef>, DedupeError> {
    let schema = batch.schema();
    key.iter()
        .map(|k| {
            let i = schema
                .index_of(k)
                .map_err(|_| DedupeError::MissingKey(k.clone()))?;
            Ok(batch.column(i).clone())
        })
        .collect()
}

/// The key `columns` in Arrow's row format, where equal keys are equal bytes.
fn key_rows(columns: &[ArrayRef]) -> Result<arrow::row::Rows, ArrowError> {
    let fields = columns
        .iter()
        .map(|c| SortField::new(c.data_type().clone()));
    RowConverter::new(fields.collect())?.convert_columns(columns)
}

/// Whether no two rows of the key `columns` are equal.
fn all_distinct(columns: &[ArrayRef]) -> Result<bool, ArrowError> {
    let rows = key_rows(columns)?;
    let mut seen = HashSet::with_capacity(rows.num_rows());
    Ok(rows.iter().all(|row| seen.insert(row)))
}

/// Keys a ledger keeps before it gives up (8 bytes each): past them the commit ranks
/// duplicates in SQL, as it does when a key repeats.
const LEDGER_KEYS: usize = 1 << 21;

/// The keys of a resource's batches, as 64-bit hashes, to tell whether any key came in two
/// batches. If none did, the commit has no duplicates to rank: at 1M orders that query cost a
/// third of a second inside the load's transaction. Equal hashes of different keys only send
/// the commit down the query, so they cost time, never rows.
#[derive(Debug, Default)]
pub struct KeyLedger {
    hashes: Vec<u64>,
    /// The key columns' types: keys of another type would compare equal in SQL but not here.
    types: Option<Vec<DataType>>,
    /// Too many keys, or keys of changing types: the ledger cannot tell.
    gave_up: bool,
}

impl KeyLedger {
    /// Records the `key` of every row of `batch`, whose rows have distinct keys (see
    /// [`latest_per_key`]).
    pub fn record(&mut self, batch: &RecordBatch, key: &[String]) -> Result<(), DedupeError> {
        if self.gave_up || key.is_empty() {
            return Ok(());
        }
        let columns = key_columns(batch, key)?;
        let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
        if self.types.get_or_insert_with(|| types.clone()) != &types
            || self.hashes.len() + batch.num_rows() > LEDGER_KEYS
        {
            self.give_up();
            return Ok(());
        }
        let hasher = foldhash::quality::FixedState::with_seed(0);
        let rows = key_rows(&columns)?;
        self.hashes
            .extend(rows.iter().map(|row| hasher.hash_one(row.as_ref())));
        Ok(())
    }

    fn give_up(&mut self) {
        self.gave_up = true;
        self.hashes = Vec::new();
    }

    /// Whether every key recorded came once: then no row supersedes another.
    pub fn unique(mut self) -> bool {
        if self.gave_up {
            return false;
        }
        self.hashes.sort_unstable();
        self.hashes.windows(2).all(|w| w[0] != w[1])
    }
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
    async fn a_record_superseded_in_its_page_takes_its_child_rows_with_it() {
        let text = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let root = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from(vec![1, 1, 2, 1])) as ArrayRef,
            ),
            (DLT_ID, text(vec!["a", "b", "c", "d"])),
        ])
        .unwrap();
        let items = RecordBatch::try_from_iter([
            (
                "value",
                text(vec!["a0", "a1", "b0", "c0", "d0", "d1", "d2"]),
            ),
            (DLT_ROOT_ID, text(vec!["a", "a", "b", "c", "d", "d", "d"])),
        ])
        .unwrap();
        let page = vec![("t".to_string(), root), ("t__items".to_string(), items)];
        let ctx = SessionContext::new();
        let out = latest_per_key_in_page(&ctx, page, "t", &["id".to_string()])
            .await
            .unwrap();
        let strings = |b: &RecordBatch, c: usize| -> Vec<String> {
            let col = b.column(c).as_string::<i32>();
            col.iter().flatten().map(str::to_string).collect()
        };
        assert_eq!(strings(&out[0].1, 1), ["c", "d"]);
        assert_eq!(strings(&out[1].1, 0), ["c0", "d0", "d1", "d2"]);

        // Distinct keys: nothing is touched.
        let root = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (DLT_ID, text(vec!["a", "b"])),
        ])
        .unwrap();
        let out = latest_per_key_in_page(&ctx, vec![("t".into(), root)], "t", &["id".into()])
            .await
            .unwrap();
        assert_eq!(out[0].1.num_rows(), 2);
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

    /// A batch of `(org, id)` keys.
    fn keys(orgs: &[&str], ids: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("org", DataType::Utf8, true),
            Field::new("id", DataType::Int64, true),
        ]));
        let orgs = Arc::new(StringArray::from(orgs.to_vec()));
        let ids = Arc::new(Int64Array::from(ids.to_vec()));
        RecordBatch::try_new(schema, vec![orgs, ids]).unwrap()
    }

    #[test]
    fn the_ledger_tells_whether_a_key_came_in_two_batches() {
        let key = ["org".to_string(), "id".to_string()];
        let mut ledger = KeyLedger::default();
        ledger.record(&keys(&["a", "b"], &[1, 1]), &key).unwrap();
        ledger.record(&keys(&["a", "c"], &[2, 1]), &key).unwrap();
        assert!(ledger.unique());

        let mut ledger = KeyLedger::default();
        ledger.record(&keys(&["a", "b"], &[1, 2]), &key).unwrap();
        ledger.record(&keys(&["c", "b"], &[3, 2]), &key).unwrap();
        assert!(!ledger.unique());

        // Keys of another type might be equal in SQL: the ledger cannot tell.
        let mut ledger = KeyLedger::default();
        ledger.record(&keys(&["a"], &[1]), &key).unwrap();
        let id = ["id".to_string()];
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let text = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["9"]))]);
        ledger.record(&keys(&["z"], &[9]), &id).unwrap();
        ledger.record(&text.unwrap(), &id).unwrap();
        assert!(!ledger.unique());

        let mut ledger = KeyLedger::default();
        let missing = ledger.record(&keys(&["a"], &[1]), &["nope".to_string()]);
        assert!(matches!(missing, Err(DedupeError::MissingKey(_))));
    }
}
