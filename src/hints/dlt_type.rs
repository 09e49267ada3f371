//! dlt's column types: the names dlt gives them, their Arrow and DuckDB types, and how an Arrow
//! field carries its dlt type where Arrow's own type does not say it (JSON is text to Arrow).

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
}

/// Digits after the point of a `decimal` column (dlt's default scale).
pub const DECIMAL_SCALE: i8 = 9;

/// Total digits of a `decimal` column (dlt's default precision).
pub const DECIMAL_DIGITS: u8 = 38;

impl DltType {
    /// dlt's name of the type, used in variant column names (`price__v_double`).
    pub fn dlt_name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::BigInt => "bigint",
            Self::Double => "double",
            Self::Text => "text",
            Self::Timestamp => "timestamp",
            Self::Json => "json",
            Self::Wei => "wei",
            Self::Decimal => "decimal",
            Self::Date => "date",
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
        }
    }

    /// The DuckDB type of a warehouse column of this type.
    pub fn duckdb_type(self) -> &'static str {
        match self {
            Self::Bool => "BOOLEAN",
            Self::BigInt => "BIGINT",
            Self::Double => "DOUBLE",
            Self::Text => "VARCHAR",
            Self::Timestamp => "TIMESTAMP WITH TIME ZONE",
            Self::Json => "JSON",
            Self::Wei => "DECIMAL(38,0)",
            Self::Decimal => "DECIMAL(38,9)",
            Self::Date => "DATE",
        }
    }

    /// The type dlt names `name` (`bigint`, `text`, ...).
    pub fn from_dlt_name(name: &str) -> Option<Self> {
        [
            Self::Bool,
            Self::BigInt,
            Self::Double,
            Self::Text,
            Self::Timestamp,
            Self::Json,
            Self::Wei,
            Self::Decimal,
            Self::Date,
        ]
        .into_iter()
        .find(|t| t.dlt_name() == name)
    }

    /// The type of an existing DuckDB column, if it is one Dango writes.
    pub fn from_duckdb(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "BOOLEAN" => Self::Bool,
            "BIGINT" => Self::BigInt,
            "DOUBLE" => Self::Double,
            "VARCHAR" => Self::Text,
            "TIMESTAMP WITH TIME ZONE" | "TIMESTAMPTZ" => Self::Timestamp,
            "JSON" => Self::Json,
            "DECIMAL(38,0)" => Self::Wei,
            "DECIMAL(38,9)" => Self::Decimal,
            "DATE" => Self::Date,
            _ => return None,
        })
    }
}

/// The dlt type recorded on an Arrow field (see [`DLT_TYPE_METADATA`]).
pub fn field_dlt_type(field: &Field) -> Option<DltType> {
    DltType::from_dlt_name(field.metadata().get(DLT_TYPE_METADATA)?)
}
