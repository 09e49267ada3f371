//! delete-insert, dlt's default strategy (and the root-table half of upsert): of a key repeated
//! in this load the latest record (or `dedup_sort`'s) stays, and it replaces every old row
//! sharing its primary or merge key, with their child rows.

use super::Merge;
use crate::hints::SortOrder;
use crate::hints::columns::{DLT_ID, DLT_ROOT_ID};
use crate::warehouse::commit::CommitError;
use crate::warehouse::sql::{ident, key_match};

/// Applies delete-insert to the resource's new rows.
pub(super) fn apply(m: &Merge<'_>) -> Result<(), CommitError> {
    let hints = &m.resource.hints;
    if !hints.primary_key.is_empty() && !m.resource.keys_unique && !hints.merge.deduplicated {
        drop_superseded(m)?;
    }
    let keys = [&hints.primary_key, &hints.merge_key];
    replace_old(m, &keys)?;
    if let Some(flagged) = m.flagged("s") {
        m.drop_new(&flagged)?;
    }
    Ok(())
}

/// Deletes every new root row, with its child rows, that another new row with the same primary
/// key supersedes: the latest, or the first by `dedup_sort` (ties: the latest). Only keys loaded
/// more than once are ranked, so a load without duplicates, the usual case, costs one grouping
/// of its keys, and memory follows the duplicates, not the load.
fn drop_superseded(m: &Merge<'_>) -> duckdb::Result<()> {
    let hints = &m.resource.hints;
    let root = m.root_table();
    let new_keys: Vec<String> = hints
        .primary_key
        .iter()
        .map(|k| format!("s.{}", ident(k)))
        .collect();
    let order = match &hints.merge.dedup_sort {
        Some((column, SortOrder::Desc)) => format!("s.{} DESC, ", ident(column)),
        Some((column, SortOrder::Asc)) => format!("s.{} ASC, ", ident(column)),
        None => String::new(),
    };
    let stale = m.temp("stale");
    let id = ident(DLT_ID);
    m.exec(&format!(
        "CREATE TEMP TABLE {stale} AS SELECT {id} FROM ( \
           SELECT s.{id}, row_number() OVER (PARTITION BY {sk} ORDER BY {order}s.rowid DESC) AS dango_rank \
           FROM {root} AS s \
           WHERE {new} AND EXISTS ( \
             SELECT 1 FROM (SELECT {sk} FROM {root} AS s WHERE {new} GROUP BY {sk} HAVING count(*) > 1) AS d \
             WHERE {matches})) \
         WHERE dango_rank > 1",
        sk = new_keys.join(", "),
        new = m.rows.of_this_load("s", true),
        matches = key_match("d", "s", &hints.primary_key),
    ))?;
    if m.count(&format!("SELECT count(*) FROM {stale}"))? > 0 {
        for table in &m.resource.tables {
            let link = match table.name == hints.table_name {
                true => DLT_ID,
                false => DLT_ROOT_ID,
            };
            m.exec(&format!(
                "DELETE FROM {t} WHERE {l} IN (SELECT {id} FROM {stale})",
                t = m.rows.table(&table.name),
                l = ident(link),
            ))?;
        }
    }
    m.exec(&format!("DROP TABLE {stale}"))
}

/// Deletes the old rows that new rows replace (matching on any of `keys` that is declared), and
/// their child rows, a slice of the new rows at a time. A table empty before this load (a
/// first sync, however big) has nothing to replace: that spares joins over every new key.
pub(super) fn replace_old(m: &Merge<'_>, keys: &[&Vec<String>]) -> duckdb::Result<()> {
    let matches: Vec<String> = keys
        .iter()
        .filter(|k| !k.is_empty())
        .map(|k| format!("({})", key_match("d", "s", k)))
        .collect();
    if matches.is_empty() || !m.rows.old_rows_exist(m.conn(), m.root())? {
        return Ok(());
    }
    let root = m.root_table();
    let (new, old) = (
        m.rows.of_this_load("s", true),
        m.rows.of_this_load("d", false),
    );
    let (gone, id) = (m.temp("gone"), ident(DLT_ID));
    // Child rows of older loads only: under upsert, new child rows have the same ids.
    let children: Vec<(String, String)> = m
        .linked_children()
        .into_iter()
        .map(|c| (m.rows.table(&c), m.old_child_rows(&c, "")))
        .collect();
    for (from, to) in m.row_slices("s", &new)? {
        m.exec(&format!(
            "CREATE TEMP TABLE {gone} AS SELECT d.{id} FROM {root} AS d WHERE {old} AND EXISTS ( \
               SELECT 1 FROM {root} AS s WHERE {new} AND s.rowid >= {from} AND s.rowid < {to} \
               AND ({m}))",
            m = matches.join(" OR "),
        ))?;
        for (child, old_rows) in &children {
            m.exec(&format!(
                "DELETE FROM {child} WHERE {old_rows} AND {rid} IN (SELECT {id} FROM {gone})",
                rid = ident(DLT_ROOT_ID),
            ))?;
        }
        m.exec(&format!(
            "DELETE FROM {root} WHERE {} AND {id} IN (SELECT {id} FROM {gone}); DROP TABLE {gone}",
            m.rows.of_this_load("", false)
        ))?;
    }
    Ok(())
}
