//! dlt's column hints (`columns:` on a resource): a column's type decided by the user instead of
//! inferred from the first value, whether it may be null, and whether it is a key.

use serde::Deserialize;

use super::DltType;

/// One entry of a resource's `columns:`, in dlt's vocabulary.
/// Example: `columns: {price: {data_type: decimal}, email: {nullable: false}}`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ColumnHint {
    /// The column's type: `text`, `bigint`, `double`, `bool`, `timestamp`, `date`, `decimal`,
    /// `json` or `wei`. Values are coerced to it as dlt coerces them; one that cannot be goes to
    /// a variant column (`price__v_text`), or follows the schema contract. Example: `data_type: text`
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

/// Why a column hint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    /// Not one of dlt's types.
    #[error(
        "`data_type: {0}` is not a dlt type; use one of text, bigint, double, bool, timestamp, \
         date, decimal, json, wei"
    )]
    UnknownType(String),
    /// A dlt type Dango does not load yet.
    #[error("`data_type: {0}` is not supported yet; declare it `text` and cast it in SQL")]
    Unsupported(String),
    /// A precision, scale or time zone Dango does not load yet.
    #[error("{0}")]
    Parameters(String),
}

impl ColumnHint {
    /// The column type the hint fixes, if it names one.
    pub fn dlt_type(&self) -> Result<Option<DltType>, HintError> {
        let Some(name) = self.data_type.as_deref() else {
            return Ok(None);
        };
        let ty = match name {
            // dlt's old name for `json`.
            "complex" => DltType::Json,
            "time" | "binary" => return Err(HintError::Unsupported(name.to_string())),
            other => {
                DltType::from_dlt_name(other).ok_or(HintError::UnknownType(other.to_string()))?
            }
        };
        self.check_parameters(ty)?;
        Ok(Some(ty))
    }

    /// Precision, scale and time zone must be ones the type is loaded with.
    fn check_parameters(&self, ty: DltType) -> Result<(), HintError> {
        let fixed = |what: &str, given: Option<u32>, loaded: u32| match given {
            Some(g) if g != loaded => Err(HintError::Parameters(format!(
                "`{what}: {g}` on a `{}` column is not supported yet: Dango loads it with {what} \
                 {loaded}; leave `{what}` out",
                ty.dlt_name()
            ))),
            _ => Ok(()),
        };
        match ty {
            DltType::Decimal => {
                fixed(
                    "precision",
                    self.precision,
                    u32::from(super::DECIMAL_DIGITS),
                )?;
                fixed(
                    "scale",
                    self.scale,
                    super::DECIMAL_SCALE.unsigned_abs().into(),
                )
            }
            DltType::Timestamp => {
                fixed("precision", self.precision, 6)?;
                match self.timezone {
                    Some(false) => Err(HintError::Parameters(
                        "`timezone: false` is not supported yet: Dango loads timestamps as UTC \
                         with their time zone; leave `timezone` out"
                            .into(),
                    )),
                    _ => Ok(()),
                }
            }
            _ => match (self.precision, self.scale) {
                (None, None) => Ok(()),
                _ => Err(HintError::Parameters(format!(
                    "`precision`/`scale` do not apply to a `{}` column; leave them out",
                    ty.dlt_name()
                ))),
            },
        }
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
        assert!(hint("{data_type: bigint, scale: 2}").dlt_type().is_err());
        assert!(serde_yaml_ng::from_str::<ColumnHint>("{data_typ: text}").is_err());
    }
}
