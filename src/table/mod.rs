//! One root table's stages after a page is normalised, owned by [`TableStages`]: build the
//! Arrow batches (in page order), apply the user's rules ([`rules`]: SQL transforms, the schema
//! contract, `nullable: false`), keep one row per key for `merge` ([`dedupe`]), and record the
//! keys for the commit. `dango sync`, `dango source test` and the benchmarks all run a table
//! through this one type, so what `source test` shows is what a sync loads.

pub mod contract;
pub mod dedupe;
pub mod families;
pub mod not_null;
pub mod rules;
pub mod transform;

#[cfg(test)]
mod layout_tests;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use crate::decode::page::{DecodeError, NormalizedPage, PageDecoder, PageNormalizer};
use crate::hints::{LoadId, TableHints, WriteDisposition};
use crate::source::Resource;
use crate::warehouse::ResourceCommit;
use crate::warehouse::catalog::SchemaColumns;
use dedupe::{DedupeError, KeyLedger, latest_per_key_in_page};
use rules::{Dropped, RulesError, TableRules};

/// Why a page could not go through a table's stages.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A page could not be built into batches.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A page broke the table's declared rules (transform, contract, `nullable: false`).
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// Deduplication failed.
    #[error(transparent)]
    Dedupe(#[from] DedupeError),
    /// A build worker died.
    #[error("internal error: a worker task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A `replace` table named by the data, which the load could not empty before it began.
    #[error(
        "table `{0}` has `write_disposition: replace`, but its name came from the data: Dango empties \
         `replace` tables when the load begins, before it can know it. Give the resource a fixed \
         table name, or use `append` or `merge` for tables named by the data"
    )]
    LateReplace(String),
}

/// Time spent in the stages of one table, summed over its pages.
#[derive(Debug, Default, Clone, Copy)]
pub struct StageTimes {
    /// Building Arrow batches.
    pub build: Duration,
    /// The user's transforms, schema contract and `nullable: false` checks.
    pub rules: Duration,
    /// Deduplicating `merge` batches and recording their keys.
    pub dedupe: Duration,
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, other: Self) {
        self.build += other.build;
        self.rules += other.rules;
        self.dedupe += other.dedupe;
    }
}

/// What a table's stages hand to the commit once its last page is through.
pub struct TableOutcome {
    /// The commit entry of the table (no cursor: a resource saves one, with its own table).
    pub commit: ResourceCommit,
    /// What its rules dropped.
    pub dropped: Dropped,
    /// Time spent in its stages.
    pub times: StageTimes,
}

/// The stages of one root table (and its child tables): built once from the table's hints,
/// the warehouse's known schema and the load, then given every normalised page in order.
pub struct TableStages {
    hints: Arc<TableHints>,
    /// Taken while a page is built on a blocking worker.
    decoder: Option<PageDecoder>,
    /// The transforms, contract and checks the user declared, if any.
    rules: Option<TableRules>,
    /// Where `merge` batches are deduplicated.
    dedupe: Option<SessionContext>,
    ledger: KeyLedger,
    dropped: Dropped,
    /// The tables (root and child) that batches came out for.
    sent: HashSet<String>,
    times: StageTimes,
}

impl TableStages {
    /// The stages of the table `hints` describe, loading as `load_id` into a dataset whose
    /// current tables are `known`.
    pub fn new(hints: Arc<TableHints>, load_id: &LoadId, known: SchemaColumns) -> Self {
        let rules = TableRules::new(&hints, &known);
        let merge = hints.write_disposition == WriteDisposition::Merge;
        Self {
            decoder: Some(PageDecoder::new((*hints).clone(), load_id.as_str(), known)),
            hints,
            rules,
            dedupe: merge.then(SessionContext::new),
            ledger: KeyLedger::default(),
            dropped: Dropped::default(),
            sent: HashSet::new(),
            times: StageTimes::default(),
        }
    }

    /// The stages of every table `resource` declares before it runs, its own first.
    pub fn of_resource(
        resource: &dyn Resource,
        load_id: &LoadId,
        known: &SchemaColumns,
    ) -> Vec<Self> {
        resource
            .tables()
            .into_iter()
            .map(|hints| Self::new(Arc::new(hints.clone()), load_id, known.clone()))
            .collect()
    }

    /// The stages of a table a page named while its resource ran (a Python source's
    /// `table_name`), which `replace` cannot have: the load emptied its tables when it began.
    pub fn found_while_running(
        hints: Arc<TableHints>,
        load_id: &LoadId,
        known: SchemaColumns,
    ) -> Result<Self, StageError> {
        if hints.write_disposition == WriteDisposition::Replace {
            return Err(StageError::LateReplace(hints.table_name.clone()));
        }
        Ok(Self::new(hints, load_id, known))
    }

    /// The table's hints.
    pub fn hints(&self) -> &Arc<TableHints> {
        &self.hints
    }

    /// A normaliser of this table's pages, to run on other workers (several pages at once).
    pub fn normalizer(&self) -> Option<PageNormalizer> {
        self.decoder.as_ref().map(PageDecoder::normalizer)
    }

    /// The batches a normalised page loads, one per table, root first, none empty: built on a
    /// blocking worker, then through the rules and, for `merge`, one row per key.
    pub async fn page(
        &mut self,
        page: NormalizedPage,
    ) -> Result<Vec<(String, RecordBatch)>, StageError> {
        let Some(mut decoder) = self.decoder.take() else {
            // A build worker died on an earlier page, which was reported then.
            return Ok(Vec::new());
        };
        let (decoder, took, built) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let built = decoder.build(page);
            (decoder, started.elapsed(), built)
        })
        .await?;
        self.decoder = Some(decoder);
        self.times.build += took;
        let mut built = built?;
        if let Some(rules) = self.rules.as_mut() {
            let started = Instant::now();
            let dropped = rules.apply(&mut built).await?;
            self.dropped.filtered += dropped.filtered;
            self.dropped.discarded += dropped.discarded;
            self.times.rules += started.elapsed();
        }
        if let Some(ctx) = &self.dedupe {
            let started = Instant::now();
            let (root, key) = (&self.hints.table_name, &self.hints.primary_key);
            // Other strategies rank a key's records at commit, or (scd2) keep them all.
            if self.hints.merge.ranks_pages() {
                built = latest_per_key_in_page(ctx, built, root, key).await?;
            }
            if let Some((_, batch)) = built.iter().find(|(t, _)| t == root) {
                self.ledger.record(batch, key)?;
            }
            self.times.dedupe += started.elapsed();
        }
        // A batch a transform or contract emptied makes no table (as dlt makes none).
        built.retain(|(_, b)| b.num_rows() > 0);
        self.sent.extend(built.iter().map(|(t, _)| t.clone()));
        Ok(built)
    }

    /// The table's commit entry, once every page went through [`TableStages::page`].
    pub async fn finish(self) -> Result<TableOutcome, StageError> {
        let ledger = self.ledger;
        let keys_unique = tokio::task::spawn_blocking(move || ledger.unique()).await?;
        // Only tables that rows went to: a transform or contract may have kept none of some.
        let mut tables = self.decoder.map(|d| d.loaded_tables()).unwrap_or_default();
        tables.retain(|t| self.sent.contains(&t.name));
        Ok(TableOutcome {
            commit: ResourceCommit {
                hints: (*self.hints).clone(),
                tables,
                cursor: None,
                keys_unique,
            },
            dropped: self.dropped,
            times: self.times,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The column names of `batch`, in order.
    pub(crate) fn names(batch: &RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn a_replace_table_named_by_the_data_is_refused_and_others_are_taken() {
        let load = LoadId::new();
        let hints = |disposition| {
            Arc::new(TableHints {
                write_disposition: disposition,
                ..TableHints::named("found")
            })
        };
        let refused = TableStages::found_while_running(
            hints(WriteDisposition::Replace),
            &load,
            SchemaColumns::default(),
        );
        assert!(matches!(refused, Err(StageError::LateReplace(t)) if t == "found"));
        for disposition in [WriteDisposition::Append, WriteDisposition::Merge] {
            let taken =
                TableStages::found_while_running(hints(disposition), &load, Default::default());
            assert!(taken.is_ok_and(|t| t.normalizer().is_some()));
        }
    }
}
