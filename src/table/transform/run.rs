//! A compiled transform run on one batch, with the checks that its output is rows of that
//! batch's records, and its computed columns cast to the types the warehouse takes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use arrow::compute::{CastOptions, cast_with_options, filter_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;

use super::{Compiled, TransformError, Transformed};
use crate::hints::{DLT_TYPE_METADATA, DltType};
use crate::table::families::dropped_ids;

impl Compiled {
    /// Runs it on `batch`, the transform of `table`: its output must be rows of the batch's
    /// records, which the checks here hold to whatever the plan was.
    pub(super) fn run(
        &self,
        table: &str,
        batch: &RecordBatch,
    ) -> Result<Transformed, TransformError> {
        let eval = |source: DataFusionError| TransformError::Eval {
            table: table.to_string(),
            source,
        };
        let batch = add_null_columns(batch, &self.missing).map_err(eval)?;
        if !same_columns(&batch.schema(), &self.reads) {
            return Err(TransformError::NotTheRecords {
                table: table.to_string(),
                found: format!(
                    "was planned over columns ({}) that are not the batch's ({})",
                    column_list(&self.reads),
                    column_list(&batch.schema())
                ),
            });
        }
        let Evaluated {
            fields,
            arrays,
            kept,
            dropped,
        } = self.evaluate(batch.clone()).map_err(eval)?;
        if let Some(made) = arrays.iter().map(|a| a.len()).find(|&n| n != kept) {
            let records = batch.num_rows();
            let filtered = match kept == records {
                true => String::new(),
                false => format!(", of which its `WHERE` kept {kept}"),
            };
            return Err(TransformError::NotTheRecords {
                table: table.to_string(),
                found: format!("made {made} rows from {records} records{filtered}"),
            });
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| eval(e.into()))?;
        Ok(Transformed { batch, dropped })
    }

    /// The filter and the projections, evaluated on `batch` (with its missing columns): the
    /// output columns, and the rows the filter kept and the `_dlt_id`s of those it dropped.
    fn evaluate(&self, batch: RecordBatch) -> Result<Evaluated, DataFusionError> {
        let (kept, dropped) = match &self.filter {
            None => (batch, HashSet::new()),
            Some(predicate) => {
                let mask = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
                let mask = mask.as_boolean();
                let dropped = dropped_ids(&batch, mask);
                // SQL's WHERE keeps a row only where the predicate is true; so does the filter,
                // which treats null as false.
                (filter_record_batch(&batch, mask)?, dropped)
            }
        };
        let rows = kept.num_rows();
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for output in self.outputs.iter().filter(|o| !o.only_missing) {
            let array = output.expr.evaluate(&kept)?.into_array(rows)?;
            if let Some(i) = output.passes {
                let field = kept.schema().field(i).clone().with_name(&output.name);
                fields.push(field);
                arrays.push(array);
                continue;
            }
            if array.data_type() == &DataType::Null {
                continue;
            }
            let (field, array) = to_warehouse(&output.name, array)?;
            fields.push(field);
            arrays.push(array);
        }
        // dlt's bookkeeping follows each row whatever the query selected.
        for (i, field) in kept.schema().fields().iter().enumerate() {
            if field.name().starts_with("_dlt_") && !fields.iter().any(|f| f.name() == field.name())
            {
                fields.push(field.as_ref().clone());
                arrays.push(kept.column(i).clone());
            }
        }
        Ok(Evaluated {
            fields,
            arrays,
            kept: rows,
            dropped,
        })
    }
}

/// A batch's output columns before they become a batch.
struct Evaluated {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
    /// Rows the filter kept: each output column must have as many.
    kept: usize,
    dropped: HashSet<String>,
}

/// Whether `a` and `b` have the same columns (names and types), in the same order.
fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
}

/// `schema`'s column names, for a message.
fn column_list(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.join(", ")
}

/// `schema` with Null-typed columns `missing` added.
pub(super) fn with_null_columns(schema: &SchemaRef, missing: &[String]) -> SchemaRef {
    if missing.is_empty() {
        return schema.clone();
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(missing.iter().map(|m| Field::new(m, DataType::Null, true)));
    Arc::new(Schema::new(fields))
}

/// `batch` with all-null columns `missing` added.
fn add_null_columns(
    batch: &RecordBatch,
    missing: &[String],
) -> Result<RecordBatch, DataFusionError> {
    if missing.is_empty() {
        return Ok(batch.clone());
    }
    let schema = with_null_columns(&batch.schema(), missing);
    let mut arrays = batch.columns().to_vec();
    arrays.extend(
        missing
            .iter()
            .map(|_| new_null_array(&DataType::Null, batch.num_rows())),
    );
    Ok(RecordBatch::try_new(schema, arrays)?)
}

/// A computed column as the warehouse takes it: its Arrow type cast to the one of its dlt type,
/// and the field naming that type.
fn to_warehouse(name: &str, array: ArrayRef) -> Result<(Field, ArrayRef), DataFusionError> {
    let ty = warehouse_type(array.data_type()).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "column `{name}` has type {}, which no warehouse column holds: cast it, e.g. \
             `CAST(... AS VARCHAR)`",
            array.data_type()
        ))
    })?;
    let target = ty.arrow_type();
    let array = match array.data_type() == &target {
        true => array,
        false => cast_with_options(&array, &target, &CastOptions::default())?,
    };
    let field = Field::new(name, target, true).with_metadata(HashMap::from([(
        DLT_TYPE_METADATA.to_string(),
        ty.key().into_owned(),
    )]));
    Ok((field, array))
}

/// The dlt type a computed Arrow column lands as.
fn warehouse_type(ty: &DataType) -> Option<DltType> {
    use arrow::datatypes::TimeUnit;
    Some(match ty {
        DataType::Boolean => DltType::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DltType::BigInt,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => DltType::BigInt,
        DataType::UInt64 => DltType::Wei,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DltType::Double,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DltType::Text,
        DataType::Timestamp(_, Some(_)) => DltType::Timestamp,
        DataType::Timestamp(unit, None) => DltType::NaiveTimestamp(match unit {
            TimeUnit::Second => 0,
            TimeUnit::Millisecond => 3,
            TimeUnit::Microsecond => 6,
            TimeUnit::Nanosecond => 9,
        }),
        DataType::Date32 | DataType::Date64 => DltType::Date,
        DataType::Time32(_) | DataType::Time64(_) => DltType::Time,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DltType::Binary,
        DataType::Decimal128(38, 0) | DataType::Decimal256(38, 0) => DltType::Wei,
        DataType::Decimal128(38, 9) => DltType::Decimal,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *p <= 38 && *s >= 0 => {
            DltType::Numeric(*p, *s as u8)
        }
        DataType::Decimal256(..) => DltType::Decimal,
        _ => return None,
    })
}
