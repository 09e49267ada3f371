//! Builds the Arrow batches of one table from normalised rows, inferring column types as values
//! arrive: a new field becomes a new column (earlier rows null), an all-null field makes no
//! column, and a value that does not fit its column goes to a variant column `<col>__v_<type>`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use serde_json::Value;

use super::columns::{ColumnBuilder, new_builder};
use super::types::{DltType, Scalar, classify, coerce};
use crate::normalize::Row;

/// Field metadata key carrying the dlt type where Arrow's type does not say it (JSON).
pub const DLT_TYPE_METADATA: &str = "dango.dlt_type";

struct Column {
    name: String,
    ty: DltType,
    builder: Box<dyn ColumnBuilder>,
}

/// The columns of one table so far and the rows of the current batch.
pub struct TableBuilder {
    columns: Vec<Column>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    /// The column the n-th field of the previous row went to: rows of one API mostly share
    /// their field order, so a name comparison usually replaces a hash lookup.
    last_positions: Vec<usize>,
    /// Types of columns the warehouse already has: a value must fit them, not start a new type.
    known: HashMap<String, DltType>,
    rows: usize,
}

impl TableBuilder {
    /// A builder for a table whose existing warehouse columns have the types in `known`.
    pub fn new(known: HashMap<String, DltType>) -> Self {
        Self {
            columns: Vec::new(),
            index: HashMap::default(),
            last_positions: Vec::new(),
            known,
            rows: 0,
        }
    }

    /// Rows added since the last [`TableBuilder::finish`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Every column created so far, with its type, in order.
    pub fn columns(&self) -> Vec<(String, DltType)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect()
    }

    /// Adds one normalised row.
    pub fn push(&mut self, row: Row) {
        for (position, (name, value)) in row.iter().enumerate() {
            // A string bound for a text column stays text whatever it looks like, so the
            // timestamp detection of `classify` would be wasted on it.
            let found = self.find(position, name);
            let text_column = found.is_some_and(|i| self.columns[i].ty == DltType::Text);
            let scalar = match value {
                Value::String(s) if text_column => Some(Scalar::Text(s)),
                other => classify(other),
            };
            if let Some(scalar) = scalar {
                self.append(position, name, found, scalar);
            }
        }

        self.rows += 1;
        for column in &mut self.columns {
            if column.builder.len() < self.rows {
                column.builder.append_null();
            }
        }
    }

    /// The column named `name`, trying where the field at `position` went last time first.
    fn find(&self, position: usize, name: &str) -> Option<usize> {
        match self.last_positions.get(position) {
            Some(&i) if self.columns[i].name == name => Some(i),
            _ => self.index.get(name).copied(),
        }
    }

    /// Appends `value` to column `name` (at index `found`, if it exists), or to its variant.
    fn append(&mut self, position: usize, name: &str, found: Option<usize>, value: Scalar<'_>) {
        let ty = match found {
            Some(i) => self.columns[i].ty,
            None => self.known.get(name).copied().unwrap_or(value.dlt_type()),
        };
        match coerce(value.clone(), ty) {
            Some(fitted) => {
                let i = match found {
                    Some(i) => i,
                    None => self.column_index(name, ty),
                };
                if self.last_positions.len() <= position {
                    self.last_positions.resize(position + 1, i);
                }
                self.last_positions[position] = i;
                self.columns[i].builder.append(fitted);
            }
            None => {
                let from = value.dlt_type();
                let variant = format!("{name}__v_{}", from.dlt_name());
                let vty = self.column_type(&variant).unwrap_or(from);
                match coerce(value, vty) {
                    Some(fitted) => {
                        let i = self.column_index(&variant, vty);
                        self.columns[i].builder.append(fitted);
                    }
                    None => {
                        tracing::warn!(column = %variant, "value fits neither column nor variant; dropped")
                    }
                }
            }
        }
    }

    fn column_type(&self, name: &str) -> Option<DltType> {
        match self.index.get(name) {
            Some(&i) => Some(self.columns[i].ty),
            None => self.known.get(name).copied(),
        }
    }

    /// The index of column `name`, created with type `ty` (earlier rows null) if it is new.
    fn column_index(&mut self, name: &str, ty: DltType) -> usize {
        match self.index.get(name) {
            Some(&i) => i,
            None => {
                let mut builder = new_builder(ty);
                for _ in 0..self.rows {
                    builder.append_null();
                }
                self.columns.push(Column {
                    name: name.to_string(),
                    ty,
                    builder,
                });
                self.index.insert(name.to_string(), self.columns.len() - 1);
                self.columns.len() - 1
            }
        }
    }

    /// The rows so far as one batch with every column seen in this sync, or `None` if no rows.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.rows == 0 {
            return Ok(None);
        }
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                let field = Field::new(&c.name, c.ty.arrow_type(), true);
                field.with_metadata(HashMap::from([(
                    DLT_TYPE_METADATA.to_string(),
                    c.ty.dlt_name().to_string(),
                )]))
            })
            .collect();
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| c.builder.finish())
            .collect();
        self.rows = 0;
        if fields.is_empty() {
            return Ok(None);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map(Some)
    }
}

/// The dlt type recorded on an Arrow field by [`TableBuilder::finish`].
pub fn field_dlt_type(field: &Field) -> Option<DltType> {
    let name = field.metadata().get(DLT_TYPE_METADATA)?;
    [
        DltType::Bool,
        DltType::BigInt,
        DltType::Double,
        DltType::Text,
        DltType::Timestamp,
        DltType::Json,
    ]
    .into_iter()
    .find(|t| t.dlt_name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    use serde_json::json;

    fn row(v: Value) -> Row {
        v.as_object()
            .unwrap()
            .clone()
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect()
    }

    #[test]
    fn new_fields_and_variants() {
        let mut b = TableBuilder::new(HashMap::new());
        b.push(row(json!({"id": 1, "n": null})));
        b.push(row(json!({"id": 2.0, "price": 1})));
        b.push(row(json!({"id": 1.7, "price": "abc", "n": true})));
        let batch = b.finish().unwrap().unwrap();
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "price", "id__v_double", "price__v_text", "n"]);
        let ids = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!((ids.value(0), ids.value(1), ids.is_null(2)), (1, 2, true));
        assert!(batch.column(1).is_null(0));
        assert_eq!(batch.column(3).as_string::<i32>().value(2), "abc");
    }

    #[test]
    fn warehouse_types_win_over_first_values() {
        let known = HashMap::from([("price".to_string(), DltType::Double)]);
        let mut b = TableBuilder::new(known);
        b.push(row(json!({"price": 3})));
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(
            batch.schema().field(0).data_type(),
            &arrow::datatypes::DataType::Float64
        );
    }

    #[test]
    fn columns_persist_across_batches() {
        let mut b = TableBuilder::new(HashMap::new());
        b.push(row(json!({"a": 1})));
        b.finish().unwrap();
        b.push(row(json!({"b": "x"})));
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(batch.num_columns(), 2);
        assert!(batch.column(0).is_null(0));
        assert_eq!(b.finish().unwrap(), None);
    }
}
