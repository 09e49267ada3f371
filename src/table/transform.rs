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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use arrow::compute::{CastOptions, cast_with_options, filter_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::empty::EmptyTable;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, TableScan};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

use super::families::dropped_ids;
use crate::hints::{DLT_TYPE_METADATA, DltType};
use crate::normalize::naming::normalize_identifier;

/// The name the query reads its table by.
pub const DATA: &str = "data";

/// Why a transform cannot run.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// The SQL does not parse or plan (DataFusion's message, with its position).
    #[error("the transform of table `{table}` is not valid SQL over `data`: {message}")]
    Sql {
        /// The table whose transform it is.
        table: String,
        /// DataFusion's message.
        message: String,
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
    #[error("the transform of table `{table}` failed on a batch: {message}")]
    Eval {
        /// The table whose transform it is.
        table: String,
        /// What failed.
        message: String,
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
                .map_err(|e| self.sql_error(&e))?;
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
                    _ => return Err(self.sql_error(&e)),
                },
            }
        }
    }

    fn sql_error(&self, e: &DataFusionError) -> TransformError {
        TransformError::Sql {
            table: self.table.clone(),
            message: e.find_root().to_string(),
        }
    }

    fn shape_error(&self, reason: impl Into<String>) -> TransformError {
        TransformError::Shape {
            table: self.table.clone(),
            reason: reason.into(),
        }
    }

    /// Refuses a plan that, subqueries included, reads anything but `data`, or reads it more
    /// than once. (The shape [`Self::physical`] takes admits neither; this holds whatever
    /// expressions DataFusion's plans come to contain.)
    fn reads_data_once(
        &self,
        plan: &LogicalPlan,
        data: &Arc<dyn TableProvider>,
    ) -> Result<(), TransformError> {
        let mut reads = 0;
        let mut other = None;
        plan.apply_with_subqueries(|node| {
            match node {
                LogicalPlan::TableScan(scan) if is_scan_of(scan, data) => reads += 1,
                LogicalPlan::TableScan(scan) => other = Some(format!("`{}`", scan.table_name)),
                LogicalPlan::Values(_) => other = Some("VALUES".to_string()),
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| self.sql_error(&e))?;
        match (other, reads) {
            (Some(other), _) => Err(self.shape_error(reads_other(&other))),
            (None, 0) => Err(self.shape_error(refused("does not read `data`"))),
            (None, 1) => Ok(()),
            (None, n) => Err(self.shape_error(refused(&format!(
                "reads `data` {n} times (a self-join or a subquery)"
            )))),
        }
    }

    /// The plan as a filter and projections evaluated on the input batch.
    fn physical(
        &self,
        ctx: &SessionContext,
        plan: &LogicalPlan,
        data: &Arc<dyn TableProvider>,
        input: SchemaRef,
        missing: Vec<String>,
    ) -> Result<Compiled, TransformError> {
        let LogicalPlan::Projection(projection) = plan else {
            return Err(self.shape_error(not_row_wise(plan)));
        };
        let (scan_schema, filter) = self.scan_and_filter(&projection.input, data)?;
        let reads = Arc::new(scan_schema.as_arrow().clone());
        let filter = filter
            .map(|predicate| ctx.create_physical_expr(predicate, &scan_schema))
            .transpose()
            .map_err(|e| self.sql_error(&e))?;
        let mut outputs = Vec::new();
        let mut names = BTreeSet::new();
        // Output columns that are their input column, unchanged and under the same name.
        let mut unchanged = BTreeSet::new();
        for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
            if has_subquery(expr) {
                return Err(self.shape_error(not_row_wise(plan)));
            }
            let name = normalize_identifier(field.name());
            if !names.insert(name.clone()) {
                return Err(self.shape_error(format!(
                    "makes column `{name}` twice: give each output column its own name"
                )));
            }
            // The input column it passes on, by name and by index (missing ones included).
            let passed = passed_column(expr);
            let passes = passed.and_then(|c| scan_schema.index_of_column(c).ok());
            let passes_itself = passed.is_some_and(|c| c.name == name);
            if name.starts_with("_dlt_") && !passes_itself {
                return Err(self.shape_error(format!(
                    "makes column `{name}`: names starting with `_dlt_` are dlt's bookkeeping, \
                     which the transform passes on by itself; choose another name"
                )));
            }
            let refs = expr.column_refs();
            let only_missing = !refs.is_empty() && refs.iter().all(|c| missing.contains(&c.name));
            let expr = ctx
                .create_physical_expr(expr.clone(), &scan_schema)
                .map_err(|e| self.sql_error(&e))?;
            if passes_itself {
                unchanged.insert(name.clone());
            }
            outputs.push(Output {
                name,
                expr,
                passes,
                only_missing,
            });
        }
        for key in &self.keys {
            if !unchanged.contains(key) {
                return Err(self.shape_error(format!(
                    "must pass primary-key column `{key}` through unchanged (`SELECT {key}, ... \
                     FROM data`): `merge` finds a record's existing row by it"
                )));
            }
        }
        Ok(Compiled {
            input,
            reads,
            missing,
            filter,
            outputs,
        })
    }

    /// Below the projection: the scan of `data` (perhaps aliased) and at most one `WHERE`.
    fn scan_and_filter(
        &self,
        plan: &LogicalPlan,
        data: &Arc<dyn TableProvider>,
    ) -> Result<(datafusion::common::DFSchema, Option<Expr>), TransformError> {
        let scan_of_data = |scan: &TableScan| match is_scan_of(scan, data) {
            true => Ok((plan.schema().as_ref().clone(), None)),
            false => Err(self.shape_error(reads_other(&format!("`{}`", scan.table_name)))),
        };
        match plan {
            LogicalPlan::TableScan(scan) => scan_of_data(scan),
            LogicalPlan::SubqueryAlias(alias) => match alias.input.as_ref() {
                LogicalPlan::TableScan(scan) => scan_of_data(scan),
                other => Err(self.shape_error(not_row_wise(other))),
            },
            LogicalPlan::Filter(filter) => {
                if has_subquery(&filter.predicate) {
                    return Err(self.shape_error(not_row_wise(plan)));
                }
                let (schema, below) = self.scan_and_filter(&filter.input, data)?;
                match below {
                    None => Ok((schema, Some(filter.predicate.clone()))),
                    Some(_) => Err(self.shape_error(not_row_wise(plan))),
                }
            }
            other => Err(self.shape_error(not_row_wise(other))),
        }
    }
}

impl Compiled {
    /// Runs it on `batch`, the transform of `table`: its output must be rows of the batch's
    /// records, which the checks here hold to whatever the plan was.
    fn run(&self, table: &str, batch: &RecordBatch) -> Result<Transformed, TransformError> {
        let eval = |e: DataFusionError| TransformError::Eval {
            table: table.to_string(),
            message: e.to_string(),
        };
        let batch = add_null_columns(batch, &self.missing).map_err(eval)?;
        if !same_columns(&batch.schema(), &self.reads) {
            return Err(TransformError::NotTheRecords {
                table: table.to_string(),
                found: format!(
                    "was planned over columns ({}) that are not the batch's ({})",
                    column_list(&self.reads),
                    column_list(&batch.schema())
                ),
            });
        }
        let Evaluated {
            fields,
            arrays,
            kept,
            dropped,
        } = self.evaluate(batch.clone()).map_err(eval)?;
        if let Some(made) = arrays.iter().map(|a| a.len()).find(|&n| n != kept) {
            let records = batch.num_rows();
            let filtered = match kept == records {
                true => String::new(),
                false => format!(", of which its `WHERE` kept {kept}"),
            };
            return Err(TransformError::NotTheRecords {
                table: table.to_string(),
                found: format!("made {made} rows from {records} records{filtered}"),
            });
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| eval(e.into()))?;
        Ok(Transformed { batch, dropped })
    }

    /// The filter and the projections, evaluated on `batch` (with its missing columns): the
    /// output columns, and the rows the filter kept and the `_dlt_id`s of those it dropped.
    fn evaluate(&self, batch: RecordBatch) -> Result<Evaluated, DataFusionError> {
        let (kept, dropped) = match &self.filter {
            None => (batch, HashSet::new()),
            Some(predicate) => {
                let mask = predicate.evaluate(&batch)?.into_array(batch.num_rows())?;
                let mask = mask.as_boolean();
                let dropped = dropped_ids(&batch, mask);
                // SQL's WHERE keeps a row only where the predicate is true; so does the filter,
                // which treats null as false.
                (filter_record_batch(&batch, mask)?, dropped)
            }
        };
        let rows = kept.num_rows();
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for output in self.outputs.iter().filter(|o| !o.only_missing) {
            let array = output.expr.evaluate(&kept)?.into_array(rows)?;
            if let Some(i) = output.passes {
                let field = kept.schema().field(i).clone().with_name(&output.name);
                fields.push(field);
                arrays.push(array);
                continue;
            }
            if array.data_type() == &DataType::Null {
                continue;
            }
            let (field, array) = to_warehouse(&output.name, array)?;
            fields.push(field);
            arrays.push(array);
        }
        // dlt's bookkeeping follows each row whatever the query selected.
        for (i, field) in kept.schema().fields().iter().enumerate() {
            if field.name().starts_with("_dlt_") && !fields.iter().any(|f| f.name() == field.name())
            {
                fields.push(field.as_ref().clone());
                arrays.push(kept.column(i).clone());
            }
        }
        Ok(Evaluated {
            fields,
            arrays,
            kept: rows,
            dropped,
        })
    }
}

/// A batch's output columns before they become a batch.
struct Evaluated {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
    /// Rows the filter kept: each output column must have as many.
    kept: usize,
    dropped: HashSet<String>,
}

/// Whether `a` and `b` have the same columns (names and types), in the same order.
fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields()
            .iter()
            .zip(b.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
}

/// `schema`'s column names, for a message.
fn column_list(schema: &Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.join(", ")
}

/// Whether `scan` reads the table provider `data` (not a table function, not another table).
fn is_scan_of(scan: &TableScan, data: &Arc<dyn TableProvider>) -> bool {
    source_as_provider(&scan.source).is_ok_and(|provider| Arc::ptr_eq(&provider, data))
}

/// The column an output expression passes through unchanged, if it is one (perhaps renamed).
fn passed_column(expr: &Expr) -> Option<&datafusion::common::Column> {
    match expr {
        Expr::Alias(alias) => passed_column(&alias.expr),
        Expr::Column(c) => Some(c),
        _ => None,
    }
}

fn has_subquery(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(matches!(
            e,
            Expr::ScalarSubquery(_)
                | Expr::InSubquery(_)
                | Expr::Exists(_)
                | Expr::SetComparison(_)
        ))
    })
    .unwrap_or(true)
}

/// Why a plan is not a transform, and what one looks like.
fn not_row_wise(plan: &LogicalPlan) -> String {
    let found = match plan {
        LogicalPlan::EmptyRelation(_) => return refused("does not read `data`"),
        LogicalPlan::Values(_) => return reads_other("VALUES"),
        LogicalPlan::Aggregate(_) => "an aggregate (GROUP BY, count, sum, ...)",
        LogicalPlan::Window(_) => "a window function",
        LogicalPlan::Join(_) => "a join",
        LogicalPlan::Sort(_) => "ORDER BY",
        LogicalPlan::Limit(_) => "LIMIT",
        LogicalPlan::Distinct(_) => "DISTINCT",
        LogicalPlan::Union(_) => "UNION",
        LogicalPlan::Unnest(_) => "UNNEST",
        LogicalPlan::Filter(_) | LogicalPlan::Projection(_) => "a subquery",
        _ => "more than a SELECT over `data`",
    };
    refused(&format!("uses {found}"))
}

/// The reason for reading `what` (a table function, say) instead of `data`.
fn reads_other(what: &str) -> String {
    refused(&format!("reads {what} instead of `data`"))
}

/// `found`, why a transform cannot do it, and what one looks like.
fn refused(found: &str) -> String {
    format!(
        "{found}, which a transform cannot: it keeps or drops each record of `data` and computes \
         its columns (`SELECT <expressions> FROM data [WHERE <condition>]`), so that every row it \
         loads comes from one record and the record's `_dlt_id` and child rows follow it"
    )
}

/// The column DataFusion could not find, if that is the error.
fn unknown_column(e: &DataFusionError) -> Option<String> {
    match e.find_root() {
        DataFusionError::SchemaError(err, _) => match err.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { field, .. } => {
                Some(field.name.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

/// `schema` with Null-typed columns `missing` added.
fn with_null_columns(schema: &SchemaRef, missing: &[String]) -> SchemaRef {
    if missing.is_empty() {
        return schema.clone();
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(missing.iter().map(|m| Field::new(m, DataType::Null, true)));
    Arc::new(Schema::new(fields))
}

/// `batch` with all-null columns `missing` added.
fn add_null_columns(
    batch: &RecordBatch,
    missing: &[String],
) -> Result<RecordBatch, DataFusionError> {
    if missing.is_empty() {
        return Ok(batch.clone());
    }
    let schema = with_null_columns(&batch.schema(), missing);
    let mut arrays = batch.columns().to_vec();
    arrays.extend(
        missing
            .iter()
            .map(|_| new_null_array(&DataType::Null, batch.num_rows())),
    );
    Ok(RecordBatch::try_new(schema, arrays)?)
}

/// A computed column as the warehouse takes it: its Arrow type cast to the one of its dlt type,
/// and the field naming that type.
fn to_warehouse(name: &str, array: ArrayRef) -> Result<(Field, ArrayRef), DataFusionError> {
    let ty = warehouse_type(array.data_type()).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "column `{name}` has type {}, which no warehouse column holds: cast it, e.g. \
             `CAST(... AS VARCHAR)`",
            array.data_type()
        ))
    })?;
    let target = ty.arrow_type();
    let array = match array.data_type() == &target {
        true => array,
        false => cast_with_options(&array, &target, &CastOptions::default())?,
    };
    let field = Field::new(name, target, true).with_metadata(HashMap::from([(
        DLT_TYPE_METADATA.to_string(),
        ty.key().into_owned(),
    )]));
    Ok((field, array))
}

/// The dlt type a computed Arrow column lands as.
fn warehouse_type(ty: &DataType) -> Option<DltType> {
    use arrow::datatypes::TimeUnit;
    Some(match ty {
        DataType::Boolean => DltType::Bool,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DltType::BigInt,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => DltType::BigInt,
        DataType::UInt64 => DltType::Wei,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DltType::Double,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DltType::Text,
        DataType::Timestamp(_, Some(_)) => DltType::Timestamp,
        DataType::Timestamp(unit, None) => DltType::NaiveTimestamp(match unit {
            TimeUnit::Second => 0,
            TimeUnit::Millisecond => 3,
            TimeUnit::Microsecond => 6,
            TimeUnit::Nanosecond => 9,
        }),
        DataType::Date32 | DataType::Date64 => DltType::Date,
        DataType::Time32(_) | DataType::Time64(_) => DltType::Time,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DltType::Binary,
        DataType::Decimal128(38, 0) | DataType::Decimal256(38, 0) => DltType::Wei,
        DataType::Decimal128(38, 9) => DltType::Decimal,
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *p <= 38 && *s >= 0 => {
            DltType::Numeric(*p, *s as u8)
        }
        DataType::Decimal256(..) => DltType::Decimal,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// Orders as the builder makes them: `id`, `email`, `total`, `status`, and dlt's columns.
    fn orders() -> RecordBatch {
        let text = |n: &str| Field::new(n, DataType::Utf8, true);
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            text("email"),
            Field::new("total", DataType::Int64, true),
            text("status"),
            text("_dlt_load_id"),
            text("_dlt_id"),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["A@X.COM", "b@y.org", "C@z.net"])),
            Arc::new(Int64Array::from(vec![10, 20, 30])),
            Arc::new(StringArray::from(vec![Some("paid"), Some("test"), None])),
            Arc::new(StringArray::from(vec!["1.0"; 3])),
            Arc::new(StringArray::from(vec!["r1", "r2", "r3"])),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    fn names(batch: &RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[tokio::test]
    async fn filters_computes_and_keeps_dlt_columns() {
        let sql = "SELECT id, lower(email) AS email, total * 100 AS total_cents FROM data \
                   WHERE status <> 'test'";
        let mut t = Transform::new("orders", sql, &["id".to_string()]);
        let out = t.apply(&orders()).await.unwrap();
        assert_eq!(
            names(&out.batch),
            ["id", "email", "total_cents", "_dlt_load_id", "_dlt_id"]
        );
        // A NULL status is not `<> 'test'`: SQL keeps only rows where the condition is true.
        let mut dropped: Vec<_> = out.dropped.into_iter().collect();
        dropped.sort();
        assert_eq!(dropped, ["r2", "r3"]);
        let email = out.batch.column(1).as_string::<i32>();
        assert_eq!(email.value(0), "a@x.com");
        let field = out.batch.schema().field(2).clone();
        assert_eq!(field.data_type(), &DataType::Int64);
        assert_eq!(field.metadata()[DLT_TYPE_METADATA], "bigint");
    }

    #[tokio::test]
    async fn star_columns_no_record_had_and_a_new_schema() {
        let mut t = Transform::new("orders", "SELECT *, upper(coupon) AS code FROM data", &[]);
        let out = t.apply(&orders()).await.unwrap();
        // `coupon` is in no batch yet: NULL, and a column of nulls only is not made.
        assert_eq!(
            names(&out.batch),
            ["id", "email", "total", "status", "_dlt_load_id", "_dlt_id"]
        );
        let narrower = orders().project(&[0, 1, 4, 5]).unwrap();
        let out = t.apply(&narrower).await.unwrap();
        assert_eq!(
            names(&out.batch),
            ["id", "email", "_dlt_load_id", "_dlt_id"]
        );
    }

    #[tokio::test]
    async fn queries_that_are_not_row_wise_and_lost_keys_are_refused() {
        for (sql, found) in [
            (
                "SELECT status, count(*) AS n FROM data GROUP BY status",
                "an aggregate",
            ),
            ("SELECT id FROM data ORDER BY id", "ORDER BY"),
            ("SELECT id FROM data LIMIT 1", "LIMIT"),
            ("SELECT DISTINCT id FROM data", "DISTINCT"),
            (
                "SELECT id FROM data WHERE id IN (SELECT id FROM data)",
                "subquery",
            ),
        ] {
            let err = refusal(sql).await;
            assert!(err.contains(found), "{sql}: {err}");
        }
        for (sql, says) in [
            (
                "SELECT id + 1 AS id FROM data",
                "primary-key column `id` through unchanged",
            ),
            ("SELEC id FROM data", "not valid SQL"),
            ("SELECT id, 'x' AS _dlt_id FROM data", "`_dlt_`"),
        ] {
            let err = refusal(sql).await;
            assert!(err.contains(says), "{sql}: {err}");
        }
    }

    #[tokio::test]
    async fn a_schema_without_the_columns_yet_still_plans() {
        // `dango validate` before the first sync: no column is known.
        let sql = "SELECT id, lower(order_number) AS r FROM data WHERE status <> 'x'";
        let t = Transform::new("orders", sql, &["id".to_string()]);
        let missing = t.check(&Schema::empty()).await.unwrap();
        assert_eq!(
            missing,
            ["id", "status", "order_number"],
            "the key first, then as DataFusion meets them"
        );
        let t = Transform::new("orders", "SELECT _dlt_id FROM data", &[]);
        assert!(t.check(&Schema::empty()).await.is_ok());
        // A merge table's key is in every batch, so `*` passes it even before the first sync.
        let t = Transform::new("orders", "SELECT * FROM data", &["id".to_string()]);
        assert!(t.check(&Schema::empty()).await.is_ok());
    }

    #[tokio::test]
    async fn queries_that_do_not_read_data_once_are_refused() {
        for (sql, found) in [
            (
                "SELECT value AS id FROM generate_series(1, 3)",
                "reads `generate_series()` instead of `data`",
            ),
            (
                "SELECT value AS id FROM range(3) AS data",
                "reads `range()` instead of `data`",
            ),
            (
                "SELECT column1 AS id FROM (VALUES (1), (2))",
                "reads VALUES instead of `data`",
            ),
            ("SELECT 1 AS id", "does not read `data`"),
            (
                "SELECT d.id FROM data d JOIN data e ON d.id = e.id",
                "uses a join",
            ),
            ("SELECT id FROM data, generate_series(1, 3)", "uses a join"),
            (
                "SELECT id FROM data UNION ALL SELECT id FROM data",
                "uses UNION",
            ),
            (
                "WITH data AS (SELECT value AS id FROM generate_series(1, 3)) SELECT id FROM data",
                "uses a subquery",
            ),
            (
                "SELECT id, (SELECT max(value) FROM range(3)) AS m FROM data",
                "uses a subquery",
            ),
            (
                "SELECT id, sum(total) OVER () AS s FROM data",
                "uses a window function",
            ),
        ] {
            let err = refusal(sql).await;
            assert!(err.contains(found), "{sql}: {err}");
            assert!(
                err.contains("SELECT <expressions> FROM data"),
                "{sql}: {err}"
            );
        }
        // A row per element of a list column.
        let tags = Field::new_list("tags", Field::new_list_field(DataType::Utf8, true), true);
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true), tags]);
        let sql = "SELECT id, unnest(tags) AS tag FROM data";
        let err = Transform::new("orders", sql, &[]).check(&schema).await;
        let err = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("uses UNNEST"), "{err}");
    }

    #[tokio::test]
    async fn an_aliased_data_scan_still_filters_and_computes() {
        let sql = "SELECT o.id, o.total * 2 AS doubled FROM data AS o WHERE o.total > 10";
        let mut t = Transform::new("orders", sql, &["id".to_string()]);
        let out = t.apply(&orders()).await.unwrap();
        assert_eq!(
            names(&out.batch),
            ["id", "doubled", "_dlt_load_id", "_dlt_id"]
        );
        let doubled = out
            .batch
            .column(1)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(doubled.values().to_vec(), [40, 60]);
        assert_eq!(out.dropped, HashSet::from(["r1".to_string()]));
    }

    #[test]
    fn the_config_check_reports_shapes_but_not_types() {
        let key = ["id".to_string()];
        let reason = shape_problem(
            "orders",
            "SELECT value AS id FROM generate_series(1, 3)",
            &[],
        );
        assert!(
            reason
                .as_deref()
                .unwrap_or_default()
                .contains("generate_series()"),
            "{reason:?}"
        );
        let reason = shape_problem("orders", "SELECT id + 1 AS id FROM data", &key);
        assert!(
            reason
                .as_deref()
                .unwrap_or_default()
                .contains("`id` through unchanged"),
            "{reason:?}"
        );
        for fine in [
            "SELECT * FROM data",
            "SELECT id, lower(email) AS email FROM data WHERE status <> 'test'",
            // Not valid over real columns, perhaps, but only a batch can tell.
            "SELECT id, email + 1 AS x FROM data",
        ] {
            assert_eq!(shape_problem("orders", fine, &key), None, "{fine}");
        }
    }

    #[tokio::test]
    async fn a_batch_the_plan_was_not_made_for_is_refused() {
        let t = Transform::new("orders", "SELECT id, email FROM data", &[]);
        let compiled = t.compile(&orders().schema(), Vec::new()).await.unwrap();
        // Same number of columns, others in their places: positions would read the wrong ones.
        let swapped = orders().project(&[1, 0, 2, 3, 4, 5]).unwrap();
        let err = compiled
            .run("orders", &swapped)
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("are not the batch's"), "{err}");
        assert!(err.contains("nothing was loaded"), "{err}");
        assert!(compiled.run("orders", &orders()).is_ok());
    }

    #[tokio::test]
    async fn more_rows_than_the_batch_has_records_are_refused() {
        let t = Transform::new("orders", "SELECT id FROM data WHERE total > 10", &[]);
        let mut compiled = t.compile(&orders().schema(), Vec::new()).await.unwrap();
        compiled.outputs[0].expr = Arc::new(Rows(5));
        let err = compiled
            .run("orders", &orders())
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.contains("made 5 rows from 3 records, of which its `WHERE` kept 2"),
            "{err}"
        );
    }

    /// An expression that makes a column of a fixed number of rows, whatever the batch.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct Rows(usize);

    impl std::fmt::Display for Rows {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "rows({})", self.0)
        }
    }

    impl PhysicalExpr for Rows {
        fn data_type(&self, _: &Schema) -> datafusion::error::Result<DataType> {
            Ok(DataType::Int64)
        }

        fn nullable(&self, _: &Schema) -> datafusion::error::Result<bool> {
            Ok(false)
        }

        fn evaluate(
            &self,
            _: &RecordBatch,
        ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
            let column = Int64Array::from(vec![0; self.0]);
            Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
                column,
            )))
        }

        fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
            Vec::new()
        }

        fn with_new_children(
            self: Arc<Self>,
            _: Vec<Arc<dyn PhysicalExpr>>,
        ) -> datafusion::error::Result<Arc<dyn PhysicalExpr>> {
            Ok(self)
        }

        fn fmt_sql(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            std::fmt::Display::fmt(self, f)
        }
    }

    /// Why the orders' transform `sql` (keeping key `id`) does not run.
    async fn refusal(sql: &str) -> String {
        let run = Transform::new("orders", sql, &["id".to_string()])
            .apply(&orders())
            .await;
        run.err().map(|e| e.to_string()).unwrap_or_default()
    }
}
