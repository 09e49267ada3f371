//! `merge` at commit, by dlt's strategies. The load appended the resource's rows to the final
//! tables already (scd2's to staging tables, `Load::stage`); each strategy turns table + new
//! rows into what dlt's SQL would leave:
//! - delete-insert: the latest (or `dedup_sort`'s) record of each key replaces every old row of
//!   its primary or merge key, with its child rows;
//! - upsert: the same by primary key, where ids are hashes of the key, so the chunk's child
//!   rows are told from older ones by their `rowid` (see `Load::new_rows`);
//! - insert-only: new keys only;
//! - scd2: versions retire and start at a boundary time, unchanged ones stay as they are.
//!
//! A record flagged by the `hard_delete` column removes its key (retires it, for scd2) and is
//! never loaded itself. With `deletes: {detect: absent}`, keys that did not come go too
//! (`absent.rs`).

mod absent;
mod delete_insert;
mod hashed;
mod scd2;

use duckdb::Connection;

use super::commit::{CommitError, ResourceCommit};
use super::load::Load;
use super::sql::{ident, literal, qualified};
use crate::hints::columns::{DLT_ID, DLT_LOAD_ID, DLT_PARENT_ID, DLT_ROOT_ID};
use crate::hints::{DltType, LoadId, MergeStrategy};

/// Root rows per pass of the statements that join new rows with old ones (see
/// [`Merge::row_slices`]).
const MERGE_PASS_ROWS: i64 = 100_000;

/// Applies `resource`'s merge strategy to its new rows (the root table got some, or it detects
/// deletes by absence). Returns how many records absence deleted, when it detects them.
pub(super) fn apply(
    load: &Load,
    load_id: &LoadId,
    resource: &ResourceCommit,
    ordinal: usize,
) -> Result<Option<u64>, CommitError> {
    let merge = Merge {
        load,
        rows: Rows {
            dataset: load.dataset(),
            load_id,
        },
        resource,
        ordinal,
    };
    let deletes = resource.hints.merge.deletes;
    let before = deletes.map(|_| absent::before(&merge)).transpose()?;
    match &resource.hints.merge.strategy {
        MergeStrategy::DeleteInsert => delete_insert::apply(&merge),
        MergeStrategy::Upsert => hashed::upsert(&merge),
        MergeStrategy::InsertOnly => hashed::insert_only(&merge),
        MergeStrategy::Scd2(options) => scd2::apply(&merge, options),
    }?;
    match (deletes, before) {
        (Some(deletes), Some(before)) => Ok(Some(absent::after(&merge, &deletes, before)?)),
        _ => Ok(None),
    }
}

/// One resource's merge: the load, its rows, and a number unique in the commit for temp tables.
struct Merge<'a> {
    load: &'a Load,
    rows: Rows<'a>,
    resource: &'a ResourceCommit,
    ordinal: usize,
}

impl Merge<'_> {
    fn conn(&self) -> &Connection {
        self.load.conn()
    }

    fn root(&self) -> &str {
        &self.resource.hints.table_name
    }

    /// The root table, qualified.
    fn root_table(&self) -> String {
        self.rows.table(self.root())
    }

    /// The child tables of the root, old and new, parents before their children.
    fn children(&self) -> Vec<String> {
        let root = self.root();
        let mut children: Vec<String> = self
            .load
            .family(root)
            .into_iter()
            .chain(self.resource.tables.iter().map(|t| t.name.clone()))
            .filter(|t| t != root)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        children.sort_by_key(|t| t.matches("__").count());
        children
    }

    /// Whether no child table holds rows yet.
    fn children_empty(&self) -> duckdb::Result<bool> {
        for child in self.load.family(self.root()) {
            if child != self.root()
                && self.count(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 1)",
                    self.rows.table(&child)
                ))? > 0
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The child tables whose rows name their root record (`_dlt_root_id`).
    fn linked_children(&self) -> Vec<String> {
        let children = self.children();
        children
            .into_iter()
            .filter(|t| self.column_type(t, DLT_ROOT_ID).is_some())
            .collect()
    }

    /// The type of `column` of `table`, in this load or before it.
    fn column_type(&self, table: &str, column: &str) -> Option<DltType> {
        let loaded = self.resource.tables.iter().find(|t| t.name == table);
        let loaded = loaded.map(|t| &t.columns);
        loaded
            .into_iter()
            .chain(self.load.before().get(table))
            .flat_map(|cols| cols.iter())
            .find(|(c, _)| c == column)
            .map(|(_, ty)| *ty)
    }

    /// The condition (on `alias`) of a record flagged by the `hard_delete` column: `true` in a
    /// bool column, any value in another; `None` without the hint or the column.
    fn flagged(&self, alias: &str) -> Option<String> {
        let column = self.resource.hints.merge.hard_delete.as_deref()?;
        let ty = self.column_type(self.root(), column)?;
        let c = format!("{alias}.{}", ident(column));
        Some(match ty {
            DltType::Bool => format!("{c} = true"),
            _ => format!("{c} IS NOT NULL"),
        })
    }

    /// The `rowid` ranges `[from, to)` that cover the root rows `which` selects (a condition on
    /// alias `alias`), [`MERGE_PASS_ROWS`] rows each: a statement run once per range joins at
    /// most that many rows, so it fits DuckDB's memory budget however large the load. Row ids
    /// are usually dense (this load's rows are numbered in arrival order after the old ones),
    /// but not always: a DuckLake numbers rows it has not committed far above the committed
    /// ones, so sparse ids are cut at every `MERGE_PASS_ROWS`th selected row instead.
    fn row_slices(&self, alias: &str, which: &str) -> duckdb::Result<Vec<(i64, i64)>> {
        self.slices_of(&self.root_table(), alias, which)
    }

    /// [`Merge::row_slices`] of the rows of `table` (qualified), such as a staging table.
    fn slices_of(&self, root: &str, alias: &str, which: &str) -> duckdb::Result<Vec<(i64, i64)>> {
        let (first, last, rows): (Option<i64>, Option<i64>, i64) = self.conn().query_row(
            &format!(
                "SELECT min({alias}.rowid), max({alias}.rowid), count(*) FROM {root} AS {alias} \
                 WHERE {which}"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        let starts: Vec<i64> = if last - first < rows.saturating_mul(2) {
            (first..=last).step_by(MERGE_PASS_ROWS as usize).collect()
        } else {
            let mut stmt = self.conn().prepare(&format!(
                "SELECT id FROM (SELECT {alias}.rowid AS id, \
                   row_number() OVER (ORDER BY {alias}.rowid) - 1 AS n \
                   FROM {root} AS {alias} WHERE {which}) \
                 WHERE n % {MERGE_PASS_ROWS} = 0 ORDER BY id"
            ))?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<duckdb::Result<_>>()?
        };
        let ends = starts
            .iter()
            .skip(1)
            .copied()
            .chain([last.saturating_add(1)]);
        Ok(starts.iter().copied().zip(ends).collect())
    }

    /// A temp table's name, unique in the commit.
    fn temp(&self, what: &str) -> String {
        format!("dango_{what}_{}", self.ordinal)
    }

    fn exec(&self, sql: &str) -> duckdb::Result<()> {
        let started = std::time::Instant::now();
        let done = self.conn().execute_batch(sql);
        trace(sql, started);
        done
    }

    fn count(&self, sql: &str) -> duckdb::Result<i64> {
        let started = std::time::Instant::now();
        let n = self.conn().query_row(sql, [], |r| r.get(0));
        trace(sql, started);
        n
    }

    /// Deletes the new root rows `which` selects (a condition on `s`) with their child rows of
    /// this chunk.
    fn drop_new(&self, which: &str) -> duckdb::Result<()> {
        self.drop_roots(which, true)
    }

    /// Deletes the root rows of this load (`this`) or of earlier ones that `which` selects (a
    /// condition on `s`) with their child rows, of this chunk or older ones alike: through
    /// `_dlt_root_id` where the tables have it, else a level at a time through
    /// `_dlt_parent_id`. (An old record's child rows share no id with this chunk's: under the
    /// hashing strategies a key's rows of both are never both kept.)
    fn drop_roots(&self, which: &str, this: bool) -> duckdb::Result<()> {
        let (root, id) = (self.root_table(), ident(DLT_ID));
        let gone = self.temp("drop");
        self.exec(&format!(
            "CREATE TEMP TABLE {gone} AS SELECT s.{id} FROM {root} AS s WHERE {} AND ({which})",
            self.rows.of_this_load("s", this)
        ))?;
        if self.count(&format!("SELECT count(*) FROM {gone}"))? > 0 {
            let linked = self.linked_children();
            for child in self.children() {
                let link = match linked.contains(&child) {
                    true => ident(DLT_ROOT_ID),
                    false => ident(DLT_PARENT_ID),
                };
                let c = self.rows.table(&child);
                let new = match this {
                    true => self.new_child_rows(&child, ""),
                    false => self.old_child_rows(&child, ""),
                };
                if !linked.contains(&child) {
                    // Its rows are parents of the next level's: remember them before they go.
                    self.exec(&format!(
                        "INSERT INTO {gone} SELECT {id} FROM {c} WHERE {new} AND {link} IN \
                         (SELECT {id} FROM {gone})"
                    ))?;
                }
                self.exec(&format!(
                    "DELETE FROM {c} WHERE {new} AND {link} IN (SELECT {id} FROM {gone})"
                ))?;
            }
            self.exec(&format!(
                "DELETE FROM {root} WHERE {} AND {id} IN (SELECT {id} FROM {gone})",
                self.rows.of_this_load("", this)
            ))?;
        }
        self.exec(&format!("DROP TABLE {gone}"))
    }

    /// The condition on rows of a child table (qualified by `alias`, if not empty) that holds
    /// for this chunk's: any row under delete-insert, whose ids are random and never shared
    /// with older rows; else those above the table's mark.
    fn new_child_rows(&self, table: &str, alias: &str) -> String {
        let dot = if alias.is_empty() { "" } else { "." };
        match (&self.resource.hints.merge.strategy, self.load.mark(table)) {
            (MergeStrategy::DeleteInsert, _) => "true".to_string(),
            (_, Some(mark)) => format!("{alias}{dot}rowid > {mark}"),
            (_, None) => "false".to_string(),
        }
    }

    /// The condition on a child table's rows that holds for older chunks' rows.
    fn old_child_rows(&self, table: &str, alias: &str) -> String {
        match self.resource.hints.merge.strategy {
            MergeStrategy::DeleteInsert => "true".to_string(),
            _ => format!("NOT ({})", self.new_child_rows(table, alias)),
        }
    }
}

/// Tells this load's root rows from older ones: root rows carry their load's id.
struct Rows<'a> {
    dataset: &'a str,
    load_id: &'a LoadId,
}

impl Rows<'_> {
    fn table(&self, table: &str) -> String {
        qualified(self.dataset, table)
    }

    /// `alias`'s rows of this load (`true`) or of earlier loads (`false`), as a SQL condition.
    /// An empty `alias` leaves the column unqualified.
    fn of_this_load(&self, alias: &str, this: bool) -> String {
        let op = if this { "=" } else { "<>" };
        let dot = if alias.is_empty() { "" } else { "." };
        format!(
            "{alias}{dot}{} {op} {}",
            ident(DLT_LOAD_ID),
            literal(self.load_id.as_str())
        )
    }

    /// Whether root table `root` holds rows of earlier loads.
    fn old_rows_exist(&self, conn: &Connection, root: &str) -> duckdb::Result<bool> {
        conn.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {} AS d WHERE {})",
                self.table(root),
                self.of_this_load("d", false)
            ),
            [],
            |r| r.get(0),
        )
    }
}

/// When the load began, from its id (Unix seconds with microseconds): dlt's default scd2
/// boundary is when its load package was created.
fn started(load_id: &LoadId) -> i64 {
    let (secs, micros) = load_id
        .as_str()
        .split_once('.')
        .unwrap_or((load_id.as_str(), "0"));
    let secs: i64 = secs.parse().unwrap_or_default();
    let micros: i64 = format!("{micros:0<6}")[..6].parse().unwrap_or_default();
    secs * 1_000_000 + micros
}

/// A `TIMESTAMPTZ` literal of `micros` since the epoch (text with an offset: DuckDB reads it
/// without the ICU extension, which the bundled build lacks).
fn timestamp(micros: i64) -> String {
    let at = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    format!("TIMESTAMPTZ '{}'", at.format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

/// Logs a merge statement's time at debug level: which step of a large merge costs what.
fn trace(sql: &str, started: std::time::Instant) {
    let statement: String = sql
        .split_whitespace()
        .take(12)
        .collect::<Vec<_>>()
        .join(" ");
    tracing::debug!(ms = started.elapsed().as_millis() as u64, %statement, "merge statement");
}
