//! The tables and datasets sources load into: never one DuckDB, dlt or Dango keeps for itself,
//! and never one that two resources load by accident. Resources share a table only when each of
//! them names it in `table_name` (as dlt allows), and then they must agree on how rows apply.

use std::collections::BTreeMap;

use super::config::{ResourceConfig, SourceConfig, SourceSpec, dataset};
use super::errors::{FieldSeg, Problem};
use super::loader::ParsedResource;

/// Table-name prefixes of dlt's and Dango's own tables (`_dlt_loads`, `_dango_cursors`, ...).
const RESERVED_TABLE_PREFIXES: [&str; 2] = ["_dlt_", "_dango_"];

/// Schemas a dataset must not be, as DuckDB 1.5 treats them (tried on a warehouse file):
/// `information_schema` and `pg_catalog` take no tables; `temp`, `system` and `warehouse` (the
/// catalog name of `data/warehouse.duckdb`), and `lake` and `memory` (the catalogs of a DuckLake
/// warehouse's connection) are also catalog names, so every query of `"temp"."t"` is ambiguous;
/// `main` loads, but a full refresh cannot drop it.
const RESERVED_DATASETS: [&str; 8] = [
    "main",
    "information_schema",
    "pg_catalog",
    "temp",
    "system",
    "warehouse",
    "lake",
    "memory",
];

/// The field that names a resource's table: `table_name` if written, else `name`.
fn table_field(res: &ResourceConfig) -> &'static str {
    if res.table_name.is_some() {
        "table_name"
    } else {
        "name"
    }
}

/// A dataset name DuckDB uses for its own catalogs and schemas, at a path under source `name`
/// (whose `dataset_name` is `dataset_name`).
pub fn dataset_problem(name: &str, dataset_name: Option<&str>) -> Option<Problem> {
    let dataset = dataset(name, Some(dataset_name?));
    RESERVED_DATASETS.contains(&dataset.as_str()).then(|| {
        Problem::at(
            &["dataset_name"],
            format!(
                "`{dataset}` is a name DuckDB uses for its own catalogs and schemas, so it cannot \
                 be a dataset"
            ),
        )
        .hint(format!(
            "choose a name of your own, e.g. `dataset_name: {}`, or leave it out for `raw_{}`",
            name, name
        ))
    })
}

/// Reserved table names and tables two resources of one source load, at paths under its
/// `resources:`. Resources with `selected: false` load no table and are left out.
pub fn table_problems(resources: &[ParsedResource]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut by_table: BTreeMap<String, Vec<&ParsedResource>> = BTreeMap::new();
    for res in resources.iter().filter(|r| r.config.selected) {
        let table = res.config.table();
        if let Some(prefix) = RESERVED_TABLE_PREFIXES
            .iter()
            .find(|p| table.starts_with(**p))
        {
            let at = [FieldSeg::Index(res.index)];
            out.push(
                Problem::at(
                    &[table_field(&res.config)],
                    format!(
                        "loads table `{table}`, but names starting with `{prefix}` belong to \
                         dlt's and Dango's own tables"
                    ),
                )
                .hint("choose another `table_name`")
                .under(&at),
            );
        }
        by_table.entry(table).or_default().push(res);
    }
    for (table, group) in by_table {
        let Some((first, others)) = group.split_first() else {
            continue;
        };
        let on_purpose = group.iter().all(|r| r.config.table_name.is_some());
        for other in others {
            let problem = if on_purpose {
                disagreement(first, other, &table)
            } else {
                Some(
                    Problem::at(
                        &[table_field(&other.config)],
                        format!(
                            "resources `{}` and `{}` both load table `{table}` (table names are \
                             normalised to snake_case), so their rows would mix in one table",
                            first.config.name, other.config.name
                        ),
                    )
                    .hint(format!(
                        "give one of them its own `table_name`; to share the table on purpose, \
                         set `table_name: {table}` on both"
                    )),
                )
            };
            out.extend(problem.map(|p| p.under(&[FieldSeg::Index(other.index)])));
        }
    }
    out
}

/// How two resources sharing a table on purpose disagree, if they do.
fn disagreement(first: &ParsedResource, other: &ParsedResource, table: &str) -> Option<Problem> {
    let (a, b) = (&first.config, &other.config);
    let (a_pk, a_mk) = a.keys();
    let (b_pk, b_mk) = b.keys();
    let (a_wd, b_wd) = (a.disposition(), b.disposition());
    let (a_merge, b_merge) = (a.merge_hints(), b.merge_hints());
    let what = if a_wd != b_wd {
        format!("write_disposition ({b_wd} here, {a_wd} there)")
    } else if a_merge != b_merge {
        format!(
            "merge strategy or hints ({} here, {} there)",
            b_merge.strategy.as_str(),
            a_merge.strategy.as_str()
        )
    } else if a_pk != b_pk {
        format!(
            "primary_key ([{}] here, [{}] there)",
            b_pk.join(", "),
            a_pk.join(", ")
        )
    } else if a_mk != b_mk {
        format!(
            "merge_key ([{}] here, [{}] there)",
            b_mk.join(", "),
            a_mk.join(", ")
        )
    } else {
        return None;
    };
    Some(
        Problem::at(
            &["table_name"],
            format!(
                "shares table `{table}` with resource `{}`, but they differ in {what}",
                a.name
            ),
        )
        .hint(
            "resources sharing a table must agree on write_disposition, primary_key and merge_key",
        ),
    )
}

/// Tables that two sources load into one dataset, as (position in `sources`, problem at a path
/// under that source). Each source commits in its own transaction, so neither would see the
/// other's rows: a merge would keep duplicates. Only enabled sources count: a disabled one
/// loads nothing.
pub fn shared_tables(sources: &[(&SourceConfig, &[ParsedResource])]) -> Vec<(usize, Problem)> {
    let mut out = Vec::new();
    let mut owners: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (i, (source, resources)) in sources.iter().enumerate() {
        if !source.enabled || !matches!(source.spec, SourceSpec::RestApi(_)) {
            continue;
        }
        let dataset = source.dataset();
        for res in resources.iter().filter(|r| r.config.selected) {
            let key = (dataset.clone(), res.config.table());
            let Some(owner) = owners.get(&key).copied() else {
                owners.insert(key, &source.name);
                continue;
            };
            if owner == source.name {
                continue; // within one source: `table_problems` decides.
            }
            let path = [
                FieldSeg::Key("rest_api".into()),
                FieldSeg::Key("resources".into()),
                FieldSeg::Index(res.index),
            ];
            let problem = Problem::at(
                &[table_field(&res.config)],
                format!(
                    "sources `{owner}` and `{}` both load table `{}.{}`; each source commits on \
                     its own, so a merge in one would not see the other's rows",
                    source.name, key.0, key.1
                ),
            )
            .hint("give one of the sources its own `dataset_name`, or the resource another `table_name`")
            .under(&path);
            out.push((i, problem));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::errors::render_path;
    use serde_json::json;

    #[test]
    fn names_that_normalise_alike_collide() {
        let found = table_problems(&ParsedResource::all_of(vec![
            json!({"name": "userData"}),
            json!({"name": "user_data"}),
            json!({"name": "äö"}),
            json!({"name": "ü"}),
        ]));
        let at: Vec<String> = found.iter().map(|p| render_path(&p.path)).collect();
        assert_eq!(at, ["[1].name", "[3].name"]);
        assert!(found[0].message.contains("`userData` and `user_data`"));
        assert!(found[0].message.contains("table `user_data`"));
        assert!(
            found[1]
                .message
                .contains("`äö` and `ü` both load table `x`")
        );
    }

    #[test]
    fn an_explicit_shared_table_is_accepted_when_the_resources_agree() {
        let agree = ParsedResource::all_of(vec![
            json!({"name": "a", "table_name": "people"}),
            json!({"name": "b", "table_name": "People"}),
        ]);
        assert!(table_problems(&agree).is_empty());
        let differ = ParsedResource::all_of(vec![
            json!({"name": "a", "table_name": "people"}),
            json!({"name": "b", "table_name": "people", "primary_key": "uid"}),
        ]);
        let found = table_problems(&differ);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(render_path(&found[0].path), "[1].table_name");
        assert!(
            found[0]
                .message
                .contains("primary_key ([uid] here, [id] there)")
        );
    }

    #[test]
    fn reserved_tables_and_unselected_resources() {
        let found = table_problems(&ParsedResource::all_of(vec![
            json!({"name": "a", "table_name": "_dango_cursors"}),
            json!({"name": "_dlt_loads"}),
            json!({"name": "_dlt_version", "selected": false}),
        ]));
        let at: Vec<String> = found.iter().map(|p| render_path(&p.path)).collect();
        assert_eq!(at, ["[0].table_name", "[1].name"]);
    }
}
