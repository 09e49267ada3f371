//! upsert and insert-only, whose root ids are hashes of the primary key (as dlt makes them):
//! a key's new rows and child rows carry the ids its old ones have, so the chunk's child rows
//! are told from older ones by `rowid` (see `Load::new_rows`).
//!
//! dlt loads a key repeated in one load twice under these strategies ("expects the primary
//! key to be unique"). Dango keeps one row when the copies are identical (a record an offset
//! paginator served twice), and refuses the load when they differ: which one is current cannot
//! be known, and two rows for one key is what upsert exists to prevent.

use super::Merge;
use super::delete_insert::replace_old;
use crate::hints::columns::{DLT_ID, DLT_LOAD_ID, DLT_ROOT_ID};
use crate::warehouse::commit::CommitError;
use crate::warehouse::sql::{ident, key_match, literal};

/// Applies upsert: a new key's record is inserted, an old key's replaces its row and child rows;
/// a flagged record deletes its key.
pub(super) fn upsert(m: &Merge<'_>) -> Result<(), CommitError> {
    if !m.resource.keys_unique {
        keep_one_of_identical(m)?;
    }
    replace_old(m, &[&m.resource.hints.primary_key])?;
    if let Some(flagged) = m.flagged("s") {
        m.drop_new(&flagged)?;
    }
    Ok(())
}

/// Applies insert-only: records of keys the table holds are dropped with their child rows, as
/// are flagged records; the rest are inserted.
pub(super) fn insert_only(m: &Merge<'_>) -> Result<(), CommitError> {
    if !m.resource.keys_unique {
        keep_one_of_identical(m)?;
    }
    if let Some(flagged) = m.flagged("s") {
        m.drop_new(&flagged)?;
    }
    if m.rows.old_rows_exist(m.conn(), m.root())? {
        let present = format!(
            "EXISTS (SELECT 1 FROM {root} AS d WHERE {old} AND {matches})",
            root = m.root_table(),
            old = m.rows.of_this_load("d", false),
            matches = key_match("d", "s", &m.resource.hints.primary_key),
        );
        m.drop_new(&present)?;
    }
    Ok(())
}

/// Of a key repeated in this chunk keeps one row (and one set of child rows) if its records were
/// identical; refuses the commit, naming the key, if they differ.
fn keep_one_of_identical(m: &Merge<'_>) -> Result<(), CommitError> {
    let hints = &m.resource.hints;
    let root = m.root_table();
    let new = m.rows.of_this_load("", true);
    let keys: Vec<String> = hints.primary_key.iter().map(|k| ident(k)).collect();
    let shown: Vec<String> = hints
        .primary_key
        .iter()
        .map(|k| {
            format!(
                "{} || CAST({} AS VARCHAR)",
                literal(&format!("`{k}` = ")),
                ident(k)
            )
        })
        .collect();
    let keys = keys.join(", ");
    // Distinct rows per key: more than one means the records differ.
    let differing: Option<String> = m
        .conn()
        .query_row(
            &format!(
                "SELECT concat_ws(', ', {shown}) FROM (SELECT DISTINCT * EXCLUDE ({load}) FROM {root} \
                 WHERE {new}) GROUP BY {keys} HAVING count(*) > 1 LIMIT 1",
                load = ident(DLT_LOAD_ID),
                shown = shown.join(", "),
            ),
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if let Some(key) = differing {
        return Err(repeated(m, key));
    }
    let id = ident(DLT_ID);
    for child in m.linked_children() {
        let c = m.rows.table(&child);
        let Some(mark) = m.load.mark(&child) else {
            continue;
        };
        let fresh = format!("rowid > {mark}");
        // Each copy of a record brings every child row once, with the same ids: a child row
        // seen a different number of times than its record, or with different values, belongs
        // to copies that differ.
        let odd: Option<String> = m.conn().query_row(
            &format!(
                "WITH copies AS (SELECT {id}, count(*) AS n FROM {root} WHERE {new} GROUP BY {id} \
                 HAVING count(*) > 1), \
                 seen AS (SELECT c.{id}, any_value(c.{rid}) AS rid, count(*) AS n, \
                   count(DISTINCT c) AS variants FROM {c} AS c WHERE c.{fresh} GROUP BY c.{id}) \
                 SELECT min(copies.{id}) FROM seen JOIN copies ON seen.rid = copies.{id} \
                 WHERE seen.n <> copies.n OR seen.variants > 1",
                rid = ident(DLT_ROOT_ID),
            ),
            [],
            |r| r.get(0),
        )?;
        if let Some(root_id) = odd {
            let key: String = m.conn().query_row(
                &format!(
                    "SELECT concat_ws(', ', {shown}) FROM {root} WHERE {new} AND {id} = ? LIMIT 1",
                    shown = shown.join(", "),
                ),
                [&root_id],
                |r| r.get(0),
            )?;
            return Err(repeated(m, format!("{key} (its rows in `{child}` differ)")));
        }
        m.exec(&format!(
            "DELETE FROM {c} WHERE {fresh} AND rowid NOT IN \
             (SELECT min(rowid) FROM {c} WHERE {fresh} GROUP BY {id})"
        ))?;
    }
    m.exec(&format!(
        "DELETE FROM {root} WHERE {new} AND rowid NOT IN \
         (SELECT min(rowid) FROM {root} WHERE {new} GROUP BY {keys})"
    ))?;
    Ok(())
}

fn repeated(m: &Merge<'_>, key: String) -> CommitError {
    CommitError::RepeatedKey {
        table: m.root().to_string(),
        strategy: m.resource.hints.merge.strategy.as_str(),
        key,
    }
}
