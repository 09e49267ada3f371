//! `transform:` — one SQL query over a table's rows, named `data`, run by DataFusion on every
//! Arrow batch before dedupe and load. A transform keeps or drops each row and computes its
//! columns (`SELECT ... FROM data [WHERE ...]`): every row it loads comes from one record, so the
//! record's `_dlt_*` columns and child rows follow it. The query is planned once per batch
//! schema into physical expressions evaluated straight on each batch: no per-batch planning, no
//! copy of columns it does not touch.
//!
//! So the logical plan must be a projection, at most one filter and one scan of the table
//! `data` itself, and nothing else, subqueries included: a scan of anything else (a table
//! function such as `generate_series`) would bind its columns to the batch's by position and
//! load the wrong values. [`shape_problem`] applies that rule to the config before a sync, the
//! plan of each batch schema applies it again, and each batch's output is checked to be that
//! batch's records.

mod plan;
mod run;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::empty::EmptyTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use datafusion::physical_expr::PhysicalExpr;
use plan::unknown_column;
use run::with_null_columns;

/// The name the query reads its table by.
pub const DATA: &str = "data";

/// Why a transform cannot run.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The SQL does not parse or plan (DataFusion's message, with its position).
    #[error(
        "the transform of table `{table}` is not valid SQL over `data`: {}",
        source.find_root()
    )]
    Sql {
        /// The table whose transform it is.
        table: String,
        /// DataFusion's error (its innermost cause is the message).
        source: DataFusionError,
    },
    /// The query is not one a transform may be.
    #[error("the transform of table `{table}` {reason}")]
    Shape {
        /// The table whose transform it is.
        table: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Evaluating it on a batch failed (a cast of a value, say).
    #[error("the transform of table `{table}` failed on a batch: {source}")]
    Eval {
        /// The table whose transform it is.
        table: String,
        /// What failed.
        source: DataFusionError,
    },
    /// A batch's output is not rows of that batch's records, one at most per record. Planning
    /// refuses every query that could do this; this is the last guard before the load.
    #[error(
        "the transform of table `{table}` {found}, so its rows are not the batch's records: \
         nothing was loaded (a transform is `SELECT <expressions> FROM data [WHERE <condition>]`)"
    )]
    NotTheRecords {
        /// The table whose transform it is.
        table: String,
        /// What the output was.
        found: String,
    },
}

/// Why `sql` cannot be the transform of `table` (passing `keys` through), whatever columns its
/// records turn out to have: what it reads, that it makes at most one row per record, the
/// columns it makes and passes. For the config check, before any request; a type error shows
/// only against real columns, so it is not reported here (`None`), but when a batch comes.
pub fn shape_problem(table: &str, sql: &str, keys: &[String]) -> Option<String> {
    let transform = Transform::new(table, sql, keys);
    // Planning awaits nothing (the one table is in memory): no runtime needed.
    match futures::executor::block_on(transform.check(&Schema::empty())) {
        Err(TransformError::Shape { reason, .. }) => Some(reason),
        _ => None,
    }
}

/// One table's transform, compiled for the batch schema it last saw.
pub struct Transform {
    table: String,
    sql: String,
    /// Columns that must pass through unchanged (a `merge` table's keys).
    keys: Vec<String>,
    compiled: Option<Compiled>,
}

/// A transform planned for one input schema.
struct Compiled {
    input: SchemaRef,
    /// The columns the expressions are bound to, by position: the input's and the missing ones.
    reads: SchemaRef,
    /// Columns the query names that no batch has had yet: given to it as nulls.
    missing: Vec<String>,
    filter: Option<Arc<dyn PhysicalExpr>>,
    outputs: Vec<Output>,
}

/// One output column.
struct Output {
    name: String,
    expr: Arc<dyn PhysicalExpr>,
    /// The input column it passes through unchanged, whose field (and dlt type) it keeps.
    passes: Option<usize>,
    /// Whether it reads only columns no record has had: then, like a field that is always
    /// null, it makes no column yet.
    only_missing: bool,
}

/// A batch after its transform, and the `_dlt_id`s of the rows it dropped (whose child rows
/// go with them).
pub struct Transformed {
    /// The rows kept, with the query's columns and the input's `_dlt_*` columns.
    pub batch: RecordBatch,
    /// `_dlt_id` of each row the query's `WHERE` dropped.
    pub dropped: HashSet<String>,
}

impl Transform {
    /// The transform `sql` of `table`, which must pass `keys` through unchanged.
    pub fn new(table: &str, sql: &str, keys: &[String]) -> Self {
        Self {
            table: table.to_string(),
            sql: sql.to_string(),
            keys: keys.to_vec(),
            compiled: None,
        }
    }

    /// Plans it against `schema` (a table's columns so far), for `dango validate`: the SQL
    /// error or shape problem, if any, else the columns it names that the schema lacks. The
    /// keys are in every batch of a `merge` table, whether `schema` has them yet or not (so
    /// that `SELECT *` passes them).
    pub async fn check(&self, schema: &Schema) -> Result<Vec<String>, TransformError> {
        let keys = self
            .keys
            .iter()
            .filter(|k| schema.field_with_name(k).is_err());
        let compiled = self
            .compile(&Arc::new(schema.clone()), keys.cloned().collect())
            .await?;
        Ok(compiled.missing)
    }

    /// Runs it on `batch`.
    pub async fn apply(&mut self, batch: &RecordBatch) -> Result<Transformed, TransformError> {
        let schema = batch.schema();
        let compiled = match self.compiled.take() {
            Some(compiled) if compiled.input == schema => compiled,
            _ => self.compile(&schema, Vec::new()).await?,
        };
        let out = compiled.run(&self.table, batch);
        self.compiled = Some(compiled);
        out
    }

    /// Plans the query over `input`, with columns `missing` (which it lacks) as nulls, and any
    /// other column the query names that `input` lacks: a field no record has had yet (as a
    /// field always null makes no column).
    async fn compile(
        &self,
        input: &SchemaRef,
        mut missing: Vec<String>,
    ) -> Result<Compiled, TransformError> {
        loop {
            let schema = with_null_columns(input, &missing);
            let ctx = SessionContext::new();
            let data: Arc<dyn TableProvider> = Arc::new(EmptyTable::new(schema));
            ctx.register_table(DATA, data.clone())
                .map_err(|e| self.sql_error(e))?;
            match ctx.state().create_logical_plan(&self.sql).await {
                Ok(plan) => {
                    if !missing.is_empty() {
                        tracing::debug!(table = %self.table, ?missing, "transform names columns no record had yet: nulls");
                    }
                    let compiled = self.physical(&ctx, &plan, &data, input.clone(), missing)?;
                    self.reads_data_once(&plan, &data)?;
                    return Ok(compiled);
                }
                Err(e) => match unknown_column(&e) {
                    Some(name) if !missing.contains(&name) => missing.push(name),
                    _ => return Err(self.sql_error(e)),
                },
            }
        }
    }

    fn sql_error(&self, source: DataFusionError) -> TransformError {
        TransformError::Sql {
            table: self.table.clone(),
            source,
        }
    }

    fn shape_error(&self, reason: impl Into<String>) -> TransformError {
        TransformError::Shape {
            table: self.table.clone(),
            reason: reason.into(),
        }
    }
}
