//! Builds the Arrow batches of one table from normalised rows, inferring column types as values
//! arrive: a new field becomes a new column (earlier rows null), an all-null field makes no
//! column, and a value that does not fit its column goes to a variant column `<col>__v_<type>`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::columns::ColumnBuilder;
use super::types::{
    DltType, Scalar, classify_date, classify_decimal, classify_str, classify_wide, coerce,
};
use crate::hints::DLT_TYPE_METADATA;
use crate::normalize::relational::Name;
use crate::normalize::{Cell, Names, PageText};

struct Column {
    name: String,
    ty: DltType,
    builder: ColumnBuilder,
}

/// What the builder knows of one name id of the normaliser's [`Names`].
#[derive(Debug, Clone, Default)]
struct Slot {
    /// The name, once looked up.
    name: Option<Name>,
    /// The column of that name, once it exists.
    column: Option<usize>,
}

/// A value of a key column that the column's type cannot hold. It is not put in a variant
/// column: that would leave the key NULL, and a `merge` could never replace the record.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMisfit {
    /// The key column.
    pub column: String,
    /// The column's type.
    pub column_type: DltType,
    /// The value, as text.
    pub value: String,
    /// Its row in the batch being built (0-based).
    pub row: usize,
}

/// The columns of one table so far and the rows of the current batch.
pub struct TableBuilder {
    columns: Vec<Column>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    /// By name id: rows name their columns by id, so a cell finds its column by indexing.
    by_id: Vec<Slot>,
    /// Types of columns the warehouse already has: a value must fit them, not start a new type.
    known: HashMap<String, DltType>,
    rows: usize,
    /// Key columns: a value that fits none of them is a [`KeyMisfit`], never a variant.
    keys: Vec<String>,
    /// The first key value of this batch that did not fit its column.
    misfit: Option<KeyMisfit>,
}

impl TableBuilder {
    /// A builder for a table whose existing warehouse columns have the types in `known`.
    pub fn new(known: HashMap<String, DltType>) -> Self {
        Self {
            columns: Vec::new(),
            index: HashMap::default(),
            by_id: Vec::new(),
            known,
            rows: 0,
            keys: Vec::new(),
            misfit: None,
        }
    }

    /// Makes `keys` key columns (a `merge` table's primary and merge keys): a value one of
    /// them cannot hold is kept back as a [`KeyMisfit`] instead of going to a variant column.
    pub fn with_keys(mut self, keys: Vec<String>) -> Self {
        self.keys = keys;
        self
    }

    /// The first key value since the last call that did not fit its column, if any. The
    /// batch then lacks that row's key, so it must not be loaded.
    pub fn take_misfit(&mut self) -> Option<KeyMisfit> {
        self.misfit.take()
    }

    /// Every column created so far, with its type, in order.
    pub fn columns(&self) -> Vec<(String, DltType)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect()
    }

    /// Creates column `name` of type `ty` now, before any value (a declared column).
    pub fn declare(&mut self, name: &str, ty: DltType) {
        self.column_index(name, ty);
    }

    /// Adds one normalised row: its cells, with column ids of `names` and strings in `text`.
    pub fn push(&mut self, cells: &[(u32, Cell)], text: &PageText<'_>, names: &Names) {
        for &(id, cell) in cells {
            let found = self.by_id.get(id as usize).and_then(|s| s.column);
            if let Some(i) = found {
                let column = &mut self.columns[i];
                if column.builder.append_plain(column.ty, cell, text) {
                    continue;
                }
            }
            let scalar = match cell {
                Cell::Null => continue,
                Cell::Bool(b) => Scalar::Bool(b),
                Cell::Int(i) => Scalar::BigInt(i),
                Cell::Double(f) => Scalar::Double(f),
                Cell::Str(s) => classify_str(text.get(s)),
                Cell::Json(s) => Scalar::Json(Cow::Borrowed(text.get(s))),
                Cell::Wei(s) => classify_wide(text.get(s)),
                Cell::Decimal(s) => classify_decimal(text.get(s)),
                Cell::Date(s) => classify_date(text.get(s)),
            };
            if let Some(i) = found
                && let Some(fitted) = coerce(scalar.clone(), self.columns[i].ty)
            {
                self.columns[i].builder.append(fitted);
                continue;
            }
            self.append(id, found, scalar, names);
        }

        self.rows += 1;
        for column in &mut self.columns {
            if column.builder.len() < self.rows {
                column.builder.append_null();
            }
        }
    }

    /// The name with id `id`, looked up once.
    fn name(&mut self, id: u32, names: &Names) -> Name {
        let i = id as usize;
        if self.by_id.len() <= i {
            self.by_id.resize(i + 1, Slot::default());
        }
        let slot = &mut self.by_id[i];
        slot.name
            .get_or_insert_with(|| names.name(id).unwrap_or_else(|| Name::from("")))
            .clone()
    }

    /// Appends `value` to the column of name id `id` (at index `found`, if it exists), or to
    /// its variant.
    fn append(&mut self, id: u32, found: Option<usize>, value: Scalar<'_>, names: &Names) {
        let name = self.name(id, names);
        let mut ty = match found {
            Some(i) => self.columns[i].ty,
            None => self.known.get(&*name).copied().unwrap_or(value.dlt_type()),
        };
        if ty == DltType::BigInt && value.dlt_type() == DltType::Wei {
            // Widened, not a variant: the warehouse widens a `bigint` column it has likewise.
            ty = DltType::Wei;
            if let Some(i) = found {
                let column = &mut self.columns[i];
                column.ty = DltType::Wei;
                let builder = std::mem::replace(&mut column.builder, ColumnBuilder::new(ty));
                column.builder = builder.widened_to_wei();
            }
        }
        match coerce(value.clone(), ty) {
            Some(fitted) => {
                let i = self.column_index(&name, ty);
                self.by_id[id as usize].column = Some(i);
                self.columns[i].builder.append(fitted);
            }
            None if self.keys.iter().any(|k| **k == *name) => {
                if self.misfit.is_none() {
                    self.misfit = Some(KeyMisfit {
                        column: name.to_string(),
                        column_type: ty,
                        value: as_text(value),
                        row: self.rows,
                    });
                }
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
                let mut builder = ColumnBuilder::new(ty);
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
                    c.ty.key().into_owned(),
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

/// `value` as it would read in a text column.
fn as_text(value: Scalar<'_>) -> String {
    match coerce(value.clone(), DltType::Text) {
        Some(Scalar::Text(t)) => t.to_string(),
        Some(Scalar::Json(j)) => j.into_owned(),
        _ => format!("{value:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{Normalizer, Rows};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    use serde_json::{Value, json};

    /// Normalises `records` (flat objects) and pushes their rows into `b`.
    fn push(b: &mut TableBuilder, n: &mut Normalizer, records: Value) {
        let mut rows = Rows::default();
        for record in records.as_array().unwrap() {
            n.normalize(record.clone(), &mut rows).unwrap();
        }
        let text = rows.text();
        for (_, cells) in rows.iter() {
            b.push(cells, &text, n.names());
        }
    }

    /// The batch's columns other than the `_dlt_*` ones.
    fn data_columns(batch: &RecordBatch) -> Vec<&str> {
        let fields = batch.schema_ref().fields();
        let names = fields.iter().map(|f| f.name().as_str());
        names.filter(|n| !n.starts_with("_dlt_")).collect()
    }

    fn normalizer() -> Normalizer {
        Normalizer::new("t", "1.5", 1000, false)
    }

    #[test]
    fn new_fields_and_variants() {
        let (mut b, mut n) = (TableBuilder::new(HashMap::new()), normalizer());
        push(
            &mut b,
            &mut n,
            json!([{"id": 1, "n": null}, {"id": 2.0, "price": 1}, {"id": 1.7, "price": "abc", "n": true}]),
        );
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(
            data_columns(&batch),
            ["id", "price", "id__v_double", "price__v_text", "n"]
        );
        let ids = batch.column_by_name("id").unwrap();
        let ids = ids.as_primitive::<Int64Type>();
        assert_eq!((ids.value(0), ids.value(1), ids.is_null(2)), (1, 2, true));
        assert!(batch.column_by_name("price").unwrap().is_null(0));
        let text = batch.column_by_name("price__v_text").unwrap();
        assert_eq!(text.as_string::<i32>().value(2), "abc");
    }

    #[test]
    fn json_values_become_their_columns_types() {
        let (mut b, mut n) = (TableBuilder::new(HashMap::new()), normalizer());
        let record = json!([{"i": 1, "f": 1.5, "s": "x", "b": true, "ts": "2024-01-01T10:00:00Z", "z": null, "big": u64::MAX}]);
        push(&mut b, &mut n, record);
        let types: HashMap<String, DltType> = b.columns().into_iter().collect();
        assert_eq!(types["i"], DltType::BigInt);
        assert_eq!(types["f"], DltType::Double);
        assert_eq!(types["s"], DltType::Text);
        assert_eq!(types["b"], DltType::Bool);
        assert_eq!(types["ts"], DltType::Timestamp);
        assert_eq!(types["big"], DltType::Wei);
        assert!(!types.contains_key("z"));
        // One builder serves one normaliser (and its clones): their ids are its names.
        let mut b = TableBuilder::new(HashMap::new());
        let mut deep = Normalizer::new("t", "1.5", 0, false);
        push(&mut b, &mut deep, json!([{"o": {"a": [1]}}]));
        assert_eq!(b.columns()[0], ("o".to_string(), DltType::Json));
        let batch = b.finish().unwrap().unwrap();
        let json = batch.column_by_name("o").unwrap();
        assert_eq!(json.as_string::<i32>().value(0), r#"{"a":[1]}"#);
    }

    #[test]
    fn integers_beyond_64_bits_widen_their_column_and_never_leave_it_null() {
        use arrow::array::Decimal128Array;
        let (mut b, mut n) = (TableBuilder::new(HashMap::new()), normalizer());
        let mut rows = Rows::of_body(
            bytes::Bytes::from_static(
                br#"[{"id": 1}, {"id": 18446744073709551615}, {"id": -123456789012345678901234567890}]"#,
            ),
            3,
        );
        for span in [1..10, 12..40, 42..81] {
            n.normalize_json(span, &mut rows).unwrap();
        }
        let text = rows.text();
        for (_, cells) in rows.iter() {
            b.push(cells, &text, n.names());
        }
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(data_columns(&batch), ["id"]);
        let ids = batch.column_by_name("id").unwrap();
        let ids = ids.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(ids.null_count(), 0);
        assert_eq!(ids.value(0), 1);
        assert_eq!(ids.value(1), 18446744073709551615);
        assert_eq!(ids.value(2), -123456789012345678901234567890);
        // A `bigint` column the warehouse has is widened too, not given a variant.
        let known = HashMap::from([("id".to_string(), DltType::BigInt)]);
        let (mut b, mut n) = (TableBuilder::new(known), normalizer());
        push(&mut b, &mut n, json!([{"id": u64::MAX}]));
        assert_eq!(b.columns()[0], ("id".to_string(), DltType::Wei));
    }

    #[test]
    fn a_key_value_its_column_cannot_hold_is_kept_back_not_put_in_a_variant() {
        let forty = "1234567890123456789012345678901234567890";
        let body = format!(r#"[{{"id": 1, "n": "a"}}, {{"id": {forty}, "n": "b"}}]"#);
        let keys = vec!["id".to_string()];
        let mut b = TableBuilder::new(HashMap::new()).with_keys(keys.clone());
        let mut n = normalizer();
        let mut rows = Rows::of_body(bytes::Bytes::from(body.clone()), 2);
        let second = body.find("}, ").unwrap() + 3;
        for span in [1..second - 2, second..body.len() - 1] {
            n.normalize_json(span, &mut rows).unwrap();
        }
        let text = rows.text();
        for (_, cells) in rows.iter() {
            b.push(cells, &text, n.names());
        }
        let misfit = b.take_misfit().expect("the 40-digit id fits no bigint");
        assert_eq!(
            misfit,
            KeyMisfit {
                column: "id".into(),
                column_type: DltType::BigInt,
                value: forty.into(),
                row: 1,
            }
        );
        assert_eq!(b.take_misfit(), None);
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(data_columns(&batch), ["id", "n"]);
        // Not a key: the same value goes to a variant, as in dlt.
        let mut b = TableBuilder::new(HashMap::new());
        let mut n = normalizer();
        push(&mut b, &mut n, json!([{"id": 1}, {"id": "x"}]));
        assert_eq!(b.take_misfit(), None);
        let variant = ("id__v_text".to_string(), DltType::Text);
        assert!(b.columns().contains(&variant), "{:?}", b.columns());
        // A key column the warehouse has keeps its type; a value of that type fits.
        let known = HashMap::from([("id".to_string(), DltType::Timestamp)]);
        let mut b = TableBuilder::new(known).with_keys(keys);
        let mut n = normalizer();
        push(
            &mut b,
            &mut n,
            json!([{"id": "2024-01-01T00:00:00Z"}, {"id": 1e15 + 0.5}]),
        );
        let misfit = b
            .take_misfit()
            .expect("1e15 seconds is beyond the year 9999");
        assert_eq!(
            (misfit.value.as_str(), misfit.row),
            ("1000000000000000.5", 1)
        );
    }

    #[test]
    fn warehouse_types_win_over_first_values() {
        let known = HashMap::from([("price".to_string(), DltType::Double)]);
        let (mut b, mut n) = (TableBuilder::new(known), normalizer());
        push(&mut b, &mut n, json!([{"price": 3}]));
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(
            batch.column_by_name("price").unwrap().data_type(),
            &arrow::datatypes::DataType::Float64
        );
    }

    #[test]
    fn columns_persist_across_batches() {
        let (mut b, mut n) = (TableBuilder::new(HashMap::new()), normalizer());
        push(&mut b, &mut n, json!([{"a": 1}]));
        b.finish().unwrap();
        push(&mut b, &mut n, json!([{"b": "x"}]));
        let batch = b.finish().unwrap().unwrap();
        assert_eq!(data_columns(&batch), ["a", "b"]);
        assert!(batch.column_by_name("a").unwrap().is_null(0));
        assert_eq!(b.finish().unwrap(), None);
    }
}
