//! The vocabulary every stage shares: how a table is written, what identifies a row, which load a
//! row belongs to. Stages import these types and nothing of each other.

mod column_hint;
pub(crate) mod columns;
mod contract;
mod dlt_type;
pub(crate) mod tables;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

pub use column_hint::{ColumnHint, ColumnHints, HintError};
pub use contract::{ContractConfig, ContractMode, ContractParts, SchemaContract};
pub use dlt_type::{
    DECIMAL_DIGITS, DECIMAL_SCALE, DLT_TYPE_METADATA, DltType, WEI_DIGITS, field_dlt_type,
};

/// How a resource's rows are applied to its table at commit: `append`, or dlt's mapping form
/// `{disposition: merge, strategy: delete-insert}` (the only merge strategy Dango has; the
/// others are refused by name, never loaded as something else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case", try_from = "DispositionForm")]
pub enum WriteDisposition {
    /// Insert every row; nothing is removed.
    Append,
    /// The table afterwards holds exactly this sync's rows.
    Replace,
    /// Upsert by primary key: one row per key, the latest one seen wins (Dango's default).
    #[default]
    Merge,
}

/// `write_disposition:` as written: a name, or dlt's mapping with a merge `strategy`.
enum DispositionForm {
    Name(DispositionName),
    Mapping(DispositionMapping),
}

/// dlt's mapping form of `write_disposition`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DispositionMapping {
    disposition: DispositionName,
    #[serde(default)]
    strategy: Option<String>,
}

impl<'de> Deserialize<'de> for DispositionForm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // By hand rather than untagged, so a misspelt name still says which names there are.
        struct Form;
        impl<'de> serde::de::Visitor<'de> for Form {
            type Value = DispositionForm;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`append`, `replace`, `merge`, or {disposition: merge, strategy: ...}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                use serde::de::IntoDeserializer;
                DispositionName::deserialize(v.into_deserializer()).map(DispositionForm::Name)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(map);
                DispositionMapping::deserialize(d).map(DispositionForm::Mapping)
            }
        }
        d.deserialize_any(Form)
    }
}

/// The names of the dispositions.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DispositionName {
    Append,
    Replace,
    Merge,
}

impl TryFrom<DispositionForm> for WriteDisposition {
    type Error = String;

    fn try_from(form: DispositionForm) -> Result<Self, String> {
        let (name, strategy) = match form {
            DispositionForm::Name(name) => (name, None),
            DispositionForm::Mapping(m) => (m.disposition, m.strategy),
        };
        match (name, strategy.as_deref()) {
            (DispositionName::Merge, None | Some("delete-insert")) => Ok(Self::Merge),
            (DispositionName::Merge, Some(other)) => Err(format!(
                "dlt's merge strategy `{other}` is not implemented by Dango yet: Dango merges \
                 by `delete-insert` (one row per key, the latest record; keys absent from a \
                 sync are kept). Remove `strategy` to merge that way, or keep this resource in \
                 dlt for now"
            )),
            (_, Some(_)) => Err("`strategy` applies only to `disposition: merge`".to_string()),
            (DispositionName::Append, None) => Ok(Self::Append),
            (DispositionName::Replace, None) => Ok(Self::Replace),
        }
    }
}

impl WriteDisposition {
    /// The name used in config files and dlt's schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Append => "append",
            Self::Replace => "replace",
            Self::Merge => "merge",
        }
    }
}

impl fmt::Display for WriteDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default nesting depth of child tables (dlt's).
pub const DEFAULT_MAX_NESTING: usize = 1000;

/// What the warehouse needs to know about a resource's root table, decided at plan time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableHints {
    /// Normalised table name (dlt's snake_case), without schema.
    pub table_name: String,
    /// How rows are applied at commit.
    pub write_disposition: WriteDisposition,
    /// Normalised primary-key column names: `merge` keeps one row per key.
    pub primary_key: Vec<String>,
    /// Normalised merge-key column names: `merge` replaces every old row sharing one with a
    /// new row (e.g. a whole day), as dlt's `merge_key` does.
    pub merge_key: Vec<String>,
    /// Depth below the root table beyond which nested data is kept as JSON instead of child tables.
    pub max_table_nesting: usize,
    /// Declared columns, by table (the root's and its child tables') and normalised column name.
    pub columns: BTreeMap<String, ColumnHints>,
    /// What a sync may change of the tables' schema.
    pub contract: SchemaContract,
    /// SQL run on each batch of a table before it loads, by table.
    pub transforms: BTreeMap<String, String>,
}

impl TableHints {
    /// Hints of table `table_name` with Dango's defaults: `merge` on nothing, no declared
    /// columns, schema free to evolve.
    pub fn named(table_name: &str) -> Self {
        Self {
            table_name: table_name.to_string(),
            write_disposition: WriteDisposition::default(),
            primary_key: Vec::new(),
            merge_key: Vec::new(),
            max_table_nesting: DEFAULT_MAX_NESTING,
            columns: BTreeMap::new(),
            contract: SchemaContract::default(),
            transforms: BTreeMap::new(),
        }
    }

    /// Whether anything besides inference shapes the tables (declared types, a contract, a
    /// transform, a column that must not be null).
    pub fn shaped(&self) -> bool {
        !self.columns.is_empty() || !self.contract.evolves() || !self.transforms.is_empty()
    }
}

/// Where a resource's incremental loading stands.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorState {
    /// The resource.
    pub resource: String,
    /// The cursor field's JSONPath.
    pub cursor_path: String,
    /// The highest (or lowest, for `min`) cursor value loaded.
    pub last_value: Value,
    /// Hashes of the records loaded at exactly `last_value`, so the next sync, which asks for
    /// records from `last_value` on, does not load them twice.
    pub boundary: Vec<String>,
    /// The whole state as the source keeps it, opaque to Dango (a Python source's dlt state,
    /// as dlt's typed JSON), handed back to it on the next sync.
    pub native: Option<String>,
    /// The ranges `--window` backfills loaded whole, merged, so a rerun skips them.
    pub backfilled: Vec<(serde_json::Value, serde_json::Value)>,
}

/// Identifier of one load (one sync of one source), as dlt writes it: Unix seconds with a fraction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoadId(String);

impl LoadId {
    /// A load id for a load starting now; strictly increasing within one process.
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST_MICROS: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or_default();
        // Two sources starting in the same microsecond must still get distinct ids.
        let micros = LAST_MICROS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(now.max(last + 1))
            })
            .map(|last| now.max(last + 1))
            .unwrap_or(now);
        Self(format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000))
    }

    /// The id as stored in `_dlt_load_id` and `_dlt_loads.load_id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoadId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LoadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_ids_increase_even_when_created_back_to_back() {
        let ids: Vec<LoadId> = (0..100).map(|_| LoadId::new()).collect();
        for pair in ids.windows(2) {
            let a: f64 = pair[0].as_str().parse().unwrap();
            let b: f64 = pair[1].as_str().parse().unwrap();
            assert!(b > a, "{} then {}", pair[0], pair[1]);
        }
    }
}
