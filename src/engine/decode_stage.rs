//! Decode + normalize for one resource: a page of JSON records becomes one Arrow batch per table
//! it touches (root and child tables). Runs on a blocking worker thread, never on the runtime.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;

use crate::decode::TableBuilder;
use crate::hints::{TableHints, WriteDisposition};
use crate::normalize::Normalizer;
use crate::source::Page;
use crate::warehouse::StagedTable;
use crate::warehouse::catalog::SchemaColumns;

/// Why a page could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A `merge` row without its primary key.
    #[error(
        "record {record} of page {page} has no value for primary key `{column}`; set `primary_key:` \
         on the resource to the field that identifies a record, or use `write_disposition: append`"
    )]
    MissingPrimaryKey {
        /// 1-based page number.
        page: usize,
        /// 1-based record number within the page.
        record: usize,
        /// The key column.
        column: String,
    },
    /// Arrow refused a batch (a bug, reported rather than hidden).
    #[error("building Arrow batches failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// Turns pages of one resource into per-table batches.
pub struct PageDecoder {
    hints: TableHints,
    normalizer: Normalizer,
    tables: Vec<(String, TableBuilder)>,
    index: HashMap<String, usize>,
    known: SchemaColumns,
}

impl PageDecoder {
    /// A decoder for a resource with `hints`, loading as `load_id`, into a schema whose current
    /// tables are `known`.
    pub fn new(hints: TableHints, load_id: &str, known: SchemaColumns) -> Self {
        let root_key = hints.write_disposition == WriteDisposition::Merge;
        let normalizer = Normalizer::new(
            &hints.table_name,
            load_id,
            hints.max_table_nesting,
            root_key,
        );
        Self {
            hints,
            normalizer,
            tables: Vec::new(),
            index: HashMap::new(),
            known,
        }
    }

    /// The batches of `page`, one per table, root table first.
    pub fn decode(&mut self, page: Page) -> Result<Vec<(String, RecordBatch)>, DecodeError> {
        let check_key = self.hints.write_disposition == WriteDisposition::Merge;
        let mut rows = Vec::new();
        for (i, record) in page.records.into_iter().enumerate() {
            rows.clear();
            self.normalizer.normalize(record, &mut |table, row| {
                rows.push((table.to_string(), row))
            });
            for (table, row) in rows.drain(..) {
                if check_key && table == self.hints.table_name {
                    let missing = self
                        .hints
                        .primary_key
                        .iter()
                        .find(|k| row.get(*k).is_none_or(|v| v.is_null()));
                    if let Some(column) = missing {
                        return Err(DecodeError::MissingPrimaryKey {
                            page: page.number + 1,
                            record: i + 1,
                            column: column.clone(),
                        });
                    }
                }
                self.builder(&table).push(row);
            }
        }
        let mut out = Vec::new();
        for (name, builder) in &mut self.tables {
            if let Some(batch) = builder.finish()? {
                out.push((name.clone(), batch));
            }
        }
        Ok(out)
    }

    fn builder(&mut self, table: &str) -> &mut TableBuilder {
        let i = match self.index.get(table) {
            Some(&i) => i,
            None => {
                let known = self
                    .known
                    .get(table)
                    .map(|cols| cols.iter().cloned().collect())
                    .unwrap_or_default();
                self.tables
                    .push((table.to_string(), TableBuilder::new(known)));
                self.index.insert(table.to_string(), self.tables.len() - 1);
                self.tables.len() - 1
            }
        };
        &mut self.tables[i].1
    }

    /// The tables this resource staged, root first, with their columns.
    pub fn staged_tables(&self) -> Vec<StagedTable> {
        self.tables
            .iter()
            .map(|(name, b)| StagedTable {
                name: name.clone(),
                columns: b.columns(),
            })
            .filter(|t| !t.columns.is_empty())
            .collect()
    }
}
