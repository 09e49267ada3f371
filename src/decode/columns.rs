//! Arrow builders for each column type, as one enum. The table builder hands them either a
//! value already coerced to the column's type (see `types::coerce`), or, on its fast path, a
//! cell that is of the column's type as it stands.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use super::types::{
    DECIMAL_DIGITS, DECIMAL_SCALE, DltType, Scalar, WEI_DIGITS, parse_iso_timestamp,
};
use crate::normalize::{Cell, PageText};

/// Accumulates one column of one batch. An enum rather than a trait object: it is called for
/// every cell, and a match is cheaper than a virtual call there.
pub enum ColumnBuilder {
    /// `bool`
    Bool(BooleanBuilder),
    /// `bigint`
    BigInt(Int64Builder),
    /// `double`
    Double(Float64Builder),
    /// `text` and `json` (JSON travels as text)
    Text(StringBuilder),
    /// `timestamp`
    Timestamp(TimestampMicrosecondBuilder),
    /// `wei`
    Wei(Decimal128Builder),
    /// `decimal`
    Decimal(Decimal128Builder),
    /// `date`
    Date(Date32Builder),
    /// A declared naive `timestamp`: built in microseconds, cast to its unit when finished.
    NaiveTimestamp(TimestampMicrosecondBuilder, DataType),
    /// A declared narrower `bigint`: built as 64 bits (values checked to fit), cast when finished.
    SmallInt(Int64Builder, DataType),
    /// `time`
    Time(Time64MicrosecondBuilder),
    /// `binary`
    Binary(BinaryBuilder),
}

/// A builder of DECIMAL(`digits`,`scale`) values with room for `n`.
fn decimal_builder(n: usize, digits: u8, scale: i8) -> Decimal128Builder {
    Decimal128Builder::with_capacity(n)
        .with_precision_and_scale(digits, scale)
        .unwrap_or_else(|_| Decimal128Builder::with_capacity(n))
}

/// A builder of DECIMAL(38,0) values with room for `n`.
fn wei_builder(n: usize) -> Decimal128Builder {
    decimal_builder(n, WEI_DIGITS, 0)
}

impl ColumnBuilder {
    /// A builder for a column of type `ty`.
    pub fn new(ty: DltType) -> Self {
        match ty {
            DltType::Bool => Self::Bool(BooleanBuilder::new()),
            DltType::BigInt => Self::BigInt(Int64Builder::new()),
            DltType::Double => Self::Double(Float64Builder::new()),
            DltType::Text | DltType::Json => Self::Text(StringBuilder::new()),
            DltType::Timestamp => {
                Self::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            DltType::Wei => Self::Wei(wei_builder(0)),
            DltType::Decimal => Self::Decimal(decimal_builder(0, DECIMAL_DIGITS, DECIMAL_SCALE)),
            DltType::Numeric(p, s) => Self::Decimal(decimal_builder(0, p, s as i8)),
            DltType::Date => Self::Date(Date32Builder::new()),
            DltType::NaiveTimestamp(_) => {
                Self::NaiveTimestamp(TimestampMicrosecondBuilder::new(), ty.arrow_type())
            }
            DltType::SmallInt(_) => Self::SmallInt(Int64Builder::new(), ty.arrow_type()),
            DltType::Time => Self::Time(Time64MicrosecondBuilder::new()),
            DltType::Binary => Self::Binary(BinaryBuilder::new()),
        }
    }

    /// Appends `value`, which has this column's type (text columns also take JSON text).
    pub fn append(&mut self, value: Scalar<'_>) {
        match (self, value) {
            (Self::Bool(b), Scalar::Bool(v)) => b.append_value(v),
            (Self::BigInt(b), Scalar::BigInt(v)) => b.append_value(v),
            (Self::Double(b), Scalar::Double(v)) => b.append_value(v),
            (Self::Timestamp(b), Scalar::Timestamp(micros, _)) => b.append_value(micros),
            (Self::Text(b), Scalar::Text(t) | Scalar::Timestamp(_, t)) => b.append_value(t),
            (Self::Text(b), Scalar::Json(j)) => b.append_value(j),
            (Self::Wei(b), Scalar::Wei(v)) => b.append_value(v),
            (Self::Decimal(b), Scalar::Decimal(v, _)) => b.append_value(v),
            (Self::Date(b), Scalar::Date(days, _)) => b.append_value(days),
            (Self::Text(b), Scalar::Decimal(_, t) | Scalar::Date(_, t)) => b.append_value(t),
            (Self::NaiveTimestamp(b, _), Scalar::Timestamp(micros, _)) => b.append_value(micros),
            (Self::SmallInt(b, _), Scalar::BigInt(v)) => b.append_value(v),
            (Self::Time(b), Scalar::Time(micros, _)) => b.append_value(micros),
            (Self::Binary(b), Scalar::Bytes(v)) => b.append_value(v),
            // Unreachable by construction: values are coerced to the column type first.
            (builder, _) => builder.append_null(),
        }
    }

    /// Appends `cell` if it is a value of type `ty` (this column's) as it stands, and says
    /// whether it did; anything that needs detecting or converting is left to [`Self::append`].
    pub fn append_plain(&mut self, ty: DltType, cell: Cell, text: &PageText<'_>) -> bool {
        match (self, cell) {
            (Self::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Self::BigInt(b), Cell::Int(v)) => b.append_value(v),
            (Self::Double(b), Cell::Double(v)) => b.append_value(v),
            (Self::Text(b), Cell::Str(s)) if ty == DltType::Text => b.append_value(text.get(s)),
            (Self::Text(b), Cell::Json(s)) if ty == DltType::Json => b.append_value(text.get(s)),
            (Self::Timestamp(b), Cell::Str(s)) => match parse_iso_timestamp(text.get(s)) {
                Some(micros) => b.append_value(micros),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// Appends a null.
    pub fn append_null(&mut self) {
        match self {
            Self::Bool(b) => b.append_null(),
            Self::BigInt(b) => b.append_null(),
            Self::Double(b) => b.append_null(),
            Self::Text(b) => b.append_null(),
            Self::Timestamp(b) => b.append_null(),
            Self::Wei(b) => b.append_null(),
            Self::Decimal(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::NaiveTimestamp(b, _) => b.append_null(),
            Self::SmallInt(b, _) => b.append_null(),
            Self::Time(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
        }
    }

    /// Values appended since the last `finish`.
    pub fn len(&self) -> usize {
        match self {
            Self::Bool(b) => b.len(),
            Self::BigInt(b) => b.len(),
            Self::Double(b) => b.len(),
            Self::Text(b) => b.len(),
            Self::Timestamp(b) => b.len(),
            Self::Wei(b) => b.len(),
            Self::Decimal(b) => b.len(),
            Self::Date(b) => b.len(),
            Self::NaiveTimestamp(b, _) => b.len(),
            Self::SmallInt(b, _) => b.len(),
            Self::Time(b) => b.len(),
            Self::Binary(b) => b.len(),
        }
    }

    /// The column so far, as an Arrow array. The builder starts empty again, with room for as
    /// many values as this batch had: Arrow's `finish` leaves it no capacity, and growing it
    /// back by doubling on every page cost reallocations and fresh pages.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Self::NaiveTimestamp(b, ty) => {
                let array = b.finish();
                *b = TimestampMicrosecondBuilder::with_capacity(array.len());
                cast_or_keep(Arc::new(array), ty)
            }
            Self::SmallInt(b, ty) => {
                let array = b.finish();
                *b = Int64Builder::with_capacity(array.len());
                cast_or_keep(Arc::new(array), ty)
            }
            Self::Time(b) => {
                let array = b.finish();
                *b = Time64MicrosecondBuilder::with_capacity(array.len());
                Arc::new(array)
            }
            Self::Binary(b) => {
                let array = b.finish();
                *b = BinaryBuilder::with_capacity(array.len(), array.value_data().len());
                Arc::new(array)
            }
            Self::Bool(b) => {
                let array = b.finish();
                *b = BooleanBuilder::with_capacity(array.len());
                Arc::new(array)
            }
            Self::BigInt(b) => {
                let array = b.finish();
                *b = Int64Builder::with_capacity(array.len());
                Arc::new(array)
            }
            Self::Double(b) => {
                let array = b.finish();
                *b = Float64Builder::with_capacity(array.len());
                Arc::new(array)
            }
            Self::Text(b) => {
                let array = b.finish();
                *b = StringBuilder::with_capacity(array.len(), array.value_data().len());
                Arc::new(array)
            }
            Self::Timestamp(b) => {
                let array = b.finish();
                *b = TimestampMicrosecondBuilder::with_capacity(array.len()).with_timezone("UTC");
                Arc::new(array)
            }
            Self::Wei(b) => {
                let array = b.finish();
                *b = wei_builder(array.len());
                Arc::new(array)
            }
            Self::Decimal(b) => {
                let array = b.finish();
                let (digits, scale) = (array.precision(), array.scale());
                *b = decimal_builder(array.len(), digits, scale);
                Arc::new(array)
            }
            Self::Date(b) => {
                let array = b.finish();
                *b = Date32Builder::with_capacity(array.len());
                Arc::new(array)
            }
        }
    }
}

/// `array` cast to `ty` (a narrower integer or timestamp unit than it was built in); values
/// were checked to fit, so a failure keeps the array as built rather than losing it.
fn cast_or_keep(array: ArrayRef, ty: &DataType) -> ArrayRef {
    match cast(&array, ty) {
        Ok(cast) => cast,
        Err(e) => {
            tracing::warn!(%e, "column kept as built");
            array
        }
    }
}

impl ColumnBuilder {
    /// This `bigint` column's values so far as a `wei` column: an integer beyond 64 bits
    /// widens its column rather than going to a variant (a key column must never be left
    /// null by one). Other builders are returned as they are.
    pub fn widened_to_wei(mut self) -> Self {
        let Self::BigInt(b) = &mut self else {
            return self;
        };
        let ints = b.finish();
        let mut wei = wei_builder(ints.len());
        for v in ints.iter() {
            wei.append_option(v.map(i128::from));
        }
        Self::Wei(wei)
    }
}
