//! Giving the file back the space of loads that never committed. DuckDB writes a large load's
//! row groups into the database file before the commit; a rollback (or a kill) frees those blocks
//! but leaves the file at the size the load reached, and DuckDB only cuts the free tail off in a
//! checkpoint, which it skips while its write-ahead log is empty. A load that failed because the
//! disk filled up would otherwise leave the disk full, and the next sync would fail at its commit.
//! (When the failure was the disk filling up, the bundled DuckDB (1.5) keeps the one block it
//! could not write, so the cut stops there; the blocks before it are free for the next sync,
//! whose checkpoint cuts the file to what it holds: see docs/performance.md, "Measurements
//! behind the code".)
//!
//! A killed load's blocks stay in the file: DuckDB 1.5 does not know them after a restart (its
//! checkpoint cuts only blocks on its free list; DuckDB 2 also cuts these), and Dango does not
//! cut a file DuckDB has open. The next sync writes its blocks over them, so kills never add up.

use duckdb::Connection;

/// Cuts the free blocks at the end of the file off. The checkpoint writes into blocks the file
/// already has, so it works on a full disk. It must run with no load open: DuckDB refuses to
/// checkpoint while another transaction has changes.
pub fn reclaim(conn: &Connection) -> duckdb::Result<()> {
    // `force_checkpoint` makes the checkpoint run although the log is empty (it stays on for
    // this database; a checkpoint with nothing to write costs a header write). `FORCE CHECKPOINT`
    // is something else: it aborts other transactions.
    conn.execute_batch("PRAGMA force_checkpoint; CHECKPOINT")
}
