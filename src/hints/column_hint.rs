//! dlt's column hints (`columns:` on a resource): a column's type decided by the user instead of
//! inferred from the first value, whether it may be null, and whether it is a key.

use serde::Deserialize;

use super::DltType;

/// One entry of a resource's `columns:`, in dlt's vocabulary.
/// Example: `columns: {price: {data_type: decimal}, email: {nullable: false}}`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnHint {
    /// The column's type: `text`, `bigint`, `double`, `bool`, `timestamp`, `date`, `time`,
    /// `decimal`, `json`, `binary` or `wei`. Values are coerced to it as dlt coerces them; one that cannot be goes to
    /// a variant column (`price__v_text`), or follows the schema contract; a `merge` key's
    /// fails the sync, naming the record. Example: `data_type: text`
    #[serde(default)]
    pub data_type: Option<String>,
    /// Digits of a `decimal` (with `scale`), fractional-second digits of a `timestamp`.
    /// Example: `precision: 38`
    #[serde(default)]
    pub precision: Option<u32>,
    /// Digits after the point of a `decimal`. Example: `scale: 9`
    #[serde(default)]
    pub scale: Option<u32>,
    /// Whether a `timestamp` keeps its time zone (dlt's default: yes, stored as UTC).
    /// Example: `timezone: true`
    #[serde(default)]
    pub timezone: Option<bool>,
    /// `false`: a record without a value here fails the sync, naming the table, the column and
    /// the record. Example: `nullable: false`
    #[serde(default)]
    pub nullable: Option<bool>,
    /// Part of the primary key (as the resource's `primary_key:`). Example: `primary_key: true`
    #[serde(default)]
    pub primary_key: bool,
    /// Part of the merge key (as the resource's `merge_key:`). Example: `merge_key: true`
    #[serde(default)]
    pub merge_key: bool,
    /// dlt's `hard_delete`: a record with a value here (`true`, for a bool column) deletes its
    /// key (delete-insert, upsert), is not inserted (insert-only) or retires its key's active
    /// version (scd2). Example: `hard_delete: true`
    #[serde(default)]
    pub hard_delete: bool,
    /// dlt's `dedup_sort`: of a key repeated in one sync, delete-insert keeps the record with
    /// the highest (`desc`) or lowest (`asc`) value here. Example: `dedup_sort: desc`
    #[serde(default)]
    pub dedup_sort: Option<super::SortOrder>,
    /// dlt's `unique`: recorded, not enforced (dlt's DuckDB destination creates no constraint).
    #[serde(default)]
    pub unique: bool,
    /// Free text, for people reading the config.
    #[serde(default)]
    pub description: Option<String>,
    /// dlt's spelling of the column's name inside the hint; must match its key if given.
    #[serde(default)]
    pub name: Option<String>,
}

/// A table's declared columns in the order written: dlt creates them in that order, before
/// the columns the data brings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnHints(pub Vec<(String, ColumnHint)>);

impl ColumnHints {
    /// Each column's name and hint, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ColumnHint)> {
        self.0.iter().map(|(c, h)| (c, h))
    }

    /// The declared names.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(c, _)| c)
    }

    /// Whether none are declared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, ColumnHint)> for ColumnHints {
    fn from_iter<I: IntoIterator<Item = (String, ColumnHint)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl schemars::JsonSchema for ColumnHints {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ColumnHints".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let hint = generator.subschema_for::<ColumnHint>();
        schemars::json_schema!({
            "description": "Column names to their hints, in the order the table gets them.",
            "type": "object",
            "additionalProperties": hint,
        })
    }
}

impl<'de> Deserialize<'de> for ColumnHints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = ColumnHints;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a mapping of column names to hints, e.g. {price: {data_type: decimal}}",
                )
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, ColumnHint>()? {
                    out.push(entry);
                }
                Ok(ColumnHints(out))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// Why a column hint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    /// Not one of dlt's types.
    #[error(
        "`data_type: {0}` is not a dlt type; use one of text, bigint, double, bool, timestamp, \
         date, time, decimal, json, binary, wei"
    )]
    UnknownType(String),
    /// A precision or scale the type cannot have.
    #[error("{0}")]
    Parameters(String),
}

impl ColumnHint {
    /// The column type the hint fixes, if it names one: dlt's type with its precision, scale
    /// and time zone mapped as dlt's DuckDB destination maps them.
    pub fn dlt_type(&self) -> Result<Option<DltType>, HintError> {
        let Some(name) = self.data_type.as_deref() else {
            return Ok(None);
        };
        let bad = |message: String| Err(HintError::Parameters(message));
        Ok(Some(match name {
            // dlt's old name for `json`.
            "json" | "complex" => DltType::Json,
            "text" => DltType::Text,
            "double" => DltType::Double,
            "bool" => DltType::Bool,
            "date" => DltType::Date,
            "wei" => DltType::Wei,
            "time" => DltType::Time,
            "binary" => DltType::Binary,
            "bigint" => match self.precision {
                None | Some(33..=64) => DltType::BigInt,
                Some(1..=8) => DltType::SmallInt(8),
                Some(9..=16) => DltType::SmallInt(16),
                Some(17..=32) => DltType::SmallInt(32),
                Some(p) => {
                    return bad(format!(
                        "`precision: {p}` on a `bigint`: integers of 1 to 64 bits are loaded;                          use `data_type: wei` for wider ones"
                    ));
                }
            },
            // With a time zone DuckDB keeps microseconds whatever the precision (dlt warns).
            "timestamp" if self.timezone != Some(false) => DltType::Timestamp,
            "timestamp" => DltType::NaiveTimestamp(match self.precision {
                None => 6,
                Some(p @ (0 | 3 | 6 | 9)) => p as u8,
                Some(1..=2) => 3,
                Some(4..=5) => 6,
                Some(7..=8) => 9,
                Some(p) => {
                    return bad(format!(
                        "`precision: {p}` on a `timestamp`: DuckDB keeps 0 to 9 fractional digits"
                    ));
                }
            }),
            "decimal" => {
                // dlt's defaults: 38 digits, 9 of them after the point.
                let (p, s) = (self.precision.unwrap_or(38), self.scale.unwrap_or(9));
                if !(1..=38).contains(&p) || s > p {
                    return bad(format!(
                        "`precision: {p}, scale: {s}` on a `decimal`: DuckDB takes 1 to 38 digits,                          of which `scale` (at most all) after the point"
                    ));
                }
                match (p, s) {
                    (38, 9) => DltType::Decimal,
                    _ => DltType::Numeric(p as u8, s as u8),
                }
            }
            other => return Err(HintError::UnknownType(other.to_string())),
        }))
    }

    /// Whether values must never be null here.
    pub fn not_null(&self) -> bool {
        self.nullable == Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(yaml: &str) -> ColumnHint {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn types_by_dlt_name_and_clear_errors_for_the_rest() {
        assert_eq!(
            hint("{data_type: text}").dlt_type(),
            Ok(Some(DltType::Text))
        );
        assert_eq!(
            hint("{data_type: complex}").dlt_type(),
            Ok(Some(DltType::Json))
        );
        assert_eq!(hint("{nullable: false}").dlt_type(), Ok(None));
        assert!(hint("{nullable: false}").not_null());
        let bad = hint("{data_type: string}")
            .dlt_type()
            .unwrap_err()
            .to_string();
        assert!(bad.contains("not a dlt type"), "{bad}");
        let p = hint("{data_type: decimal, precision: 38, scale: 9}").dlt_type();
        assert_eq!(p, Ok(Some(DltType::Decimal)));
        // As dlt's DuckDB destination maps them.
        for (yaml, ty) in [
            (
                "{data_type: decimal, precision: 12, scale: 2}",
                DltType::Numeric(12, 2),
            ),
            (
                "{data_type: decimal, precision: 10}",
                DltType::Numeric(10, 9),
            ),
            ("{data_type: timestamp, precision: 3}", DltType::Timestamp),
            (
                "{data_type: timestamp, precision: 3, timezone: false}",
                DltType::NaiveTimestamp(3),
            ),
            (
                "{data_type: timestamp, timezone: false}",
                DltType::NaiveTimestamp(6),
            ),
            ("{data_type: bigint, precision: 16}", DltType::SmallInt(16)),
            ("{data_type: bigint, precision: 4}", DltType::SmallInt(8)),
            ("{data_type: time}", DltType::Time),
            ("{data_type: binary}", DltType::Binary),
        ] {
            assert_eq!(hint(yaml).dlt_type(), Ok(Some(ty)), "{yaml}");
        }
        assert!(
            hint("{data_type: decimal, precision: 40}")
                .dlt_type()
                .is_err()
        );
        assert!(
            hint("{data_type: timestamp, precision: 12, timezone: false}")
                .dlt_type()
                .is_err()
        );
        assert!(serde_yaml_ng::from_str::<ColumnHint>("{data_typ: text}").is_err());
    }
}
