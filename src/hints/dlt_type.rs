//! dlt's column types: the names dlt gives them, their Arrow and DuckDB types, and how an Arrow
//! field carries its dlt type where Arrow's own type does not say it (JSON is text to Arrow).
//! The first nine are what values are inferred as; the rest only come from column hints
//! (`columns: {price: {data_type: decimal, precision: 12, scale: 2}}`).

use std::borrow::Cow;

use arrow::datatypes::{DataType, Field, TimeUnit};

/// Digits of a `wei` column: DuckDB's widest decimal, DECIMAL(38,0).
pub const WEI_DIGITS: u8 = 38;

/// Field metadata key carrying the dlt type where Arrow's type does not say it (JSON).
pub const DLT_TYPE_METADATA: &str = "dango.dlt_type";

/// Column types, as dlt names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DltType {
    /// `bool` → BOOLEAN
    Bool,
    /// `bigint` → BIGINT
    BigInt,
    /// `double` → DOUBLE
    Double,
    /// `text` → VARCHAR
    Text,
    /// `timestamp` → TIMESTAMP WITH TIME ZONE (microseconds, UTC)
    Timestamp,
    /// `json` → JSON (nested data beyond the nesting limit)
    Json,
    /// `wei` → DECIMAL(38,0): integers beyond 64 bits (dlt's `large_integer` detection)
    Wei,
    /// `decimal` → DECIMAL(38,9): Python `Decimal`s (dlt's default precision and scale)
    Decimal,
    /// `date` → DATE: Python `date`s
    Date,
    /// `decimal` declared with another precision and scale → DECIMAL(p,s)
    Numeric(u8, u8),
    /// `timestamp` declared `timezone: false`: UTC wall time with 0, 3, 6 or 9 fractional
    /// digits → TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP, TIMESTAMP_NS
    NaiveTimestamp(u8),
    /// `bigint` declared with a precision of 8, 16 or 32 bits → TINYINT, SMALLINT, INTEGER
    SmallInt(u8),
    /// `time` → TIME (microseconds)
    Time,
    /// `binary` → BLOB
    Binary,
}

/// Digits after the point of a `decimal` column (dlt's default scale).
pub const DECIMAL_SCALE: i8 = 9;

/// Total digits of a `decimal` column (dlt's default precision).
pub const DECIMAL_DIGITS: u8 = 38;

/// The types values are inferred as, and so the ones variant columns are named after.
const INFERRED: [DltType; 9] = [
    DltType::Bool,
    DltType::BigInt,
    DltType::Double,
    DltType::Text,
    DltType::Timestamp,
    DltType::Json,
    DltType::Wei,
    DltType::Decimal,
    DltType::Date,
];

impl DltType {
    /// dlt's name of the type, used in variant column names (`price__v_double`).
    pub fn dlt_name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::BigInt | Self::SmallInt(_) => "bigint",
            Self::Double => "double",
            Self::Text => "text",
            Self::Timestamp | Self::NaiveTimestamp(_) => "timestamp",
            Self::Json => "json",
            Self::Wei => "wei",
            Self::Decimal | Self::Numeric(..) => "decimal",
            Self::Date => "date",
            Self::Time => "time",
            Self::Binary => "binary",
        }
    }

    /// The type dlt names `name` (`bigint`, `text`, ...), in its default form.
    pub fn from_dlt_name(name: &str) -> Option<Self> {
        INFERRED
            .into_iter()
            .chain([Self::Time, Self::Binary])
            .find(|t| t.dlt_name() == name)
    }

    /// The type with its parameters, as a field's metadata records it (`decimal(12,2)`).
    pub fn key(self) -> Cow<'static, str> {
        match self {
            Self::Numeric(p, s) => format!("decimal({p},{s})").into(),
            Self::NaiveTimestamp(p) => format!("timestamp({p})").into(),
            Self::SmallInt(bits) => format!("bigint({bits})").into(),
            other => other.dlt_name().into(),
        }
    }

    /// The type a [`DltType::key`] names.
    pub fn from_key(key: &str) -> Option<Self> {
        if let Some(t) = Self::from_dlt_name(key) {
            return Some(t);
        }
        let (name, args) = key.strip_suffix(')')?.split_once('(')?;
        let mut args = args.split(',').map(|a| a.trim().parse::<u8>().ok());
        match (name, args.next()??, args.next()) {
            ("decimal", p, Some(Some(s))) => Some(Self::Numeric(p, s)),
            ("timestamp", p, None) => Some(Self::NaiveTimestamp(p)),
            ("bigint", bits, None) => Some(Self::SmallInt(bits)),
            _ => None,
        }
    }

    /// The Arrow type a column of this type is built as (JSON travels as text).
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Bool => DataType::Boolean,
            Self::BigInt => DataType::Int64,
            Self::Double => DataType::Float64,
            Self::Text | Self::Json => DataType::Utf8,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::Wei => DataType::Decimal128(WEI_DIGITS, 0),
            Self::Decimal => DataType::Decimal128(DECIMAL_DIGITS, DECIMAL_SCALE),
            Self::Date => DataType::Date32,
            Self::Numeric(p, s) => DataType::Decimal128(p, s as i8),
            Self::NaiveTimestamp(p) => DataType::Timestamp(time_unit(p), None),
            Self::SmallInt(8) => DataType::Int8,
            Self::SmallInt(16) => DataType::Int16,
            Self::SmallInt(_) => DataType::Int32,
            Self::Time => DataType::Time64(TimeUnit::Microsecond),
            Self::Binary => DataType::Binary,
        }
    }

    /// The DuckDB type of a warehouse column of this type.
    pub fn duckdb_type(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::Bool => "BOOLEAN",
            Self::BigInt => "BIGINT",
            Self::Double => "DOUBLE",
            Self::Text => "VARCHAR",
            Self::Timestamp => "TIMESTAMP WITH TIME ZONE",
            Self::Json => "JSON",
            Self::Wei => "DECIMAL(38,0)",
            Self::Decimal => "DECIMAL(38,9)",
            Self::Date => "DATE",
            Self::Numeric(p, s) => return format!("DECIMAL({p},{s})").into(),
            Self::NaiveTimestamp(0) => "TIMESTAMP_S",
            Self::NaiveTimestamp(3) => "TIMESTAMP_MS",
            Self::NaiveTimestamp(9) => "TIMESTAMP_NS",
            Self::NaiveTimestamp(_) => "TIMESTAMP",
            Self::SmallInt(8) => "TINYINT",
            Self::SmallInt(16) => "SMALLINT",
            Self::SmallInt(_) => "INTEGER",
            Self::Time => "TIME",
            Self::Binary => "BLOB",
        })
    }

    /// The type of an existing DuckDB column, if it is one Dango writes.
    pub fn from_duckdb(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        Some(match upper.as_str() {
            "BOOLEAN" => Self::Bool,
            "BIGINT" => Self::BigInt,
            "DOUBLE" => Self::Double,
            "VARCHAR" => Self::Text,
            "TIMESTAMP WITH TIME ZONE" | "TIMESTAMPTZ" => Self::Timestamp,
            "JSON" => Self::Json,
            "DECIMAL(38,0)" => Self::Wei,
            "DECIMAL(38,9)" => Self::Decimal,
            "DATE" => Self::Date,
            "TIMESTAMP_S" => Self::NaiveTimestamp(0),
            "TIMESTAMP_MS" => Self::NaiveTimestamp(3),
            "TIMESTAMP" => Self::NaiveTimestamp(6),
            "TIMESTAMP_NS" => Self::NaiveTimestamp(9),
            "TINYINT" => Self::SmallInt(8),
            "SMALLINT" => Self::SmallInt(16),
            "INTEGER" => Self::SmallInt(32),
            "TIME" => Self::Time,
            "BLOB" => Self::Binary,
            other => {
                let args = other.strip_prefix("DECIMAL(")?.strip_suffix(')')?;
                let (p, s) = args.split_once(',')?;
                Self::Numeric(p.trim().parse().ok()?, s.trim().parse().ok()?)
            }
        })
    }
}

/// The Arrow unit of a naive timestamp with `precision` fractional digits.
fn time_unit(precision: u8) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// The dlt type recorded on an Arrow field (see [`DLT_TYPE_METADATA`]).
pub fn field_dlt_type(field: &Field) -> Option<DltType> {
    DltType::from_key(field.metadata().get(DLT_TYPE_METADATA)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_round_trip_through_metadata_and_duckdb() {
        for ty in [
            DltType::Numeric(12, 2),
            DltType::NaiveTimestamp(3),
            DltType::NaiveTimestamp(0),
            DltType::SmallInt(16),
            DltType::Time,
            DltType::Binary,
            DltType::Decimal,
            DltType::Wei,
        ] {
            assert_eq!(DltType::from_key(&ty.key()), Some(ty), "{ty:?}");
            assert_eq!(DltType::from_duckdb(&ty.duckdb_type()), Some(ty), "{ty:?}");
        }
        assert_eq!(DltType::Numeric(12, 2).dlt_name(), "decimal");
        assert_eq!(DltType::from_key("decimal(12)"), None);
    }
}
