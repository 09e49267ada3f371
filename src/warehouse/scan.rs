//! A table function that reads held Arrow batches where they lie, so a load inserts them with
//! `INSERT … SELECT` and DuckDB converts each vector straight into the table's storage. An
//! appender would first copy every row into a buffer of its own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use arrow::record_batch::RecordBatch;
use duckdb::Connection;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{
    BindInfo, InitInfo, TableFunctionInfo, VTab, record_batch_to_duckdb_data_chunk,
    to_duckdb_logical_type_for_field,
};

/// The table function's name in the database's catalog.
const FUNCTION: &str = "dango_held_batches";

/// Rows DuckDB takes in one call: its vector size.
const CHUNK_ROWS: usize = 2048;

/// Batches waiting for the statement that scans them, by ticket. The statement passes its
/// ticket to the function, whose bind takes the batches out.
static HANDED_OVER: LazyLock<Mutex<HashMap<u64, Vec<RecordBatch>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// Registers the function in `conn`'s database, for every connection to it.
pub fn register(conn: &Connection) -> duckdb::Result<()> {
    conn.register_table_function::<HeldBatches>(FUNCTION)
}

/// Batches handed over to one statement; taken back when dropped if it never scanned them.
pub struct Handover(u64);

impl Handover {
    /// Hands `batches`, all of one schema, over to the scan named by [`Handover::table`].
    pub fn new(batches: Vec<RecordBatch>) -> Self {
        let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
        handed_over().insert(ticket, batches);
        Self(ticket)
    }

    /// The table expression that scans the batches, for a `SELECT … FROM`.
    pub fn table(&self) -> String {
        format!("{FUNCTION}({}::UBIGINT)", self.0)
    }
}

impl Drop for Handover {
    fn drop(&mut self) {
        handed_over().remove(&self.0);
    }
}

fn handed_over() -> MutexGuard<'static, HashMap<u64, Vec<RecordBatch>>> {
    // Each entry is inserted or removed whole: a panicking holder leaves nothing half-done.
    HANDED_OVER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The batches one scan has yet to return.
pub struct Queue(Mutex<VecDeque<RecordBatch>>);

impl Queue {
    /// The next rows, at most one DuckDB vector of them; `None` once all are taken.
    fn next_chunk(&self) -> Option<RecordBatch> {
        let mut batches = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let front = batches.front_mut()?;
            let rows = front.num_rows();
            if rows == 0 {
                batches.pop_front();
            } else if rows <= CHUNK_ROWS {
                return batches.pop_front();
            } else {
                let chunk = front.slice(0, CHUNK_ROWS);
                *front = front.slice(CHUNK_ROWS, rows - CHUNK_ROWS);
                return Some(chunk);
            }
        }
    }
}

/// The table function over handed-over batches.
pub struct HeldBatches;

impl VTab for HeldBatches {
    type InitData = ();
    type BindData = Queue;

    fn bind(bind: &BindInfo) -> Result<Queue, Box<dyn std::error::Error>> {
        let ticket = bind.get_parameter(0).to_uint64();
        let batches = handed_over()
            .remove(&ticket)
            .ok_or("internal error: no batches were handed over for this scan")?;
        let first = batches
            .first()
            .ok_or("internal error: no batches to scan")?;
        for field in first.schema().fields() {
            bind.add_result_column(field.name(), to_duckdb_logical_type_for_field(field)?);
        }
        Ok(Queue(Mutex::new(batches.into())))
    }

    fn init(_: &InitInfo) -> Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        match info.get_bind_data().next_chunk() {
            Some(chunk) => record_batch_to_duckdb_data_chunk(&chunk, output),
            None => {
                output.set_len(0);
                Ok(())
            }
        }
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let ids: Vec<i64> = (from..from + rows).collect();
        let names: Vec<Option<String>> = ids
            .iter()
            .map(|i| (i % 7 != 0).then(|| format!("name {i}")))
            .collect();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    #[test]
    fn every_held_row_is_inserted_once_in_order() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id BIGINT, name VARCHAR)")
            .unwrap();
        // Batches smaller and larger than a vector, and an empty one.
        let batches = vec![batch(0, 5), batch(5, 0), batch(5, 4500), batch(4505, 2048)];
        let held = Handover::new(batches);
        conn.execute_batch(&format!("INSERT INTO t SELECT * FROM {}", held.table()))
            .unwrap();
        let (rows, distinct, in_order, nulls): (i64, i64, bool, i64) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT id), \
                 bool_and(id = rn - 1), count(*) FILTER (name IS NULL) \
                 FROM (SELECT id, name, row_number() OVER () AS rn FROM t)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((rows, distinct, in_order), (6553, 6553, true));
        assert_eq!(nulls, (0..6553).filter(|i| i % 7 == 0).count() as i64);
        let name: String = conn
            .query_row("SELECT name FROM t WHERE id = 6551", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "name 6551");
    }

    #[test]
    fn a_scan_without_its_batches_fails_and_dropped_batches_are_released() {
        let conn = crate::warehouse::connect_in_memory().unwrap();
        let held = Handover::new(vec![batch(0, 3)]);
        let (ticket, table) = (held.0, held.table());
        drop(held);
        assert!(!handed_over().contains_key(&ticket));
        let err = conn
            .execute_batch(&format!("SELECT * FROM {table}"))
            .unwrap_err();
        assert!(err.to_string().contains("no batches"), "{err}");
    }
}
