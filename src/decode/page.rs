//! Decode + normalize for one resource: a page of JSON records becomes one Arrow batch per table
//! it touches (root and child tables). Runs on a blocking worker thread, never on the runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::record_batch::RecordBatch;
use bytes::Bytes;

use crate::decode::arrow_items::{self, ArrowItemsError};
use crate::decode::{DltType, TableBuilder};
use crate::hints::{TableHints, WriteDisposition};
use crate::normalize::{Cell, Normalizer, Rows};
use crate::source::{Page, Records};
use crate::warehouse::LoadedTable;
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
    /// A `merge` key's value that the key column's type cannot hold. Stored anywhere else, the
    /// key would be NULL, and the record would be added again on every sync.
    #[error(
        "record {record} of page {page}: key `{column}` is `{value}`, which its column (type \
         {column_type}) cannot hold; nothing was loaded. Declare a type that holds every key, e.g. \
         `columns: {{{column}: {{data_type: text}}}}` on the resource (a table that has the column \
         keeps its type until a `dango sync --full-refresh`)"
    )]
    KeyDoesNotFit {
        /// 1-based page number.
        page: usize,
        /// 1-based record number within the page.
        record: usize,
        /// The key column.
        column: String,
        /// The column's type, as DuckDB names it.
        column_type: String,
        /// The value, as text.
        value: String,
    },
    /// A record's JSON could not be read (the body was checked when fetched, so this is a bug).
    #[error("record {record} of page {page} could not be read: {source}")]
    Json {
        /// 1-based page number.
        page: usize,
        /// 1-based record number within the page.
        record: usize,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
    /// Arrow refused a batch (a bug, reported rather than hidden).
    #[error("building Arrow batches failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Arrow pages of a merge strategy whose row ids are hashes of the record, which Dango
    /// computes from JSON only.
    #[error(
        "page {page}: Arrow pages cannot be merged by `{strategy}` yet (its row ids hash each \
         record, which Dango does from JSON records); send the records as JSON, or merge by \
         delete-insert"
    )]
    ArrowHashedIds {
        /// 1-based page number.
        page: usize,
        /// The strategy.
        strategy: &'static str,
    },
    /// An Arrow page could not be loaded.
    #[error("page {page}: {source}")]
    ArrowItems {
        /// 1-based page number.
        page: usize,
        /// Why.
        source: ArrowItemsError,
    },
}

/// One page's records as normalised rows of the root and child tables, or an Arrow page,
/// which is loaded as it is.
pub enum NormalizedPage {
    /// Rows of the root and child tables, with their 1-based page number.
    Rows(usize, Rows),
    /// An Arrow batch for the root table, with its 1-based page number.
    Arrow(usize, RecordBatch),
}

/// Normalises the pages of one resource. Pages are independent, so clones of it normalise
/// several pages at once on different workers.
#[derive(Clone)]
pub struct PageNormalizer {
    hints: Arc<TableHints>,
    /// Name ids of the primary key's columns, which `merge` rows must have.
    primary_key: Arc<[u32]>,
    normalizer: Normalizer,
    /// Rows of pages already built, kept for their buffers (see [`Rows::reset`]).
    spare: Arc<Mutex<Vec<Rows>>>,
}

/// Pages' rows kept for reuse: one per page that can be in flight between normalising and
/// building, which a resource's pipeline bounds.
const SPARE_ROWS: usize = 4;

impl PageNormalizer {
    /// A normaliser for a resource with `hints`, loading as `load_id`.
    pub fn new(hints: TableHints, load_id: &str) -> Self {
        let merge = hints.write_disposition == WriteDisposition::Merge;
        // dlt links child rows to their root for every strategy but scd2, whose child rows
        // only ever get inserted.
        let root_key = merge && !hints.merge.is_scd2();
        let mut normalizer = Normalizer::new(
            &hints.table_name,
            load_id,
            hints.max_table_nesting,
            root_key,
        );
        if merge {
            normalizer.set_root_ids(hints.merge.root_ids(&hints.primary_key));
        }
        let primary_key = match merge {
            true => hints
                .primary_key
                .iter()
                .map(|k| normalizer.names().id(k))
                .collect(),
            false => Arc::default(),
        };
        Self {
            hints: Arc::new(hints),
            primary_key,
            normalizer,
            spare: Arc::default(),
        }
    }

    /// The rows of `page`'s records; a `merge` record without its primary key is an error.
    pub fn normalize(&mut self, page: Page) -> Result<NormalizedPage, DecodeError> {
        // Most records bring a root row and a few child rows.
        let capacity = page.records.len() * 4;
        let at = |i: usize| (page.number + 1, i + 1);
        let typed = matches!(page.records, Records::Typed { .. });
        let out = match page.records {
            Records::Parsed(values) => {
                let mut out = self.rows(Bytes::new(), capacity);
                for (i, record) in values.into_iter().enumerate() {
                    let first = out.len();
                    let read = self.normalizer.normalize(record, &mut out);
                    self.check(read, &out, first, at(i))?;
                }
                out
            }
            Records::Text { body, spans } | Records::Typed { body, spans } => {
                self.normalizer.set_typed(typed);
                let mut out = self.rows(body, capacity);
                for (i, span) in spans.into_iter().enumerate() {
                    let first = out.len();
                    let read = self.normalizer.normalize_json(span, &mut out);
                    self.check(read, &out, first, at(i))?;
                }
                out
            }
            Records::Arrow(batch) => return Ok(NormalizedPage::Arrow(page.number + 1, batch)),
        };
        Ok(NormalizedPage::Rows(page.number + 1, out))
    }

    /// Rows for the records of `body`, with room for `n` rows: spare ones if there are any.
    fn rows(&self, body: Bytes, n: usize) -> Rows {
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match spare {
            Some(mut rows) => {
                rows.reset(body);
                rows
            }
            None => Rows::of_body(body, n),
        }
    }

    /// Keeps `rows`, built, for a later page; their page body goes now.
    fn give_back(&self, mut rows: Rows) {
        rows.reset(Bytes::new());
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < SPARE_ROWS {
            spare.push(rows);
        }
    }

    /// Whether a record (page and record numbers `at`, its rows from `first` on) was read
    /// and, for `merge`, has its primary key.
    fn check(
        &self,
        read: Result<(), serde_json::Error>,
        out: &Rows,
        first: usize,
        (page, record): (usize, usize),
    ) -> Result<(), DecodeError> {
        read.map_err(|source| DecodeError::Json {
            page,
            record,
            source,
        })?;
        // The root row comes first.
        let Some(root) = out.row(first) else {
            return Ok(());
        };
        let has = |key: u32| root.iter().any(|&(c, cell)| c == key && cell != Cell::Null);
        match self.primary_key.iter().position(|&k| !has(k)) {
            Some(i) => Err(DecodeError::MissingPrimaryKey {
                page,
                record,
                column: self.hints.primary_key[i].clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Turns pages of one resource into per-table batches: normalises them (see
/// [`PageNormalizer`]), then builds Arrow columns, inferring types in page order.
pub struct PageDecoder {
    normalizer: PageNormalizer,
    tables: Vec<(String, TableBuilder)>,
    index: HashMap<String, usize>,
    known: SchemaColumns,
    /// Columns of the root table that Arrow pages brought, in order, with their types.
    arrow_columns: Vec<(String, DltType)>,
    load_id: String,
}

impl PageDecoder {
    /// A decoder for a resource with `hints`, loading as `load_id`, into a schema whose current
    /// tables are `known`.
    pub fn new(hints: TableHints, load_id: &str, known: SchemaColumns) -> Self {
        Self {
            normalizer: PageNormalizer::new(hints, load_id),
            tables: Vec::new(),
            index: HashMap::new(),
            known,
            arrow_columns: Vec::new(),
            load_id: load_id.to_string(),
        }
    }

    /// A normaliser for this decoder's pages, to run on other workers.
    pub fn normalizer(&self) -> PageNormalizer {
        self.normalizer.clone()
    }

    /// The batches of an already normalised page, one per table, root table first. Pages must
    /// come in order: the first value of a column decides its type.
    pub fn build(
        &mut self,
        page: NormalizedPage,
    ) -> Result<Vec<(String, RecordBatch)>, DecodeError> {
        let (number, rows) = match page {
            NormalizedPage::Rows(number, rows) => (number, rows),
            NormalizedPage::Arrow(number, batch) => return self.build_arrow(number, &batch),
        };
        let names = self.normalizer.normalizer.names().clone();
        let slots: Vec<usize> = rows
            .tables()
            .iter()
            .map(|&t| self.slot(&names.name(t).unwrap_or_default()))
            .collect();
        let text = rows.text();
        for (t, cells) in rows.iter() {
            self.tables[slots[t]].1.push(cells, &text, &names);
        }
        self.normalizer.give_back(rows);
        let root = &self.normalizer.hints.table_name;
        if let Some(&at) = self.index.get(root)
            && let Some(misfit) = self.tables[at].1.take_misfit()
        {
            // The root table has one row per record, in order.
            return Err(DecodeError::KeyDoesNotFit {
                page: number,
                record: misfit.row + 1,
                column: misfit.column,
                column_type: misfit.column_type.duckdb_type().into_owned(),
                value: misfit.value,
            });
        }
        let mut out = Vec::new();
        for (name, builder) in &mut self.tables {
            if let Some(batch) = builder.finish()? {
                out.push((name.clone(), batch));
            }
        }
        Ok(out)
    }

    /// An Arrow page's batch, as dlt loads Arrow items (see [`arrow_items`]): columns keep the
    /// types the table already has; a `merge` batch must hold its primary key in every row.
    fn build_arrow(
        &mut self,
        page: usize,
        batch: &RecordBatch,
    ) -> Result<Vec<(String, RecordBatch)>, DecodeError> {
        let hints = self.normalizer.hints.clone();
        let mut types: HashMap<String, DltType> = self
            .known
            .get(&hints.table_name)
            .map(|cols| cols.iter().cloned().collect())
            .unwrap_or_default();
        types.extend(self.arrow_columns.iter().cloned());
        let merge = &hints.merge;
        if hints.write_disposition == WriteDisposition::Merge
            && merge.root_ids(&hints.primary_key) != crate::hints::RootIds::Random
        {
            return Err(DecodeError::ArrowHashedIds {
                page,
                strategy: merge.strategy.as_str(),
            });
        }
        let (batch, columns) = arrow_items::prepare(batch, &self.load_id, &types)
            .map_err(|source| DecodeError::ArrowItems { page, source })?;
        if hints.write_disposition == WriteDisposition::Merge {
            for key in &hints.primary_key {
                let missing = batch
                    .column_by_name(key)
                    .map_or(batch.num_rows(), |c| c.null_count());
                if missing > 0 {
                    return Err(DecodeError::MissingPrimaryKey {
                        page,
                        record: 1,
                        column: key.clone(),
                    });
                }
            }
        }
        for column in columns {
            if !self.arrow_columns.iter().any(|(c, _)| c == &column.0) {
                self.arrow_columns.push(column);
            }
        }
        Ok(vec![(hints.table_name.clone(), batch)])
    }

    fn slot(&mut self, table: &str) -> usize {
        match self.index.get(table) {
            Some(&i) => i,
            None => {
                let mut known: HashMap<String, DltType> = self
                    .known
                    .get(table)
                    .map(|cols| cols.iter().cloned().collect())
                    .unwrap_or_default();
                // Declared types decide new columns; a column the warehouse has keeps its type.
                let declared: Vec<(String, DltType)> = self
                    .normalizer
                    .hints
                    .columns
                    .get(table)
                    .into_iter()
                    .flat_map(|hints| hints.iter())
                    .filter_map(|(c, hint)| Some((c.clone(), hint.dlt_type().ok()??)))
                    .filter(|(c, _)| !known.contains_key(c))
                    .collect();
                known.extend(declared.iter().cloned());
                let hints = &self.normalizer.hints;
                // A `merge` table's keys must land in their columns (see `KeyMisfit`).
                let keys = match hints.write_disposition {
                    WriteDisposition::Merge if table == hints.table_name => {
                        let keys = hints.primary_key.iter().chain(&hints.merge_key);
                        keys.cloned().collect()
                    }
                    _ => Vec::new(),
                };
                let mut builder = TableBuilder::new(known).with_keys(keys);
                // As dlt, a declared column exists even before (or without) a value.
                for (column, ty) in declared {
                    builder.declare(&column, ty);
                }
                self.tables.push((table.to_string(), builder));
                self.index.insert(table.to_string(), self.tables.len() - 1);
                self.tables.len() - 1
            }
        }
    }

    /// The tables this resource loaded rows into, root first, with their columns.
    pub fn loaded_tables(&self) -> Vec<LoadedTable> {
        let arrow = (!self.arrow_columns.is_empty()).then(|| LoadedTable {
            name: self.normalizer.hints.table_name.clone(),
            columns: self.arrow_columns.clone(),
        });
        let mut tables: Vec<LoadedTable> = arrow.into_iter().collect();
        for (name, b) in &self.tables {
            let columns = b.columns();
            match tables.iter_mut().find(|t| &t.name == name) {
                // A resource that sent both kinds of page: one root table.
                Some(t) => {
                    for c in columns {
                        if !t.columns.iter().any(|(n, _)| n == &c.0) {
                            t.columns.push(c);
                        }
                    }
                }
                None if !columns.is_empty() => tables.push(LoadedTable {
                    name: name.clone(),
                    columns,
                }),
                None => {}
            }
        }
        tables
    }
}
