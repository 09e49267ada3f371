//! The vocabulary every stage shares: how a table is written, what identifies a row, which load a
//! row belongs to. Stages import these types and nothing of each other.

mod column_hint;
pub(crate) mod columns;
mod contract;
mod deletes;
mod dlt_type;
pub(crate) mod tables;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

pub use column_hint::{ColumnHint, ColumnHints, HintError};
pub use contract::{ContractConfig, ContractMode, ContractParts, SchemaContract};
pub use deletes::{AbsentDeletes, DANGO_DELETED_AT, DeleteMode, DeletesProblem, Detect};
pub use dlt_type::{
    DECIMAL_DIGITS, DECIMAL_SCALE, DLT_TYPE_METADATA, DltType, WEI_DIGITS, field_dlt_type,
};

/// How a resource's rows are applied to its table at commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteDisposition {
    /// Insert every row; nothing is removed.
    Append,
    /// The table afterwards holds exactly this sync's rows.
    Replace,
    /// Merge by key with a [`MergeStrategy`] (Dango's default: delete-insert on `id`).
    #[default]
    Merge,
}

/// `write_disposition:` as configured: a name, or dlt's mapping
/// `{disposition: merge, strategy: ..., ...}` with the strategy's options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "DispositionForm")]
pub struct Disposition {
    /// The disposition.
    pub kind: WriteDisposition,
    /// How `merge` applies rows (ignored by the other dispositions).
    pub strategy: MergeStrategy,
    /// dlt's `deduplicated: true`: the rows of one sync are known to repeat no key, so
    /// delete-insert skips ranking them.
    pub deduplicated: bool,
}

/// dlt's merge strategies (`general-usage/merge-loading`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MergeStrategy {
    /// Delete the old rows sharing a primary or merge key with a new row, insert the new rows.
    #[default]
    DeleteInsert,
    /// Update rows by primary key, insert new keys; `_dlt_id` is a hash of the key.
    Upsert,
    /// Insert keys not yet in the table; never update.
    InsertOnly,
    /// Keep every version of a record with its validity window.
    Scd2(Scd2),
}

impl MergeStrategy {
    /// dlt's name of the strategy.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DeleteInsert => "delete-insert",
            Self::Upsert => "upsert",
            Self::InsertOnly => "insert-only",
            Self::Scd2(_) => "scd2",
        }
    }
}

/// `scd2`'s options, as dlt names them in the `write_disposition` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scd2 {
    /// The "valid from" column (`validity_column_names[0]`, default `_dlt_valid_from`).
    pub valid_from: String,
    /// The "valid to" column (`validity_column_names[1]`, default `_dlt_valid_to`).
    pub valid_to: String,
    /// `row_version_column_name`: a column of the records that tells versions apart; `None`:
    /// `_dlt_id` holds a hash of the whole record, as dlt computes it.
    pub row_version: Option<String>,
    /// `active_record_timestamp`: the "valid to" of active records, in microseconds since the
    /// epoch (UTC); `None`: NULL.
    pub active_record_timestamp: Option<i64>,
    /// `boundary_timestamp`: when versions start and retire, in microseconds since the epoch
    /// (UTC); `None`: when the sync began.
    pub boundary_timestamp: Option<i64>,
}

impl Default for Scd2 {
    fn default() -> Self {
        Self {
            valid_from: columns::DLT_VALID_FROM.to_string(),
            valid_to: columns::DLT_VALID_TO.to_string(),
            row_version: None,
            active_record_timestamp: None,
            boundary_timestamp: None,
        }
    }
}

/// Which record of a repeated key delete-insert keeps (dlt's `dedup_sort` column hint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// The record with the highest value.
    Desc,
    /// The record with the lowest value.
    Asc,
}

/// How `merge` applies a resource's rows: the strategy and the column hints that shape it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeHints {
    /// dlt's merge strategy.
    pub strategy: MergeStrategy,
    /// The `hard_delete` column: a record with it set (`true` for a bool column, any value
    /// otherwise) removes its key instead of loading.
    pub hard_delete: Option<String>,
    /// The `dedup_sort` column and order: which record of a repeated key delete-insert keeps.
    pub dedup_sort: Option<(String, SortOrder)>,
    /// See [`Disposition::deduplicated`].
    pub deduplicated: bool,
    /// Dango's deletes detected by absence: keys that did not come this sync go.
    pub deletes: Option<AbsentDeletes>,
}

impl MergeHints {
    /// How root rows get their `_dlt_id`: dlt hashes the key for upsert and insert-only and
    /// the record for scd2 (when no column of its own tells versions apart).
    pub fn root_ids(&self, primary_key: &[String]) -> RootIds {
        match &self.strategy {
            MergeStrategy::Upsert | MergeStrategy::InsertOnly => {
                RootIds::KeyHash(primary_key.to_vec())
            }
            MergeStrategy::Scd2(s) if s.row_version.is_none() => RootIds::RowHash,
            _ => RootIds::Random,
        }
    }

    /// Declares the columns the strategy adds to root table `root` after the user's, as dlt
    /// declares them: scd2's validity columns (timestamps, empty until the commit sets them),
    /// or soft deletes' `_dango_deleted_at`.
    pub fn declare_columns(&self, root: &str, columns: &mut BTreeMap<String, ColumnHints>) {
        let added: Vec<&str> = match &self.strategy {
            MergeStrategy::Scd2(scd2) => vec![&scd2.valid_from, &scd2.valid_to],
            _ if self.soft_deletes() => vec![DANGO_DELETED_AT],
            _ => return,
        };
        let declared = columns.entry(root.to_string()).or_default();
        for name in added {
            if !declared.keys().any(|c| c == name) {
                let hint = ColumnHint {
                    data_type: Some("timestamp".to_string()),
                    nullable: Some(true),
                    ..ColumnHint::default()
                };
                declared.0.push((name.to_string(), hint));
            }
        }
    }

    /// Whether rows whose key stops appearing are marked with `_dango_deleted_at` (scd2
    /// retires them instead).
    pub fn soft_deletes(&self) -> bool {
        !self.is_scd2() && self.deletes.is_some_and(|d| d.mode == DeleteMode::Soft)
    }

    /// Whether the strategy is scd2.
    pub fn is_scd2(&self) -> bool {
        matches!(self.strategy, MergeStrategy::Scd2(_))
    }

    /// Whether each page's rows are ranked by key as they stream in (only delete-insert keeps
    /// the latest record of a key; with `dedup_sort` the commit ranks all of them at once).
    pub fn ranks_pages(&self) -> bool {
        self.strategy == MergeStrategy::DeleteInsert && self.dedup_sort.is_none()
    }
}

/// How root rows get their `_dlt_id` (child rows' derive from their parent's, always).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RootIds {
    /// Random, as dlt gives them for append, replace and delete-insert.
    #[default]
    Random,
    /// dlt's hash of the primary key's values (upsert, insert-only).
    KeyHash(Vec<String>),
    /// dlt's hash of the whole record (scd2's row version).
    RowHash,
}

impl schemars::JsonSchema for Disposition {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Disposition".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        DispositionForm::json_schema(generator)
    }
}

/// `write_disposition:` as written: a name, or dlt's mapping with a merge `strategy`.
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
enum DispositionForm {
    Name(WriteDisposition),
    Mapping(Box<DispositionMapping>),
}

/// dlt's mapping form of `write_disposition`, with every option its strategies take.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct DispositionMapping {
    /// `append`, `replace` or `merge`.
    disposition: WriteDisposition,
    /// How `merge` applies rows. Default: `delete-insert`.
    #[serde(default)]
    #[schemars(extend("enum" = ["delete-insert", "upsert", "insert-only", "scd2", null]))]
    strategy: Option<String>,
    /// The rows of one sync repeat no key: delete-insert skips ranking them.
    #[serde(default)]
    deduplicated: bool,
    /// scd2: the "valid from" and "valid to" columns. Default: `[_dlt_valid_from, _dlt_valid_to]`.
    #[serde(default)]
    validity_column_names: Option<(String, String)>,
    /// scd2: the "valid to" of active versions instead of NULL. Example: `"9999-12-31"`
    #[serde(default)]
    active_record_timestamp: Option<serde_json::Value>,
    /// scd2: when versions start and retire, instead of the sync's start.
    #[serde(default)]
    boundary_timestamp: Option<serde_json::Value>,
    /// scd2: a column that identifies a version, instead of the hash of the record.
    #[serde(default)]
    row_version_column_name: Option<String>,
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
                WriteDisposition::deserialize(v.into_deserializer()).map(DispositionForm::Name)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(map);
                DispositionMapping::deserialize(d).map(|m| DispositionForm::Mapping(Box::new(m)))
            }
        }
        d.deserialize_any(Form)
    }
}

impl TryFrom<DispositionForm> for Disposition {
    type Error = String;

    fn try_from(form: DispositionForm) -> Result<Self, String> {
        let m = match form {
            DispositionForm::Name(kind) => {
                return Ok(Self {
                    kind,
                    ..Self::default()
                });
            }
            DispositionForm::Mapping(m) => m,
        };
        let scd2_only = [
            ("validity_column_names", m.validity_column_names.is_some()),
            (
                "active_record_timestamp",
                m.active_record_timestamp.is_some(),
            ),
            ("boundary_timestamp", m.boundary_timestamp.is_some()),
            (
                "row_version_column_name",
                m.row_version_column_name.is_some(),
            ),
        ];
        let strategy = match (m.disposition, m.strategy.as_deref()) {
            (WriteDisposition::Merge, None | Some("delete-insert")) => MergeStrategy::DeleteInsert,
            (WriteDisposition::Merge, Some("upsert")) => MergeStrategy::Upsert,
            (WriteDisposition::Merge, Some("insert-only")) => MergeStrategy::InsertOnly,
            (WriteDisposition::Merge, Some("scd2")) => MergeStrategy::Scd2(Scd2 {
                valid_from: m.validity_column_names.as_ref().map_or_else(
                    || columns::DLT_VALID_FROM.to_string(),
                    |(from, _)| crate::normalize::naming::normalize_identifier(from),
                ),
                valid_to: m.validity_column_names.as_ref().map_or_else(
                    || columns::DLT_VALID_TO.to_string(),
                    |(_, to)| crate::normalize::naming::normalize_identifier(to),
                ),
                row_version: m
                    .row_version_column_name
                    .as_deref()
                    .map(crate::normalize::naming::normalize_identifier),
                active_record_timestamp: timestamp(
                    "active_record_timestamp",
                    m.active_record_timestamp,
                )?,
                boundary_timestamp: timestamp("boundary_timestamp", m.boundary_timestamp)?,
            }),
            (WriteDisposition::Merge, Some(other)) => {
                return Err(format!(
                    "`{other}` is not one of dlt's merge strategies: use `delete-insert` (the \
                     default), `upsert`, `insert-only` or `scd2`"
                ));
            }
            (_, Some(_)) => return Err("`strategy` applies only to `disposition: merge`".into()),
            (kind, None) => {
                if m.deduplicated {
                    return Err("`deduplicated` applies only to `disposition: merge`".into());
                }
                return match scd2_only.iter().find(|(_, set)| *set) {
                    Some((name, _)) => Err(format!("`{name}` applies only to `strategy: scd2`")),
                    None => Ok(Self {
                        kind,
                        ..Self::default()
                    }),
                };
            }
        };
        if !matches!(strategy, MergeStrategy::Scd2(_))
            && let Some((name, _)) = scd2_only.iter().find(|(_, set)| *set)
        {
            return Err(format!("`{name}` applies only to `strategy: scd2`"));
        }
        Ok(Self {
            kind: WriteDisposition::Merge,
            strategy,
            deduplicated: m.deduplicated,
        })
    }
}

/// A timestamp option of scd2 (a date, or a date-time with or without an offset; naive is
/// UTC), in microseconds since the epoch; `null` is no value.
pub fn timestamp(option: &str, value: Option<serde_json::Value>) -> Result<Option<i64>, String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let t = text.trim();
    let at = DateTime::parse_from_rfc3339(t)
        .map(|d| d.to_utc())
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                .or_else(|| {
                    let day = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
                    day.and_hms_opt(0, 0, 0)
                })
                .map(|naive| naive.and_utc())
        });
    at.map(|at| Some(at.timestamp_micros())).ok_or_else(|| {
        format!(
            "`{option}: {text}` is not a date or date-time; write it like \
             `2024-08-21T12:15:00+00:00` or `9999-12-31`"
        )
    })
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
    /// For `merge`: the strategy and the column hints that shape it.
    pub merge: MergeHints,
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
            merge: MergeHints::default(),
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
