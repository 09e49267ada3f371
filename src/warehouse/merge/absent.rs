//! Deletes detected by absence (`hints::AbsentDeletes`): the live rows of earlier loads whose
//! key did not come in this sync are removed with their child rows (hard), marked with
//! `_dango_deleted_at` (soft) or, under scd2, were retired by the strategy itself. Either way
//! they are counted, and a sync that would delete more than `max_ratio` of the table's live
//! rows is refused: the commit rolls back whole.
//!
//! Under delete-insert and upsert the strategy has already replaced every old row whose key
//! came, so the old rows left are the absent ones; insert-only keeps those rows, so which old
//! rows' keys came is noted before it runs.

use super::{Merge, scd2, timestamp};
use crate::hints::{AbsentDeletes, DANGO_DELETED_AT, DeleteMode, MergeStrategy};
use crate::warehouse::commit::CommitError;
use crate::warehouse::sql::{ident, key_match};

/// What the detection needs from before the strategy ran.
pub(super) struct Before {
    /// Live rows the table held.
    live: i64,
    /// Under insert-only, the temp table of the `rowid`s of old rows whose key came.
    present: Option<String>,
    /// Under scd2 with a fixed boundary, rows already retired at it whose key did not come
    /// (an earlier sync's, not this one's).
    retired: i64,
}

/// Counts the table's live rows and notes what the strategy is about to hide.
pub(super) fn before(m: &Merge<'_>) -> Result<Before, CommitError> {
    let root = m.root_table();
    let old = m.rows.of_this_load("d", false);
    let live = m.count(&format!(
        "SELECT count(*) FROM {root} AS d WHERE {old} AND {}",
        alive(m, "d")
    ))?;
    let mut before = Before {
        live,
        present: None,
        retired: 0,
    };
    match &m.resource.hints.merge.strategy {
        MergeStrategy::InsertOnly => {
            let present = m.temp("present");
            let new = m.rows.of_this_load("s", true);
            m.exec(&format!("CREATE TEMP TABLE {present} (row_id BIGINT)"))?;
            // A slice of the new rows at a time: each join builds on a slice's keys.
            for (at, end) in m.row_slices("s", &new)? {
                m.exec(&format!(
                    "INSERT INTO {present} SELECT d.rowid FROM {root} AS d WHERE {old} AND EXISTS \
                     (SELECT 1 FROM {root} AS s WHERE {new} AND s.rowid >= {at} AND s.rowid < {end} \
                     AND {matches})",
                    matches = key_match("d", "s", &m.resource.hints.primary_key),
                ))?;
            }
            before.present = Some(present);
        }
        MergeStrategy::Scd2(options) if options.boundary_timestamp.is_some() => {
            before.retired = retired_absent(m)?;
        }
        _ => {}
    }
    Ok(before)
}

/// After the strategy: deletes (or marks) the absent rows, refusing more than `max_ratio` of
/// the live ones. Returns how many records were deleted.
pub(super) fn after(
    m: &Merge<'_>,
    deletes: &AbsentDeletes,
    before: Before,
) -> Result<u64, CommitError> {
    let root = m.root_table();
    let absent = match &m.resource.hints.merge.strategy {
        MergeStrategy::Scd2(_) => retired_absent(m)? - before.retired,
        _ => m.count(&format!(
            "SELECT count(*) FROM {root} AS d WHERE {}",
            absent(m, &before, "d")
        ))?,
    };
    if before.live > 0 && absent as f64 > deletes.max_ratio * before.live as f64 {
        return Err(CommitError::TooManyAbsent {
            table: m.root().to_string(),
            absent,
            live: before.live,
            max_ratio: deletes.max_ratio,
        });
    }
    if absent > 0 && !m.resource.hints.merge.is_scd2() {
        match deletes.mode {
            DeleteMode::Hard => remove(m, &before)?,
            DeleteMode::Soft => mark(m, &before)?,
        }
    }
    if let Some(present) = &before.present {
        // Insert-only keeps the old row of a key that came back: it is live again (a table
        // that got the column only now has no row marked before).
        if deletes.mode == DeleteMode::Soft && m.column_type(m.root(), DANGO_DELETED_AT).is_some() {
            m.exec(&format!(
                "UPDATE {root} SET {at} = NULL WHERE {at} IS NOT NULL AND rowid IN \
                 (SELECT row_id FROM {present})",
                at = ident(DANGO_DELETED_AT),
            ))?;
        }
        m.exec(&format!("DROP TABLE {present}"))?;
    }
    Ok(u64::try_from(absent).unwrap_or_default())
}

/// The condition on old root rows (alias `alias`) that holds for the absent ones, once the
/// strategy ran.
fn absent(m: &Merge<'_>, before: &Before, alias: &str) -> String {
    let not_present = match &before.present {
        Some(present) => format!(" AND {alias}.rowid NOT IN (SELECT row_id FROM {present})"),
        None => String::new(),
    };
    format!(
        "{} AND {}{not_present}",
        m.rows.of_this_load(alias, false),
        alive(m, alias)
    )
}

/// The condition on root rows (alias `alias`) that holds for live ones: scd2's active
/// versions, rows not marked deleted, or all.
fn alive(m: &Merge<'_>, alias: &str) -> String {
    match &m.resource.hints.merge.strategy {
        MergeStrategy::Scd2(options) => scd2::active(options, alias),
        _ if m.resource.hints.merge.soft_deletes()
            && m.column_type(m.root(), DANGO_DELETED_AT).is_some() =>
        {
            format!("{alias}.{} IS NULL", ident(DANGO_DELETED_AT))
        }
        _ => "true".to_string(),
    }
}

/// Old scd2 versions retired at this sync's boundary whose primary key has no version in
/// this load.
fn retired_absent(m: &Merge<'_>) -> Result<i64, CommitError> {
    let MergeStrategy::Scd2(options) = &m.resource.hints.merge.strategy else {
        return Ok(0);
    };
    let root = m.root_table();
    let came = match m.load.staging(m.root()) {
        None => String::new(),
        Some(staged) => format!(
            " AND NOT EXISTS (SELECT 1 FROM {staged} AS s WHERE {} AND {})",
            scd2::brought(m, "s"),
            key_match("d", "s", &m.resource.hints.primary_key),
        ),
    };
    Ok(m.count(&format!(
        "SELECT count(*) FROM {root} AS d WHERE {old} AND d.{to} = {boundary}{came}",
        old = m.rows.of_this_load("d", false),
        to = ident(&options.valid_to),
        boundary = timestamp(scd2::boundary(options, m.rows.load_id)),
    ))?)
}

/// Removes the absent rows with their child rows, a slice of them at a time.
fn remove(m: &Merge<'_>, before: &Before) -> Result<(), CommitError> {
    let absent = absent(m, before, "s");
    for (at, end) in m.row_slices("s", &absent)? {
        m.drop_roots(
            &format!("s.rowid >= {at} AND s.rowid < {end} AND {absent}"),
            false,
        )?;
    }
    Ok(())
}

/// Marks the absent rows deleted as of the sync's start (adding the column to a table made
/// before soft deletes were configured).
fn mark(m: &Merge<'_>, before: &Before) -> Result<(), CommitError> {
    let root = m.root_table();
    let at = ident(DANGO_DELETED_AT);
    if m.column_type(m.root(), DANGO_DELETED_AT).is_none() {
        m.exec(&format!(
            "ALTER TABLE {root} ADD COLUMN IF NOT EXISTS {at} TIMESTAMP WITH TIME ZONE"
        ))?;
    }
    let now = timestamp(super::started(m.rows.load_id));
    let absent = absent(m, before, "d");
    for (from, to) in m.row_slices("d", &absent)? {
        m.exec(&format!(
            "UPDATE {root} AS d SET {at} = {now} WHERE d.rowid >= {from} AND d.rowid < {to} \
             AND {absent}"
        ))?;
    }
    Ok(())
}
