//! scd2: every version of a record is kept with its validity window. A version is its row hash
//! (`_dlt_id`, as dlt computes it) or the `row_version_column_name` column. At the boundary
//! time (the sync's start, or `boundary_timestamp`), the active versions this load did not
//! bring retire (only those whose `merge_key` it brought, if there is one), versions it brought
//! that are not active start, and unchanged ones stay as they are. Child rows are only ever
//! inserted: a version's child rows are the ones it was first loaded with.
//!
//! The load staged its rows (`Load::stage`): only new versions, and child rows the tables lack,
//! reach the final tables.

use super::{Merge, started, timestamp};
use crate::hints::columns::{DLT_ID, DLT_PARENT_ID};
use crate::hints::{LoadId, Scd2};
use crate::warehouse::commit::CommitError;
use crate::warehouse::sql::{ident, key_match, literal};

/// Applies scd2 to the resource's staged rows.
pub(super) fn apply(m: &Merge<'_>, options: &Scd2) -> Result<(), CommitError> {
    let hints = &m.resource.hints;
    let root = m.root_table();
    let staged = m.load.staging(m.root());
    let to = ident(&options.valid_to);
    let boundary = timestamp(boundary(options, m.rows.load_id));
    let old = m.rows.of_this_load("d", false);
    let active = active(options, "d");
    let brought = brought(m, "s");
    // A flagged record retires its key's active version (by merge key, else primary key) and
    // is not a version itself; without a key, leaving it out retires its version as absent.
    if let (Some(flagged), Some(staged)) = (m.flagged("s"), &staged) {
        let key = match hints.merge_key.is_empty() {
            true => &hints.primary_key,
            false => &hints.merge_key,
        };
        if !key.is_empty() {
            m.exec(&format!(
                "UPDATE {root} AS d SET {to} = {boundary} WHERE {old} AND {active} AND EXISTS \
                 (SELECT 1 FROM {staged} AS s WHERE {flagged} AND {matches})",
                matches = key_match("d", "s", key),
            ))?;
        }
    }
    // Old versions retire before new ones go in, so no statement reads rows another inserted
    // in this transaction but for the versions check below (on a slice's versions only).
    let slices = match &staged {
        Some(staged) => m.slices_of(staged, "s", &brought)?,
        None => Vec::new(),
    };
    let first = !m.rows.old_rows_exist(m.conn(), m.root())?;
    if !first {
        retire(m, options, staged.as_deref(), &slices)?;
    }
    let Some(staged) = &staged else {
        return Ok(());
    };
    let repeated = repeated_versions(m, options, staged)?;
    if first && repeated == 0 && m.children_empty()? {
        return insert_all(m, options, staged);
    }
    for (at, end) in slices {
        let slice = format!("s.rowid >= {at} AND s.rowid < {end} AND {brought}");
        insert_new_versions(m, options, staged, &slice, repeated > 0)?;
    }
    Ok(())
}

/// Retires the old active versions this load did not bring (those whose merge key it brought,
/// with a merge key), looking for them a slice of the staged rows at a time: each join builds
/// on a slice's versions, so DuckDB's memory budget holds however large the load.
fn retire(
    m: &Merge<'_>,
    options: &Scd2,
    staged: Option<&str>,
    slices: &[(i64, i64)],
) -> Result<(), CommitError> {
    let (root, hints) = (m.root_table(), &m.resource.hints);
    let version = ident(options.row_version.as_deref().unwrap_or(DLT_ID));
    let to = ident(&options.valid_to);
    let boundary = timestamp(boundary(options, m.rows.load_id));
    let old = m.rows.of_this_load("d", false);
    let active = active(options, "d");
    let brought = brought(m, "s");
    let (kept, versions) = (m.temp("kept"), m.temp("versions"));
    m.exec(&format!("CREATE TEMP TABLE {kept} (row_id BIGINT)"))?;
    if let Some(staged) = staged {
        for (at, end) in slices {
            // The slice's versions are a table first: DuckDB then builds on them, not on the
            // old rows.
            m.exec(&format!(
                "CREATE TEMP TABLE {versions} AS SELECT DISTINCT s.{version} AS version \
                 FROM {staged} AS s WHERE s.rowid >= {at} AND s.rowid < {end} AND {brought}; \
                 INSERT INTO {kept} SELECT d.rowid FROM {root} AS d WHERE {old} AND {active} \
                 AND d.{version} IN (SELECT version FROM {versions}); DROP TABLE {versions}"
            ))?;
        }
    }
    let present = match (hints.merge_key.is_empty(), staged) {
        (true, _) => String::new(),
        (false, None) => " AND false".to_string(),
        (false, Some(staged)) => format!(
            " AND EXISTS (SELECT 1 FROM {staged} AS s WHERE {brought} AND {})",
            key_match("d", "s", &hints.merge_key)
        ),
    };
    // A slice of the old rows at a time, for the same reason.
    for (at, end) in m.row_slices("d", &old)? {
        m.exec(&format!(
            "UPDATE {root} AS d SET {to} = {boundary} WHERE d.rowid >= {at} AND d.rowid < {end} \
             AND {old} AND {active} AND d.rowid NOT IN \
             (SELECT row_id FROM {kept} WHERE row_id >= {at} AND row_id < {end}){present}",
        ))?;
    }
    m.exec(&format!("DROP TABLE {kept}"))?;
    Ok(())
}

/// How many staged rows repeat a version (or are flagged, and so no version at all), counted a
/// hash share of the versions at a time, so each count holds about a slice's worth.
fn repeated_versions(m: &Merge<'_>, options: &Scd2, staged: &str) -> Result<i64, CommitError> {
    let version = ident(options.row_version.as_deref().unwrap_or(DLT_ID));
    let brought = brought(m, "s");
    let rows = m.count(&format!("SELECT count(*) FROM {staged} AS s"))?;
    let shares = (rows / super::MERGE_PASS_ROWS + 1).max(1);
    let mut repeated = m.count(&format!(
        "SELECT count(*) FROM {staged} AS s WHERE NOT ({brought})"
    ))?;
    for share in 0..shares {
        repeated += m.count(&format!(
            "SELECT count(*) - count(DISTINCT s.{version}) FROM {staged} AS s \
             WHERE {brought} AND hash(s.{version}) % {shares} = {share}"
        ))?;
    }
    Ok(repeated)
}

/// A first load of distinct versions into empty tables: every staged row goes in as it is.
fn insert_all(m: &Merge<'_>, options: &Scd2, staged: &str) -> Result<(), CommitError> {
    m.exec(&format!(
        "INSERT INTO {} BY NAME SELECT * REPLACE ({}) FROM {staged}",
        m.root_table(),
        validity(m, options)
    ))?;
    for child in m.children() {
        if let Some(staged_child) = m.load.staging(&child) {
            m.exec(&format!(
                "INSERT INTO {} BY NAME SELECT * FROM {staged_child}",
                m.rows.table(&child)
            ))?;
        }
    }
    Ok(())
}

/// The validity of versions that start now, as `SELECT * REPLACE` items.
fn validity(m: &Merge<'_>, options: &Scd2) -> String {
    let active_value = options
        .active_record_timestamp
        .map_or_else(|| "NULL".to_string(), timestamp);
    format!(
        "{} AS {}, {active_value} AS {}",
        timestamp(boundary(options, m.rows.load_id)),
        ident(&options.valid_from),
        ident(&options.valid_to),
    )
}

/// The condition on staged root rows (alias `alias`) that holds for versions: every row but
/// those the `hard_delete` column flags.
pub(super) fn brought(m: &Merge<'_>, alias: &str) -> String {
    m.flagged(alias).map_or_else(
        || "true".to_string(),
        |flagged| format!("NOT coalesce({flagged}, false)"),
    )
}

/// Inserts the staged root rows `slice` selects (alias `s`) whose version is not active (the
/// first copy of each) as versions from the boundary on, with the child rows they bring.
fn insert_new_versions(
    m: &Merge<'_>,
    options: &Scd2,
    staged: &str,
    slice: &str,
    repeats: bool,
) -> Result<(), CommitError> {
    let root = m.root_table();
    let version = ident(options.row_version.as_deref().unwrap_or(DLT_ID));
    let (versions, matched, fresh) = (m.temp("versions"), m.temp("matched"), m.temp("fresh"));
    // Active versions, old or inserted from an earlier slice. The slice's versions are a table
    // first, so DuckDB builds on them rather than on the rows this load inserted.
    m.exec(&format!(
        "CREATE TEMP TABLE {versions} AS SELECT DISTINCT s.{version} AS version \
         FROM {staged} AS s WHERE {slice}; \
         CREATE TEMP TABLE {matched} AS SELECT d.{version} AS version FROM {root} AS d \
         WHERE {active} AND d.{version} IN (SELECT version FROM {versions}); \
         CREATE TEMP TABLE {fresh} AS SELECT min(s.rowid) AS row_id FROM {staged} AS s \
         WHERE {slice} AND NOT EXISTS (SELECT 1 FROM {matched} AS k WHERE k.version = s.{version}) \
         GROUP BY s.{version}; \
         INSERT INTO {root} BY NAME SELECT * REPLACE ({validity}) FROM {staged} AS s \
         WHERE {slice} AND s.rowid IN (SELECT row_id FROM {fresh})",
        active = active(options, "d"),
        validity = validity(m, options),
    ))?;
    insert_child_rows(m, staged, &fresh, repeats)?;
    m.exec(&format!(
        "DROP TABLE {versions}; DROP TABLE {matched}; DROP TABLE {fresh}"
    ))?;
    Ok(())
}

/// Inserts the staged child rows of the root rows `fresh` lists (their `rowid`s in
/// `staged`), a level at a time, leaving out those whose id the table holds already: dlt
/// inserts only child rows whose id it lacks (a retired version that comes back has its old
/// child rows, ids and all), and one copy of a row the load brought twice.
fn insert_child_rows(
    m: &Merge<'_>,
    staged: &str,
    fresh: &str,
    repeats: bool,
) -> Result<(), CommitError> {
    let children = m.children();
    if !children.iter().any(|c| m.load.staging(c).is_some()) {
        return Ok(());
    }
    let (id, parent) = (ident(DLT_ID), ident(DLT_PARENT_ID));
    let (parents, rows, present) = (m.temp("parents"), m.temp("rows"), m.temp("present"));
    m.exec(&format!(
        "CREATE TEMP TABLE {parents} AS SELECT {root} AS tbl, s.{id} AS id FROM {staged} AS s \
         WHERE s.rowid IN (SELECT row_id FROM {fresh})",
        root = literal(m.root()),
    ))?;
    let parent_of = |child: &str| {
        children
            .iter()
            .filter(|p| child.starts_with(&format!("{p}__")))
            .max_by_key(|p| p.len())
            .map_or(m.root(), String::as_str)
    };
    for child in &children {
        let Some(staged_child) = m.load.staging(child) else {
            continue;
        };
        let c = m.rows.table(child);
        // Only a version brought twice brings a child row twice.
        let rows_of = match repeats {
            true => format!(
                "SELECT min(n.rowid) AS row_id, n.{id} AS id FROM {staged_child} AS n \
                 WHERE n.{parent} IN (SELECT id FROM {parents} WHERE tbl = {p}) GROUP BY n.{id}",
                p = literal(parent_of(child)),
            ),
            false => format!(
                "SELECT n.rowid AS row_id, n.{id} AS id FROM {staged_child} AS n \
                 WHERE n.{parent} IN (SELECT id FROM {parents} WHERE tbl = {p})",
                p = literal(parent_of(child)),
            ),
        };
        m.exec(&format!(
            "CREATE TEMP TABLE {rows} AS {rows_of}; \
             CREATE TEMP TABLE {present} AS SELECT o.{id} AS id FROM {c} AS o \
             WHERE o.{id} IN (SELECT id FROM {rows})"
        ))?;
        let range: (Option<i64>, Option<i64>) = m.conn().query_row(
            &format!("SELECT min(row_id), max(row_id) FROM {rows}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let (Some(first), Some(last)) = range {
            // A child's rows were staged in their parents' order: the range spares reading the
            // whole staging table for each slice.
            m.exec(&format!(
                "INSERT INTO {c} BY NAME SELECT * FROM {staged_child} AS n \
                 WHERE n.rowid >= {first} AND n.rowid <= {last} AND n.rowid IN \
                 (SELECT row_id FROM {rows} WHERE id NOT IN (SELECT id FROM {present}))"
            ))?;
        }
        // Its rows' ids, if a table below it needs them.
        if children.iter().any(|g| parent_of(g) == child) {
            m.exec(&format!(
                "INSERT INTO {parents} SELECT {}, id FROM {rows}",
                literal(child)
            ))?;
        }
        m.exec(&format!("DROP TABLE {rows}; DROP TABLE {present}"))?;
    }
    m.exec(&format!("DROP TABLE {parents}"))?;
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
