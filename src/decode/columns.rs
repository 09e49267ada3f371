//! Arrow builders for each column type, behind one trait: the table builder hands a value that
//! already has the column's type (see `types::coerce`) and never looks inside.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};

use super::types::{DltType, Scalar};

/// Accumulates one column of one batch.
pub trait ColumnBuilder: Send {
    /// Appends `value`, which has this column's type (text columns also take JSON text).
    fn append(&mut self, value: Scalar<'_>);
    /// Appends a null.
    fn append_null(&mut self);
    /// Values appended since the last `finish`.
    fn len(&self) -> usize;
    /// Whether nothing was appended since the last `finish`.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The column so far, as an Arrow array; the builder starts empty again.
    fn finish(&mut self) -> ArrayRef;
}

/// A builder for a column of type `ty`.
pub fn new_builder(ty: DltType) -> Box<dyn ColumnBuilder> {
    match ty {
        DltType::Bool => Box::new(BooleanBuilder::new()),
        DltType::BigInt => Box::new(Int64Builder::new()),
        DltType::Double => Box::new(Float64Builder::new()),
        DltType::Text | DltType::Json => Box::new(StringBuilder::new()),
        DltType::Timestamp => Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
    }
}

macro_rules! column_builder {
    ($builder:ty, $($pattern:pat => $value:expr),+) => {
        impl ColumnBuilder for $builder {
            fn append(&mut self, value: Scalar<'_>) {
                match value {
                    $($pattern => self.append_value($value),)+
                    // Unreachable by construction: values are coerced to the column type first.
                    _ => self.append_null(),
                }
            }
            fn append_null(&mut self) {
                <$builder>::append_null(self)
            }
            fn len(&self) -> usize {
                ArrayBuilder::len(self)
            }
            fn finish(&mut self) -> ArrayRef {
                Arc::new(<$builder>::finish(self))
            }
        }
    };
}

column_builder!(BooleanBuilder, Scalar::Bool(b) => b);
column_builder!(Int64Builder, Scalar::BigInt(i) => i);
column_builder!(Float64Builder, Scalar::Double(f) => f);
column_builder!(TimestampMicrosecondBuilder, Scalar::Timestamp(micros, _) => micros);
column_builder!(
    StringBuilder,
    Scalar::Text(t) => t,
    Scalar::Json(j) => j,
    Scalar::Timestamp(_, t) => t
);
