//! A source's load as a series of committed chunks: each checkpoint commits the rows so far,
//! with every running resource's position, as a load of its own (a row in `_dlt_loads`), and
//! the load goes on in a new transaction. This file keeps what the next checkpoint needs, on
//! the writer thread, in the order the writer applies pages: a position is recorded with the
//! page whose rows it follows, so a checkpoint can never separate them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::checkpoints::Checkpoint;
use super::commit::{CommitPlan, Deleted, LoadedTable, ResourceCommit};
use crate::hints::{LoadId, TableHints};
use crate::source::{CheckpointInterval, ParentRow};

/// A checkpoint is also taken when this long has passed since the last one and a resource has
/// new rows: a slow API's hour of work is never lost for want of 100,000 rows.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// A paced interval's checkpoint waits at least this long after the last one: a sync that
/// fast loses little to a kill, and is not slowed by commits. Measured at 100,000 records a
/// checkpoint costs DuckDB 0.15 s to 0.9 s (every other commit writes its log to the file).
pub const PACED_SPACING: Duration = Duration::from_secs(30);

/// And at least this many times as long as the last checkpoint took: checkpoints take at most
/// a twentieth (5%) of a paced sync's time, however slow the warehouse's disk.
const PACED_SHARE: u32 = 20;

/// How a load is checkpointed, fixed when it begins.
#[derive(Debug, Clone, Default)]
pub struct ChunkOptions {
    /// Whether this sync commits checkpoints and clears them when it completes. Off for the
    /// runs that must not touch an interrupted sync's checkpoints (`--limit`, a `--since`
    /// range) and for a full refresh, which would show a half-dropped dataset.
    pub enabled: bool,
    /// `_dlt_loads.schema_name`: the source's name.
    pub schema_name: String,
    /// Let a `replace` that returned no rows empty a table that has rows.
    pub allow_empty_replace: bool,
}

/// A resource the load is receiving pages of.
#[derive(Debug)]
struct Running {
    hints: TableHints,
    /// How often it is checkpointed; `None`: it cannot be resumed, so no checkpoint is taken
    /// while it runs (its rows would be committed without a place to continue from).
    every: Option<CheckpointInterval>,
    /// Where it continues after the last page appended; `None` before its first page.
    position: Option<Value>,
    /// Whether its last page came with a position (a resource may send one without).
    resumable: bool,
    /// Whether a page since the last checkpoint ended a unit of its work (a backfill window).
    settled: bool,
    /// Records since its last checkpoint.
    since: usize,
    /// Records and pages in this sync.
    rows: u64,
    pages: u64,
}

/// A resource that finished since the last checkpoint, whose commit work waits for the next
/// chunk's commit.
#[derive(Debug)]
struct Finished {
    resource: String,
    commits: Vec<ResourceCommit>,
    /// What its dependents need of its records, kept with its checkpoint.
    parent_rows: Option<Vec<ParentRow>>,
    rows: u64,
    pages: u64,
}

/// The chunks of one source's load.
#[derive(Debug)]
pub struct Chunks {
    options: ChunkOptions,
    /// The chunk in progress; its root rows carry this id.
    load_id: LoadId,
    /// Chunks this sync committed, oldest first.
    committed: Vec<String>,
    running: BTreeMap<String, Running>,
    finished: Vec<Finished>,
    /// The interrupted sync's checkpoints, as the load began.
    prior: HashMap<String, Checkpoint>,
    /// Records committed by this sync's checkpoints.
    rows_committed: u64,
    /// When the last chunk was committed (or the load began).
    since: Instant,
    /// How long the last checkpoint took, which paced intervals wait twenty times over.
    last_cost: Duration,
    /// Records deleted by absence in this sync's checkpoints, by root table.
    deleted: Deleted,
}

/// What the load's checkpoints committed before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpointed {
    /// Chunks committed.
    pub chunks: usize,
    /// Records in them.
    pub rows: u64,
}

impl Chunks {
    /// The chunks of a load beginning now, after an interrupted sync that left `prior`.
    pub fn new(options: ChunkOptions, prior: HashMap<String, Checkpoint>) -> Self {
        Self {
            options,
            load_id: LoadId::new(),
            committed: Vec::new(),
            running: BTreeMap::new(),
            finished: Vec::new(),
            prior,
            rows_committed: 0,
            since: Instant::now(),
            last_cost: Duration::ZERO,
            deleted: Deleted::new(),
        }
    }

    /// Records deleted by absence in this sync's checkpoints, by root table.
    pub fn deleted(&self) -> &Deleted {
        &self.deleted
    }

    /// A checkpoint deleted `deleted` records by absence.
    pub fn count_deleted(&mut self, deleted: Deleted) {
        for (table, n) in deleted {
            *self.deleted.entry(table).or_default() += n;
        }
    }

    /// How the load is checkpointed.
    pub fn options(&self) -> &ChunkOptions {
        &self.options
    }

    /// The id of the chunk in progress, stamped on its root rows.
    pub fn load_id(&self) -> &LoadId {
        &self.load_id
    }

    /// The interrupted sync's checkpoints this load began with.
    pub fn prior(&self) -> &HashMap<String, Checkpoint> {
        &self.prior
    }

    /// Whether checkpoints are committed (and cleared at the end).
    pub fn enabled(&self) -> bool {
        self.options.enabled
    }

    /// What this sync's checkpoints committed.
    pub fn checkpointed(&self) -> Checkpointed {
        Checkpointed {
            chunks: self.committed.len(),
            rows: self.rows_committed,
        }
    }

    /// Resource `name` starts loading into `hints`' table, checkpointed every `every` records
    /// (`None`: not resumable).
    pub fn start(&mut self, name: &str, hints: &TableHints, every: Option<CheckpointInterval>) {
        // A scd2 resource without a merge key retires whatever this sync did not bring, and
        // one that detects deletes deletes it: either can only commit once it brought
        // everything.
        let whole =
            (hints.merge.is_scd2() && hints.merge_key.is_empty()) || hints.merge.deletes.is_some();
        let every = every.filter(|_| self.options.enabled && !whole);
        self.running.insert(
            name.to_string(),
            Running {
                hints: hints.clone(),
                every,
                position: None,
                resumable: true,
                settled: false,
                since: 0,
                rows: 0,
                pages: 0,
            },
        );
    }

    /// Resource `name` appended a page of `records`, after which it continues at `position`;
    /// `settled`: the page ended a unit of its work, which a checkpoint commits once pacing
    /// allows.
    pub fn page(&mut self, name: &str, records: usize, position: Option<Value>, settled: bool) {
        if let Some(r) = self.running.get_mut(name) {
            r.settled |= settled;
            r.resumable = position.is_some();
            r.position = position;
            r.since += records;
            r.rows += records as u64;
            r.pages += 1;
        }
    }

    /// The hints of running resource `name`.
    pub fn hints(&self, name: &str) -> Option<&TableHints> {
        self.running.get(name).map(|r| &r.hints)
    }

    /// Resource `name` starts over: the interrupted sync's checkpoint of it no longer counts.
    /// Returns the loads that checkpoint committed.
    pub fn restart(&mut self, name: &str) -> Vec<String> {
        self.prior
            .remove(name)
            .map(|p| p.load_ids)
            .unwrap_or_default()
    }

    /// Resource `name` finished: its commit work joins the next chunk's, with `parent_rows`,
    /// the fields of its records that its dependents need, if it has any.
    pub fn finish(
        &mut self,
        name: &str,
        commits: Vec<ResourceCommit>,
        parent_rows: Option<Vec<ParentRow>>,
    ) {
        let (rows, pages) = self
            .running
            .remove(name)
            .map_or((0, 0), |r| (r.rows, r.pages));
        self.finished.push(Finished {
            resource: name.to_string(),
            commits,
            parent_rows,
            rows,
            pages,
        });
    }

    /// Whether a checkpoint is due and can be taken now: a resource passed its interval (of
    /// rows, or of time with new rows), and every running resource can say where it continues.
    pub fn due(&self) -> bool {
        let elapsed = self.since.elapsed();
        let spaced = elapsed >= PACED_SPACING.max(self.last_cost * PACED_SHARE);
        let passed = self.running.values().any(|r| {
            r.every.is_some_and(|every| {
                (r.since >= every.rows && (spaced || !every.paced))
                    || (r.since > 0 && elapsed >= CHECKPOINT_INTERVAL)
                    || (r.since > 0 && r.settled && spaced)
            })
        });
        passed
            && self
                .running
                .values()
                .all(|r| r.every.is_some() && (r.resumable || r.pages == 0))
    }

    /// The commit of the chunk in progress as a checkpoint: the finished resources' work, and
    /// each running resource's rows so far (its tables among `loaded`, the tables that got
    /// rows in this chunk).
    pub fn checkpoint_plan(&self, loaded: &[LoadedTable]) -> CommitPlan {
        let mut resources: Vec<ResourceCommit> = self
            .finished
            .iter()
            .flat_map(|f| f.commits.iter().cloned())
            .collect();
        for r in self.running.values().filter(|r| r.since > 0) {
            let root = &r.hints.table_name;
            let prefix = format!("{root}__");
            let tables = loaded
                .iter()
                .filter(|t| &t.name == root || t.name.starts_with(&prefix))
                .cloned()
                .collect();
            resources.push(ResourceCommit {
                hints: r.hints.clone(),
                tables,
                cursor: None,
                // Not known for part of a run: the commit ranks the chunk's keys.
                keys_unique: false,
            });
        }
        self.plan(resources)
    }

    /// The checkpoint rows the chunk's commit saves: each running resource's position, each
    /// finished one as done.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let running = self
            .running
            .iter()
            .filter(|(_, r)| r.pages > 0)
            .map(|(name, r)| (name, r.position.clone(), r.rows, r.pages, None));
        let finished = self
            .finished
            .iter()
            .map(|f| (&f.resource, None, f.rows, f.pages, f.parent_rows.clone()));
        running
            .chain(finished)
            .map(|(name, position, rows, pages, parent_rows)| {
                let prior = self.prior.get(name);
                let mut load_ids: Vec<String> =
                    prior.map(|p| p.load_ids.clone()).unwrap_or_default();
                load_ids.extend(self.committed.iter().cloned());
                load_ids.push(self.load_id.to_string());
                load_ids.dedup();
                Checkpoint {
                    resource: name.clone(),
                    position,
                    rows: rows + prior.map_or(0, |p| p.rows),
                    pages: pages + prior.map_or(0, |p| p.pages),
                    load_ids,
                    at: String::new(),
                    parent_rows,
                }
            })
            .collect()
    }

    /// The chunk was committed, the checkpoint taking `took`: the next one starts, with a new
    /// load id.
    pub fn committed(&mut self, took: Duration) {
        self.last_cost = took;
        self.committed.push(self.load_id.to_string());
        self.rows_committed += self.running.values().map(|r| r.since as u64).sum::<u64>();
        self.rows_committed += self.finished.iter().map(|f| f.rows).sum::<u64>();
        for r in self.running.values_mut() {
            r.since = 0;
            r.settled = false;
        }
        self.finished.clear();
        self.load_id = LoadId::new();
        self.since = Instant::now();
    }

    /// The final commit: every resource has finished.
    pub fn final_plan(&self) -> CommitPlan {
        let resources = self
            .finished
            .iter()
            .flat_map(|f| f.commits.iter().cloned())
            .collect();
        self.plan(resources)
    }

    fn plan(&self, resources: Vec<ResourceCommit>) -> CommitPlan {
        CommitPlan {
            load_id: self.load_id.clone(),
            schema_name: self.options.schema_name.clone(),
            resources,
            allow_empty_replace: self.options.allow_empty_replace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A checkpointed load's chunks with `orders` running at `every`, one page of 10 in.
    fn after_a_page(every: CheckpointInterval) -> Chunks {
        let options = ChunkOptions {
            enabled: true,
            ..Default::default()
        };
        let mut chunks = Chunks::new(options, HashMap::new());
        chunks.start("orders", &TableHints::named("orders"), Some(every));
        chunks.page("orders", 10, Some(json!({"page": 2})), false);
        chunks
    }

    #[test]
    fn a_paced_interval_waits_for_its_spacing_and_an_exact_one_does_not() {
        assert!(after_a_page(CheckpointInterval::exactly(10)).due());
        let mut paced = after_a_page(CheckpointInterval {
            rows: 10,
            paced: true,
        });
        assert!(!paced.due(), "30 s have not passed");
        let Some(earlier) = Instant::now().checked_sub(PACED_SPACING) else {
            return;
        };
        paced.since = earlier;
        assert!(paced.due());
        // After a checkpoint that took 30 s, 30 s are not enough.
        paced.last_cost = PACED_SPACING;
        assert!(!paced.due());
    }

    #[test]
    fn a_settled_page_is_committed_once_pacing_allows_however_few_its_rows() {
        let every = CheckpointInterval::exactly(100_000);
        let mut chunks = after_a_page(every);
        chunks.page("orders", 5, Some(json!({"page": 3})), true);
        assert!(!chunks.due(), "paced: 30 s have not passed");
        let Some(earlier) = Instant::now().checked_sub(PACED_SPACING) else {
            return;
        };
        chunks.since = earlier;
        assert!(chunks.due());
        chunks.committed(Duration::ZERO);
        chunks.since = earlier;
        chunks.page("orders", 5, Some(json!({"page": 4})), false);
        assert!(!chunks.due(), "the window's end was committed");
    }
}
