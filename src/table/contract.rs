//! Enforces a table family's schema contract on each page's batches, against the schema the
//! warehouse had when the sync began (and the columns the user declared): a table it lacks is
//! the `tables` part's business, a new column the `columns` part's, a variant column (a value
//! that did not fit its column's type) the `data_type` part's.

use std::collections::{BTreeSet, HashMap, HashSet};

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::error::ArrowError;

use super::families::{drop_descendants, dropped_ids};
use crate::hints::{ContractMode, DltType, SchemaContract};

/// A contract's `freeze` met data that would change the schema.
#[derive(Debug, thiserror::Error)]
#[error(
    "schema contract `{part}: freeze` on table `{table}` refuses {what}; nothing was loaded. \
     Declare them in the resource's `columns:`, or relax `schema_contract:` \
     (`{part}: evolve`, `discard_value` or `discard_row`)"
)]
pub struct Frozen {
    /// The contract's part: `tables`, `columns` or `data_type`.
    pub part: &'static str,
    /// The table.
    pub table: String,
    /// What would change.
    pub what: String,
}

/// Why a contract could not be enforced.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// `freeze` met a change.
    #[error(transparent)]
    Frozen(#[from] Frozen),
    /// Arrow refused a filter (a bug, reported rather than hidden).
    #[error("applying the schema contract failed: {0}")]
    Arrow(#[from] ArrowError),
}

/// One root table's contract with the schema it starts from.
pub struct Contract {
    root: String,
    modes: SchemaContract,
    /// Columns of each table that exist: the warehouse's and the declared ones.
    existing: HashMap<String, HashSet<String>>,
}

impl Contract {
    /// The contract `modes` of root table `root`, whose family's tables and columns in the
    /// warehouse (and declared) are `existing`.
    pub fn new(
        root: &str,
        modes: SchemaContract,
        existing: HashMap<String, HashSet<String>>,
    ) -> Self {
        Self {
            root: root.to_string(),
            modes,
            existing,
        }
    }

    /// Whether it restricts nothing.
    pub fn evolves(&self) -> bool {
        self.modes.evolves()
    }

    /// Applies the contract to one page's batches (root first); the rows it discarded.
    pub fn enforce(
        &self,
        batches: &mut Vec<(String, RecordBatch)>,
    ) -> Result<usize, ContractError> {
        if self.evolves() {
            return Ok(0);
        }
        let mut discarded = 0;
        let mut dropped: HashSet<String> = HashSet::new();
        let mut i = 0;
        while i < batches.len() {
            let (table, batch) = &batches[i];
            let (new_columns, variants) = match self.existing.get(table) {
                Some(existing) => changes(batch, existing),
                // A table the warehouse does not have.
                None => match self.modes.tables {
                    ContractMode::Freeze => {
                        return Err(Frozen {
                            part: "tables",
                            table: table.clone(),
                            what: "to create the table".into(),
                        }
                        .into());
                    }
                    ContractMode::DiscardRow | ContractMode::DiscardValue => {
                        discarded += batch.num_rows();
                        let none = BooleanArray::from(vec![false; batch.num_rows()]);
                        dropped.extend(dropped_ids(batch, &none));
                        batches.remove(i);
                        continue;
                    }
                    // Its columns are all new and allowed (dlt's `columns` contract does not
                    // apply to a new table), but a value that fits none is still a variant.
                    ContractMode::Evolve => {
                        let own: HashSet<String> = batch
                            .schema()
                            .fields()
                            .iter()
                            .map(|f| f.name().clone())
                            .filter(|n| variant_of(n).is_none())
                            .collect();
                        let (_, variants) = changes(batch, &own);
                        (Vec::new(), variants)
                    }
                },
            };
            let mut batch = batch.clone();
            for (part, mode, columns) in [
                ("data_type", self.modes.data_type, variants),
                ("columns", self.modes.columns, new_columns),
            ] {
                if columns.is_empty() {
                    continue;
                }
                match mode {
                    ContractMode::Evolve => {}
                    ContractMode::Freeze => {
                        return Err(Frozen {
                            part,
                            table: table.clone(),
                            what: describe(part, &columns),
                        }
                        .into());
                    }
                    ContractMode::DiscardValue => batch = without(&batch, &columns)?,
                    ContractMode::DiscardRow => {
                        let keep = rows_without_values(&batch, &columns);
                        dropped.extend(dropped_ids(&batch, &keep));
                        let kept = filter_record_batch(&batch, &keep)?;
                        discarded += batch.num_rows() - kept.num_rows();
                        // Null in every row kept: the column must not be created either.
                        batch = without(&kept, &columns)?;
                    }
                }
            }
            batches[i].1 = batch;
            i += 1;
        }
        drop_descendants(batches, &self.root, dropped)?;
        Ok(discarded)
    }
}

/// The columns of `batch` holding a value that `existing` lacks: new columns, and variant
/// columns of existing ones (`<column>__v_<type>`).
fn changes(batch: &RecordBatch, existing: &HashSet<String>) -> (Vec<String>, Vec<String>) {
    let (mut new, mut variants) = (Vec::new(), Vec::new());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let name = field.name();
        if name.starts_with("_dlt_")
            || existing.contains(name)
            || column.null_count() == column.len()
        {
            continue;
        }
        match variant_of(name).is_some_and(|base| existing.contains(base)) {
            true => variants.push(name.clone()),
            false => new.push(name.clone()),
        }
    }
    (new, variants)
}

/// The column a variant column `<column>__v_<type>` belongs to.
fn variant_of(name: &str) -> Option<&str> {
    let (base, ty) = name.rsplit_once("__v_")?;
    DltType::from_dlt_name(ty).map(|_| base)
}

fn describe(part: &str, columns: &[String]) -> String {
    let list: BTreeSet<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    let list = list.into_iter().collect::<Vec<_>>().join(", ");
    match part {
        "data_type" => format!(
            "values of another type than their column's (they would make variant column(s) {list})"
        ),
        _ => format!("new column(s) {list}"),
    }
}

/// `batch` without `columns`.
fn without(batch: &RecordBatch, columns: &[String]) -> Result<RecordBatch, ArrowError> {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| !columns.contains(batch.schema().field(i).name()))
        .collect();
    batch.project(&keep)
}

/// Which rows of `batch` hold no value in any of `columns`.
fn rows_without_values(batch: &RecordBatch, columns: &[String]) -> BooleanArray {
    let arrays: Vec<_> = columns
        .iter()
        .filter_map(|c| batch.column_by_name(c))
        .collect();
    (0..batch.num_rows())
        .map(|row| Some(arrays.iter().all(|a| a.is_null(row))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(columns: &[(&str, Vec<Option<&str>>)]) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, _)| Field::new(*n, DataType::Utf8, true))
            .collect();
        let arrays = columns
            .iter()
            .map(|(_, v)| Arc::new(StringArray::from(v.clone())) as _)
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    fn contract(modes: SchemaContract) -> Contract {
        let existing = HashMap::from([(
            "users".to_string(),
            HashSet::from(["id".to_string(), "name".to_string()]),
        )]);
        Contract::new("users", modes, existing)
    }

    fn page() -> Vec<(String, RecordBatch)> {
        let users = batch(&[
            ("id", vec![Some("1"), Some("2"), Some("3")]),
            ("name", vec![Some("a"), None, Some("c")]),
            ("nick", vec![None, Some("bee"), None]),
            ("name__v_bigint", vec![None, None, Some("7")]),
            ("_dlt_id", vec![Some("r1"), Some("r2"), Some("r3")]),
        ]);
        let tags = batch(&[
            ("t", vec![Some("x"), Some("y")]),
            ("_dlt_parent_id", vec![Some("r2"), Some("r1")]),
            ("_dlt_id", vec![Some("c1"), Some("c2")]),
        ]);
        vec![("users".into(), users), ("users__tags".into(), tags)]
    }

    fn modes(
        tables: ContractMode,
        columns: ContractMode,
        data_type: ContractMode,
    ) -> SchemaContract {
        SchemaContract {
            tables,
            columns,
            data_type,
        }
    }

    #[test]
    fn freeze_names_the_table_and_the_new_columns() {
        use ContractMode::*;
        let err = contract(modes(Evolve, Freeze, Evolve))
            .enforce(&mut page())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`columns: freeze` on table `users`"), "{err}");
        assert!(err.contains("new column(s) `nick`"), "{err}");
        let err = contract(modes(Evolve, Evolve, Freeze))
            .enforce(&mut page())
            .unwrap_err()
            .to_string();
        assert!(err.contains("variant column(s) `name__v_bigint`"), "{err}");
        let err = contract(modes(Freeze, Evolve, Evolve))
            .enforce(&mut page())
            .unwrap_err()
            .to_string();
        assert!(err.contains("table `users__tags`"), "{err}");
    }

    #[test]
    fn discard_row_drops_the_record_and_its_children_discard_value_the_column() {
        use ContractMode::*;
        let mut rows = page();
        let gone = contract(modes(Evolve, DiscardRow, Evolve))
            .enforce(&mut rows)
            .unwrap();
        assert_eq!(gone, 1);
        assert_eq!(rows[0].1.num_rows(), 2);
        assert_eq!(rows[1].1.num_rows(), 1, "r2's tag went with it");
        assert!(
            rows[0].1.column_by_name("nick").is_none(),
            "no column for nothing"
        );
        let mut values = page();
        let gone = contract(modes(Evolve, DiscardValue, DiscardValue))
            .enforce(&mut values)
            .unwrap();
        assert_eq!(gone, 0);
        let names: Vec<String> = values[0]
            .1
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["id", "name", "_dlt_id"]);
        let mut tables = page();
        let gone = contract(modes(DiscardRow, Evolve, Evolve))
            .enforce(&mut tables)
            .unwrap();
        assert_eq!((gone, tables.len()), (2, 1));
    }
}
