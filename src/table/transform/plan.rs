//! How a transform's SQL becomes a filter and projections evaluated on each batch, and the
//! rule that holds it to rows of `data`: a projection, at most one filter and one scan of
//! `data` itself, no subqueries, no other table.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, TableScan};
use datafusion::prelude::SessionContext;

use super::{Compiled, Output, Transform, TransformError};
use crate::normalize::naming::normalize_identifier;

impl Transform {
    /// Refuses a plan that, subqueries included, reads anything but `data`, or reads it more
    /// than once. (The shape [`Self::physical`] takes admits neither; this holds whatever
    /// expressions DataFusion's plans come to contain.)
    pub(super) fn reads_data_once(
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
        .map_err(|e| self.sql_error(e))?;
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
    pub(super) fn physical(
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
            .map_err(|e| self.sql_error(e))?;
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
                .map_err(|e| self.sql_error(e))?;
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
pub(super) fn unknown_column(e: &DataFusionError) -> Option<String> {
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
