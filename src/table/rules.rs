//! What the user declared for one root table and its child tables, applied to each page's
//! batches between build and dedupe: the SQL transforms, then the schema contract (on what the
//! transforms produce, which is what lands), then `nullable: false`.

use std::collections::{HashMap, HashSet};

use arrow::array::RecordBatch;

use super::contract::{Contract, ContractError};
use super::families::drop_descendants;
use super::not_null::{self, NullInNotNull};
use super::transform::{Transform, TransformError};
use crate::hints::{TableHints, WriteDisposition};
use crate::warehouse::catalog::SchemaColumns;

/// Why a page broke a table's rules.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A transform could not run.
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// The schema contract refused a change.
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// A `nullable: false` column had no value.
    #[error(transparent)]
    NotNull(#[from] NullInNotNull),
    /// Arrow refused a filter (a bug, reported rather than hidden).
    #[error("applying a transform's filter to child tables failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// What the rules dropped from one page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Records (root rows) a transform's `WHERE` filtered out.
    pub filtered: usize,
    /// Rows the schema contract discarded.
    pub discarded: usize,
}

/// The declared rules of one root table's family.
pub struct TableRules {
    root: String,
    /// By table, parents before children.
    transforms: Vec<(String, Transform)>,
    contract: Contract,
    /// `nullable: false` columns by table.
    not_null: Vec<(String, Vec<String>)>,
}

impl TableRules {
    /// The rules `hints` declare, over a warehouse whose tables are `known`; `None` if it
    /// declares none (the usual case, which then costs nothing).
    pub fn new(hints: &TableHints, known: &SchemaColumns) -> Option<Self> {
        if !hints.shaped() {
            return None;
        }
        let root = &hints.table_name;
        let keys = match hints.write_disposition {
            WriteDisposition::Merge => hints.primary_key.clone(),
            _ => Vec::new(),
        };
        let mut transforms: Vec<(String, Transform)> = hints
            .transforms
            .iter()
            .map(|(table, sql)| {
                let keys: &[String] = if table == root { &keys } else { &[] };
                (table.clone(), Transform::new(table, sql, keys))
            })
            .collect();
        transforms.sort_by_key(|(table, _)| table.len());
        let in_family = |t: &str| t == root || t.starts_with(&format!("{root}__"));
        let mut existing: HashMap<String, HashSet<String>> = known
            .iter()
            .filter(|(t, _)| in_family(t))
            .map(|(t, cols)| (t.clone(), cols.iter().map(|(c, _)| c.clone()).collect()))
            .collect();
        for (table, columns) in &hints.columns {
            if let Some(have) = existing.get_mut(table) {
                have.extend(columns.keys().cloned());
            }
        }
        let not_null = hints
            .columns
            .iter()
            .map(|(table, columns)| {
                let required = columns.iter().filter(|(_, h)| h.not_null());
                (
                    table.clone(),
                    required.map(|(c, _)| c.clone()).collect::<Vec<_>>(),
                )
            })
            .filter(|(_, cols)| !cols.is_empty())
            .collect();
        Some(Self {
            root: root.clone(),
            transforms,
            contract: Contract::new(root, hints.contract, existing),
            not_null,
        })
    }

    /// Applies the rules to one page's batches; what they dropped.
    pub async fn apply(
        &mut self,
        batches: &mut Vec<(String, RecordBatch)>,
    ) -> Result<Dropped, RulesError> {
        let mut filtered = 0;
        for (table, transform) in &mut self.transforms {
            let Some(at) = batches.iter().position(|(t, _)| t == table) else {
                continue;
            };
            let out = transform.apply(&batches[at].1).await?;
            batches[at].1 = out.batch;
            if table == &self.root {
                filtered += out.dropped.len();
            }
            drop_descendants(batches, table, out.dropped)?;
        }
        let discarded = self.contract.enforce(batches)?;
        for (table, columns) in &self.not_null {
            if let Some((_, batch)) = batches.iter().find(|(t, _)| t == table) {
                not_null::check(table, batch, columns)?;
            }
        }
        Ok(Dropped {
            filtered,
            discarded,
        })
    }
}
