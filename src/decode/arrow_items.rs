//! Arrow items as dlt loads them: a resource's `RecordBatch` goes in whole, with no child
//! tables. Columns keep their names (normalised as dlt names them) and their values; each type
//! becomes the nearest dlt type the warehouse stores (integers `bigint`, decimals `text` so no
//! digit is lost, dates `timestamp`), nested columns (structs, lists, maps) become `json`, and
//! `_dlt_load_id` and a random `_dlt_id` are added.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringBuilder};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use arrow::util::display::FormatOptions;

use super::DltType;
use crate::hints::DLT_TYPE_METADATA;
use crate::hints::columns::{DLT_ID, DLT_LOAD_ID};
use crate::normalize::naming::normalize_identifier;
use crate::normalize::relational::random_row_id;

/// Why an Arrow batch could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArrowItemsError {
    /// Two columns normalise to one name.
    #[error("Arrow columns `{0}` and `{1}` both become column `{2}`; rename one")]
    Collision(String, String, String),
    /// A column's values do not fit the type the table already has.
    #[error(
        "Arrow column `{column}` ({arrow}) cannot be stored in the table's `{existing}` column: {source}"
    )]
    Mismatch {
        /// The column.
        column: String,
        /// Its Arrow type.
        arrow: String,
        /// The table column's dlt type.
        existing: &'static str,
        /// Arrow's reason (boxed: it is large, and this is the rare path).
        source: Box<ArrowError>,
    },
    /// A column of a type Dango cannot store.
    #[error(
        "Arrow column `{column}` has type {arrow}, which Dango cannot load; cast it to a string, number or timestamp"
    )]
    Unsupported {
        /// The column.
        column: String,
        /// Its Arrow type.
        arrow: String,
    },
    /// Arrow itself failed.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// `batch` ready to append to a root table whose columns so far are `known`: names normalised,
/// types the warehouse's, `_dlt_load_id` = `load_id` and a fresh `_dlt_id` per row. Returns the
/// batch and its columns' dlt types.
pub fn prepare(
    batch: &RecordBatch,
    load_id: &str,
    known: &HashMap<String, DltType>,
) -> Result<(RecordBatch, Vec<(String, DltType)>), ArrowItemsError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut types = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type() == &DataType::Null {
            // No value to infer a type from (dlt leaves such a column out too).
            continue;
        }
        let name = normalize_identifier(field.name());
        if let Some(first) = seen.insert(name.clone(), field.name().clone()) {
            return Err(ArrowItemsError::Collision(
                first,
                field.name().clone(),
                name,
            ));
        }
        let natural = dlt_type(field).ok_or_else(|| ArrowItemsError::Unsupported {
            column: field.name().clone(),
            arrow: field.data_type().to_string(),
        })?;
        let ty = known.get(&name).copied().unwrap_or(natural);
        let values = convert(array, natural, ty).map_err(|e| ArrowItemsError::Mismatch {
            column: field.name().clone(),
            arrow: field.data_type().to_string(),
            existing: ty.dlt_name(),
            source: Box::new(e),
        })?;
        fields.push(typed_field(&name, ty, true));
        columns.push(values);
        types.push((name, ty));
    }
    let rows = batch.num_rows();
    let load_ids = StringArray::from_iter_values(std::iter::repeat_n(load_id, rows));
    let ids = StringArray::from_iter_values((0..rows).map(|_| random_row_id()));
    for (name, values) in [(DLT_LOAD_ID, load_ids), (DLT_ID, ids)] {
        fields.push(typed_field(name, DltType::Text, false));
        columns.push(Arc::new(values));
        types.push((name.to_string(), DltType::Text));
    }
    let schema = Arc::new(Schema::new(fields));
    Ok((RecordBatch::try_new(schema, columns)?, types))
}

/// The dlt type a column of `field`'s Arrow type is stored as.
fn dlt_type(field: &Field) -> Option<DltType> {
    use DataType as D;
    Some(match field.data_type() {
        D::Boolean => DltType::Bool,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 => {
            DltType::BigInt
        }
        D::UInt64 => DltType::Wei,
        D::Float16 | D::Float32 | D::Float64 => DltType::Double,
        D::Utf8 | D::LargeUtf8 | D::Utf8View => DltType::Text,
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) | D::Decimal256(..) => {
            DltType::Text
        }
        D::Timestamp(..) | D::Date32 | D::Date64 => DltType::Timestamp,
        D::Struct(_)
        | D::List(_)
        | D::LargeList(_)
        | D::ListView(_)
        | D::LargeListView(_)
        | D::FixedSizeList(..)
        | D::Map(..) => DltType::Json,
        D::Dictionary(_, values) => return dlt_type(&Field::new("", (**values).clone(), true)),
        _ => return None,
    })
}

/// `array` (naturally of dlt type `natural`) as the Arrow array of dlt type `to`.
fn convert(array: &ArrayRef, natural: DltType, to: DltType) -> Result<ArrayRef, ArrowError> {
    let array = match natural {
        DltType::Json => json_text(array)?,
        _ => array.clone(),
    };
    let options = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    // A timestamp without a time zone is taken as UTC, as dlt takes it.
    let array = match array.data_type() {
        DataType::Timestamp(unit, None) => {
            let utc = DataType::Timestamp(*unit, Some("UTC".into()));
            cast_with_options(&array, &utc, &options)?
        }
        _ => array,
    };
    cast_with_options(&array, &to.arrow_type(), &options)
}

/// Each value of a nested column as JSON text.
fn json_text(array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let field = Field::new("v", array.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array.clone()])?;
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = match bytes.is_empty() {
        true => Vec::new(),
        false => {
            serde_json::from_slice(&bytes).map_err(|e| ArrowError::JsonError(e.to_string()))?
        }
    };
    let mut out = StringBuilder::new();
    for (i, row) in rows.iter().enumerate() {
        match (array.is_null(i), row.get("v")) {
            (false, Some(v)) => out.append_value(v.to_string()),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// A field of dlt type `ty`, tagged so the warehouse creates its column with that type.
fn typed_field(name: &str, ty: DltType, nullable: bool) -> Field {
    Field::new(name, ty.arrow_type(), nullable).with_metadata(HashMap::from([(
        DLT_TYPE_METADATA.to_string(),
        ty.key().into_owned(),
    )]))
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int32Array, ListArray, TimestampSecondArray};
    use arrow::datatypes::{Int32Type, TimestampMicrosecondType};

    use super::*;

    fn batch() -> RecordBatch {
        let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            None,
        ]);
        let schema = Schema::new(vec![
            Field::new("userId", DataType::Int32, false),
            Field::new(
                "createdAt",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
                true,
            ),
            Field::new("tags", tags.data_type().clone(), true),
            Field::new("nothing", DataType::Null, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(TimestampSecondArray::from(vec![Some(1_700_000_000), None])),
                Arc::new(tags),
                Arc::new(arrow::array::NullArray::new(2)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn columns_are_named_and_typed_as_dlt_loads_arrow() {
        let (out, types) = prepare(&batch(), "1.5", &HashMap::new()).unwrap();
        let names: Vec<&str> = types.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["user_id", "created_at", "tags", DLT_LOAD_ID, DLT_ID]
        );
        assert_eq!(types[0].1, DltType::BigInt);
        assert_eq!(types[1].1, DltType::Timestamp);
        assert_eq!(types[2].1, DltType::Json);
        let created = out.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(created.value(0), 1_700_000_000_000_000);
        assert!(created.is_null(1));
        let tags = out.column(2).as_string::<i32>();
        assert_eq!(tags.value(0), "[1,2]");
        assert!(tags.is_null(1));
        let ids = out.column(4).as_string::<i32>();
        assert_ne!(ids.value(0), ids.value(1));
    }

    #[test]
    fn a_known_column_keeps_its_type_or_the_batch_is_refused() {
        let known = HashMap::from([("user_id".to_string(), DltType::Text)]);
        let (out, _) = prepare(&batch(), "1.5", &known).unwrap();
        assert_eq!(out.column(0).as_string::<i32>().value(1), "2");
        let known = HashMap::from([("created_at".to_string(), DltType::Bool)]);
        let err = prepare(&batch(), "1.5", &known).unwrap_err();
        assert!(err.to_string().contains("createdAt"), "{err}");
    }
}
