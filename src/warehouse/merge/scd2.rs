//! scd2: every version of a record is kept with its validity window. A version is its row hash
//! (`_dlt_id`, as dlt computes it) or the `row_version_column_name` column. At the boundary
//! time (the sync's start, or `boundary_timestamp`), the active versions this load did not
//! bring retire (only those whose `merge_key` it brought, if there is one), versions it brought
//! that are not active start, and unchanged ones stay as they are. Child rows are only ever
//! inserted: a version's child rows are the ones it was first loaded with.

use super::{Merge, started, timestamp};
use crate::hints::columns::{DLT_ID, DLT_PARENT_ID};
use crate::hints::{LoadId, Scd2};
use crate::warehouse::commit::CommitError;
use crate::warehouse::sql::{ident, key_match};

/// Applies scd2 to the resource's new rows.
pub(super) fn apply(m: &Merge<'_>, options: &Scd2) -> Result<(), CommitError> {
    let hints = &m.resource.hints;
    let root = m.root_table();
    let version = ident(options.row_version.as_deref().unwrap_or(DLT_ID));
    let (from, to) = (ident(&options.valid_from), ident(&options.valid_to));
    let boundary = timestamp(boundary(options, m.rows.load_id));
    let active_value = options
        .active_record_timestamp
        .map_or_else(|| "NULL".to_string(), timestamp);
    let (new, old) = (
        m.rows.of_this_load("s", true),
        m.rows.of_this_load("d", false),
    );

    // A version brought twice is one version (dlt would insert both copies). Versions are
    // grouped a share of them at a time, by their hash, so each grouping holds at most about
    // a slice's worth of them.
    let rows = m.count(&format!("SELECT count(*) FROM {root} AS s WHERE {new}"))?;
    let shares = (rows / super::MERGE_PASS_ROWS + 1).max(1);
    let mut repeated = 0;
    for share in 0..shares {
        let of_share = format!("{new} AND hash(s.{version}) % {shares} = {share}");
        let here = m.count(&format!(
            "SELECT count(*) - count(DISTINCT s.{version}) FROM {root} AS s WHERE {of_share}"
        ))?;
        if here > 0 {
            m.exec(&format!(
                "DELETE FROM {root} AS d WHERE {} AND hash(d.{version}) % {shares} = {share} \
                 AND d.rowid NOT IN \
                 (SELECT min(s.rowid) FROM {root} AS s WHERE {of_share} GROUP BY s.{version})",
                m.rows.of_this_load("d", true)
            ))?;
        }
        repeated += here;
    }
    // A flagged record retires its key's active version (by merge key, else primary key) and
    // is not a version itself; without a key, leaving it out retires its version as absent.
    if let Some(flagged) = m.flagged("s") {
        let key = match hints.merge_key.is_empty() {
            true => &hints.primary_key,
            false => &hints.merge_key,
        };
        if !key.is_empty() {
            m.exec(&format!(
                "UPDATE {root} AS d SET {to} = {boundary} WHERE {old} AND {active} AND EXISTS \
                 (SELECT 1 FROM {root} AS s WHERE {new} AND {flagged} AND {matches})",
                active = active(options, "d"),
                matches = key_match("d", "s", key),
            ))?;
        }
        m.drop_new(&flagged)?;
    }
    // Unchanged versions stay as they are: their new copies go, with their child rows (which
    // have the ids of the old copy's), and the old rows they match are noted. A slice of the
    // new rows at a time, so each join builds on a slice's hashes only: DuckDB's memory budget
    // holds however large the load.
    let (kept, matched) = (m.temp("kept"), m.temp("matched"));
    m.exec(&format!("CREATE TEMP TABLE {kept} (row_id BIGINT)"))?;
    for (at, end) in m.row_slices("s", &new)? {
        let slice = format!("s.rowid >= {at} AND s.rowid < {end}");
        // The old active versions the slice brings again; the slice's copies of them go. Both
        // joins build on the slice's side, never on the whole table's.
        m.exec(&format!(
            "CREATE TEMP TABLE {matched} AS SELECT d.rowid AS row_id, d.{version} AS version \
             FROM {root} AS d WHERE {old} AND {active} AND EXISTS \
             (SELECT 1 FROM {root} AS s WHERE {new} AND {slice} AND s.{version} = d.{version}); \
             INSERT INTO {kept} SELECT row_id FROM {matched}",
            active = active(options, "d"),
        ))?;
        m.drop_new(&format!(
            "{slice} AND s.{version} IN (SELECT version FROM {matched})"
        ))?;
        m.exec(&format!("DROP TABLE {matched}"))?;
    }
    // The other active versions retire: all of them, or those whose merge key came.
    let present = match hints.merge_key.is_empty() {
        true => String::new(),
        false => format!(
            " AND EXISTS (SELECT 1 FROM {root} AS s WHERE {new} AND {})",
            key_match("d", "s", &hints.merge_key)
        ),
    };
    // A slice of the old rows at a time, for the same reason.
    for (at, end) in m.row_slices("d", &old)? {
        m.exec(&format!(
            "UPDATE {root} AS d SET {to} = {boundary} WHERE d.rowid >= {at} AND d.rowid < {end} \
             AND {old} AND {active} AND d.rowid NOT IN \
             (SELECT row_id FROM {kept} WHERE row_id >= {at} AND row_id < {end}){present}",
            active = active(options, "d"),
        ))?;
    }
    m.exec(&format!("DROP TABLE {kept}"))?;
    keep_new_child_rows_only(m, repeated > 0 || options.row_version.is_some())?;
    m.exec(&format!(
        "UPDATE {root} SET {from} = {boundary}, {to} = {active_value} WHERE {}",
        m.rows.of_this_load("", true)
    ))?;
    Ok(())
}

/// Drops this chunk's child rows that the table holds already, as dlt inserts only child rows
/// whose id it lacks (a retired version that comes back has its old child rows, ids and all).
/// With `strays`, also those that repeat in the chunk (a version brought twice) or whose parent
/// row is gone (a version left out above: with a version column of the user's, ids are
/// random), a level at a time.
fn keep_new_child_rows_only(m: &Merge<'_>, strays: bool) -> duckdb::Result<()> {
    let (id, parent) = (ident(DLT_ID), ident(DLT_PARENT_ID));
    let children = m.children();
    for child in &children {
        let Some(mark) = m.load.mark(child) else {
            continue;
        };
        let c = m.rows.table(child);
        // Built on the chunk's rows (what is left of them: new versions' only), never on the
        // whole table's.
        let present = format!(
            "{id} IN (SELECT o.{id} FROM {c} AS o WHERE o.rowid <= {mark} AND o.{id} IN \
             (SELECT n.{id} FROM {c} AS n WHERE n.rowid > {mark}))"
        );
        let stray = match strays {
            false => String::new(),
            true => {
                let parent_table = children
                    .iter()
                    .filter(|p| child.starts_with(&format!("{p}__")))
                    .max_by_key(|p| p.len())
                    .map_or_else(|| m.root_table(), |p| m.rows.table(p));
                format!(
                    " OR {parent} NOT IN (SELECT {id} FROM {parent_table}) OR rowid NOT IN \
                     (SELECT min(rowid) FROM {c} WHERE rowid > {mark} GROUP BY {id})"
                )
            }
        };
        m.exec(&format!(
            "DELETE FROM {c} WHERE rowid > {mark} AND ({present}{stray})"
        ))?;
    }
    Ok(())
}

/// When versions start and retire: `boundary_timestamp`, else when the load began.
pub(super) fn boundary(options: &Scd2, load_id: &LoadId) -> i64 {
    options
        .boundary_timestamp
        .unwrap_or_else(|| started(load_id))
}

/// The condition on rows (alias `alias`) that holds for active versions.
pub(super) fn active(options: &Scd2, alias: &str) -> String {
    let to = ident(&options.valid_to);
    match options.active_record_timestamp {
        None => format!("{alias}.{to} IS NULL"),
        Some(at) => format!("{alias}.{to} = {}", timestamp(at)),
    }
}
