//! A record's child rows go wherever it goes: when a transform's `WHERE` or a schema contract
//! drops a row, its descendants in the same page's child tables are dropped with it.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::error::ArrowError;

use crate::hints::columns::{DLT_ID, DLT_PARENT_ID};

/// The `_dlt_id`s of the rows of `batch` that `keep` does not keep (false or null), whose
/// descendants must go too: what a transform's `WHERE` or a contract dropped.
pub fn dropped_ids(batch: &RecordBatch, keep: &BooleanArray) -> HashSet<String> {
    let Some(ids) = batch
        .column_by_name(DLT_ID)
        .and_then(|c| c.as_string_opt::<i32>())
    else {
        return HashSet::new();
    };
    (0..batch.num_rows())
        .filter(|&row| !(keep.is_valid(row) && keep.value(row)) && ids.is_valid(row))
        .map(|row| ids.value(row).to_string())
        .collect()
}

/// Drops from the child tables of `table` (`<table>__...`) in `batches` every row descending
/// from a row whose `_dlt_id` is in `dropped`; the number of rows dropped.
pub fn drop_descendants(
    batches: &mut [(String, RecordBatch)],
    table: &str,
    mut dropped: HashSet<String>,
) -> Result<usize, ArrowError> {
    if dropped.is_empty() {
        return Ok(0);
    }
    let prefix = format!("{table}__");
    // A child table's name extends its parent's, so shorter names are the ancestors.
    let mut order: Vec<usize> = (0..batches.len())
        .filter(|&i| batches[i].0.starts_with(&prefix))
        .collect();
    order.sort_by_key(|&i| batches[i].0.len());
    let mut gone = 0;
    for i in order {
        let batch = &batches[i].1;
        let (Ok(parents), Ok(ids)) = (
            batch.schema().index_of(DLT_PARENT_ID),
            batch.schema().index_of(DLT_ID),
        ) else {
            continue;
        };
        let parents = batch.column(parents).as_string::<i32>();
        let ids = batch.column(ids).as_string::<i32>();
        let keep: BooleanArray = parents
            .iter()
            .zip(ids.iter())
            .map(|(parent, id)| {
                let orphan = parent.is_some_and(|p| dropped.contains(p));
                if orphan && let Some(id) = id {
                    dropped.insert(id.to_string());
                }
                Some(!orphan)
            })
            .collect();
        let kept = filter_record_batch(batch, &keep)?;
        gone += batch.num_rows() - kept.num_rows();
        batches[i].1 = kept;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new(DLT_PARENT_ID, DataType::Utf8, true),
            Field::new(DLT_ID, DataType::Utf8, true),
        ]);
        let parents: StringArray = pairs.iter().map(|p| Some(p.0)).collect();
        let ids: StringArray = pairs.iter().map(|p| Some(p.1)).collect();
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(parents), Arc::new(ids)]).unwrap()
    }

    #[test]
    fn grandchildren_go_with_their_grandparent_and_others_stay() {
        let mut batches = vec![
            // Listed before their parents: the order must not matter.
            (
                "o__items__tags".to_string(),
                rows(&[("i1", "t1"), ("i2", "t2")]),
            ),
            ("o__items".to_string(), rows(&[("r1", "i1"), ("r2", "i2")])),
            ("other__x".to_string(), rows(&[("r1", "x1")])),
        ];
        let gone = drop_descendants(&mut batches, "o", HashSet::from(["r1".to_string()]));
        assert_eq!(gone.unwrap(), 2);
        assert_eq!(batches[0].1.num_rows(), 1);
        assert_eq!(batches[1].1.num_rows(), 1);
        assert_eq!(
            batches[2].1.num_rows(),
            1,
            "another table's children are not touched"
        );
    }
}
