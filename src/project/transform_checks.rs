//! Checks of a resource's SQL transforms: each is one query over `data`, keeps a record one
//! row and passes a `merge` key through, and `transforms:` names child tables of the resource.
//! They are here rather than beside `ResourceConfig` because they plan the query with the
//! transform stage (`table::transform`), which `source/` must not depend on.

use super::config::ResourceConfig;
use super::errors::Problem;
use crate::hints::WriteDisposition;
use crate::normalize::naming::normalize_path;

/// Transforms of `res` that are not one SQL query over `data` or cannot be one whatever its
/// records hold, and `transforms:` keys that name no child table; at paths under the resource.
pub fn transform_problems(res: &ResourceConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    let root = res.table();
    let own = res.transform.iter().map(|sql| (vec!["transform"], sql));
    let children = res
        .transforms
        .iter()
        .map(|(table, sql)| (vec!["transforms", table.as_str()], sql));
    for (path, sql) in own.chain(children) {
        if let Some(problem) = sql_problem(sql) {
            out.push(Problem::at(&path, problem).hint(
                "write one query over the table's rows, named `data`:                  `SELECT id, lower(email) AS email FROM data WHERE status <> 'test'`",
            ));
        } else if let Some(problem) = transform_shape_problem(res, &path, sql) {
            out.push(Problem::at(&path, problem));
        }
    }
    for table in res.transforms.keys() {
        let normalized = normalize_path(table);
        if !normalized.starts_with(&format!("{root}__")) {
            out.push(
                Problem::at(&["transforms", table], format!(
                    "names table `{normalized}`, which is not a child table of `{root}`"
                ))
                .hint(format!(
                    "key `transforms:` by child table, e.g. `{root}__items`; the table's own                      transform is `transform:`"
                )),
            );
        }
    }
    out
}

/// Why the transform `sql` at `path` (`transform` or `transforms.<table>`) of `res` cannot be
/// one, whatever its records hold: it reads something other than `data`, or makes more than
/// one row of a record, or does not pass a `merge` key through (planned, not string-matched).
fn transform_shape_problem(res: &ResourceConfig, path: &[&str], sql: &str) -> Option<String> {
    let (table, whose, keys) = match path {
        [_, child] => {
            let table = normalize_path(child);
            let whose = format!("table `{table}`");
            (table, whose, Vec::new())
        }
        _ => {
            let keys = match res.disposition() {
                WriteDisposition::Merge => res.keys().0,
                WriteDisposition::Append | WriteDisposition::Replace => Vec::new(),
            };
            (res.table(), format!("resource `{}`", res.name), keys)
        }
    };
    let reason = crate::table::transform::shape_problem(&table, sql, &keys)?;
    Some(format!("the transform of {whose} {reason}"))
}

/// Why `sql` is not one SQL query, if it is not.
fn sql_problem(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::{dialect::GenericDialect, parser::Parser};
    match Parser::parse_sql(&GenericDialect {}, sql) {
        Err(e) => Some(format!("is not valid SQL: {e}")),
        Ok(statements) => match statements.as_slice() {
            [datafusion::sql::sqlparser::ast::Statement::Query(_)] => None,
            [_] => Some("is not a query: a transform is one `SELECT ... FROM data`".into()),
            _ => Some(format!(
                "holds {} statements: a transform is one `SELECT ... FROM data`",
                statements.len()
            )),
        },
    }
}
