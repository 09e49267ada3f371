//! What a resource hands the engine: pages of records, in order, through a bounded channel, so
//! a slow warehouse slows the fetching instead of filling memory.

use std::ops::Range;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::json_path;
use crate::hints::TableHints;

/// One page of records, as selected from one response.
#[derive(Debug, Clone)]
pub struct Page {
    /// 0-based position of the page within its resource.
    pub number: usize,
    /// The records, each normally a JSON object.
    pub records: Records,
    /// The table they land in, when not the resource's own (a resource whose items go to
    /// several tables, as a dlt source's do).
    pub table: Option<Arc<TableHints>>,
    /// How many pages the resource will send in all, when the API has said (a total in the
    /// response): what progress shows as a bar with an ETA.
    pub expected: Option<usize>,
    /// Where the resource continues after this page, as it reads it back on resume
    /// ([`super::FetchInput::resume`]); `None` if it cannot say.
    pub position: Option<Value>,
    /// Set on the marker a resumed resource sends when its checkpoint cannot be replayed and it
    /// starts over (the reason); such a page has no records.
    pub restart: Option<String>,
    /// It ends a unit of the resource's work (a backfill's window): a checkpoint is taken after
    /// it as soon as pacing allows, not only once the interval's records are in.
    pub settled: bool,
}

/// A page's records: parsed, still JSON text (so the normaliser reads them in one pass without
/// building a tree of each), or Arrow columns (loaded as they are, as dlt loads Arrow items).
#[derive(Debug, Clone)]
pub enum Records {
    /// Parsed values.
    Parsed(Vec<Value>),
    /// Byte ranges of the records within a response body (whose JSON was checked when it was
    /// read).
    Text {
        /// The whole response body.
        body: Bytes,
        /// Where each record is in `body`.
        spans: Vec<Range<usize>>,
    },
    /// Rows as Arrow columns: no child tables, nested columns kept whole.
    Arrow(RecordBatch),
    /// Like `Text`, written by dlt's typed JSON: strings tagged with dlt's private-use
    /// characters carry decimals, dates, datetimes and the like, which keep their types.
    Typed {
        /// The whole page.
        body: Bytes,
        /// Where each record is in `body`.
        spans: Vec<Range<usize>>,
    },
}

impl Records {
    /// How many records there are.
    pub fn len(&self) -> usize {
        match self {
            Records::Parsed(values) => values.len(),
            Records::Text { spans, .. } | Records::Typed { spans, .. } => spans.len(),
            Records::Arrow(batch) => batch.num_rows(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `n` records.
    pub fn truncate(&mut self, n: usize) {
        match self {
            Records::Parsed(values) => values.truncate(n),
            Records::Text { spans, .. } | Records::Typed { spans, .. } => spans.truncate(n),
            Records::Arrow(batch) => *batch = batch.slice(0, n.min(batch.num_rows())),
        }
    }

    /// The records as parsed values, for the steps that look inside them.
    pub fn into_values(self) -> Result<Vec<Value>, RecordsError> {
        match self {
            Records::Parsed(values) => Ok(values),
            Records::Text { body, spans } | Records::Typed { body, spans } => spans
                .into_iter()
                .map(|span| crate::json::parse(body.get(span).unwrap_or_default()))
                .collect::<Result<_, _>>()
                .map_err(RecordsError::Json),
            Records::Arrow(batch) => arrow_to_values(&batch),
        }
    }

    /// The `fields` (JSONPaths) of every record, for the resources that run once per record of
    /// this one's; `Err` names a field a record lacks.
    pub fn capture(&self, fields: &[String]) -> Result<Vec<Map<String, Value>>, RecordsError> {
        let pick = |record: &Value| {
            let mut out = Map::new();
            for field in fields {
                let value = json_path::find(record, field)
                    .ok_or_else(|| RecordsError::MissingField(field.clone()))?;
                out.insert(field.clone(), value.clone());
            }
            Ok(out)
        };
        match self {
            Records::Parsed(values) => values.iter().map(pick).collect(),
            Records::Text { body, spans } | Records::Typed { body, spans } => spans
                .iter()
                .map(|span| {
                    let record = crate::json::parse(body.get(span.clone()).unwrap_or_default())
                        .map_err(RecordsError::Json)?;
                    pick(&record)
                })
                .collect(),
            Records::Arrow(batch) => arrow_to_values(batch)?.iter().map(pick).collect(),
        }
    }
}

/// Why records could not be read as values.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// A record's JSON could not be read.
    #[error("a record is not valid JSON: {0}")]
    Json(serde_json::Error),
    /// Arrow columns could not be written as JSON.
    #[error("Arrow rows could not be read as JSON: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A record lacks a field a dependent resource needs.
    #[error("a record has no field `{0}`, which a dependent resource needs")]
    MissingField(String),
}

/// The rows of `batch` as JSON objects.
fn arrow_to_values(batch: &RecordBatch) -> Result<Vec<Value>, RecordsError> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(RecordsError::Json)
}

/// Where a resource sends its pages: numbers them in order, and tells the resource when the
/// engine stopped listening (a failure elsewhere, or Ctrl-C) so it stops fetching.
#[derive(Debug)]
pub struct PageSender {
    tx: mpsc::Sender<Page>,
    next: usize,
    /// Pages wanted at most (`dango source test`); `None` in a sync.
    limit: Option<usize>,
    /// Whether pages may be fetched before they are asked for.
    ahead: bool,
    /// Pages the resource expects to send in all, once it knows.
    expected: Option<usize>,
}

/// The engine stopped taking pages; the resource should return.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the sync stopped taking pages")]
pub struct Stopped;

impl PageSender {
    /// A sender into `tx`.
    pub fn new(tx: mpsc::Sender<Page>) -> Self {
        Self {
            tx,
            next: 0,
            limit: None,
            ahead: true,
            expected: None,
        }
    }

    /// A sender that may stop taking pages at any point (`--limit`): nothing should be
    /// fetched ahead of being asked for.
    pub fn one_at_a_time(tx: mpsc::Sender<Page>) -> Self {
        Self {
            ahead: false,
            ..Self::new(tx)
        }
    }

    /// A sender that wants at most `limit` pages: resources that can stop early (REST) fetch
    /// no more once it has them, and none ahead of time.
    pub fn with_limit(tx: mpsc::Sender<Page>, limit: usize) -> Self {
        Self {
            limit: Some(limit),
            ..Self::one_at_a_time(tx)
        }
    }

    /// Whether it has all the pages it wants.
    pub fn done(&self) -> bool {
        self.limit.is_some_and(|l| self.next >= l)
    }

    /// Says that `left` more pages will follow the ones sent so far.
    pub fn expect_more(&mut self, left: usize) {
        self.expected = Some(self.next + left);
    }

    /// Whether pages may be fetched before they are asked for.
    pub fn fetch_ahead(&self) -> bool {
        self.ahead
    }

    /// Resolves once the engine takes no more pages, for a resource whose sending side may be
    /// blocked elsewhere (a thread reading a process) when the sync stops. The future holds a
    /// handle on the channel, which keeps the engine from seeing the last page: drop it as soon
    /// as the resource is done.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let tx = self.tx.clone();
        async move { tx.closed().await }
    }

    /// Hands one page over, waiting while the engine is busy with earlier ones.
    pub async fn send(&mut self, records: Records) -> Result<(), Stopped> {
        self.send_at(records, None).await
    }

    /// Hands one page over with `position`, where the resource continues after it: a
    /// checkpoint taken after this page saves it, and a resumed sync hands it back in
    /// [`super::FetchInput::resume`].
    pub async fn send_at(
        &mut self,
        records: Records,
        position: Option<Value>,
    ) -> Result<(), Stopped> {
        self.send_settled(records, position, false).await
    }

    /// [`Self::send_at`], and with `settled` the page ends a unit of work that a checkpoint
    /// should commit soon ([`Page::settled`]).
    pub async fn send_settled(
        &mut self,
        records: Records,
        position: Option<Value>,
        settled: bool,
    ) -> Result<(), Stopped> {
        let mut page = self.page(None, records);
        page.position = position;
        page.settled = settled;
        self.tx.send(page).await.map_err(|_| Stopped)?;
        self.next += 1;
        Ok(())
    }

    /// Says that the resource, resumed from a checkpoint it could not replay (`why`), starts
    /// over from the beginning of its range: what the interrupted sync appended of it is
    /// replaced by what follows, not loaded twice.
    pub async fn restart(&mut self, why: String) -> Result<(), Stopped> {
        let mut page = self.page(None, Records::Parsed(Vec::new()));
        page.restart = Some(why);
        self.tx.send(page).await.map_err(|_| Stopped)
    }

    /// Hands one page for `table` over from a thread outside the async runtime (a resource
    /// reading a process or file), blocking while the engine is busy with earlier ones.
    pub fn blocking_send_to(
        &mut self,
        table: Arc<TableHints>,
        records: Records,
    ) -> Result<(), Stopped> {
        let page = self.page(Some(table), records);
        self.tx.blocking_send(page).map_err(|_| Stopped)?;
        self.next += 1;
        Ok(())
    }

    fn page(&self, table: Option<Arc<TableHints>>, records: Records) -> Page {
        Page {
            number: self.next,
            records,
            table,
            expected: self.expected,
            position: None,
            restart: None,
            settled: false,
        }
    }

    /// Pages sent so far.
    pub fn pages(&self) -> usize {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use serde_json::json;

    use super::*;

    #[test]
    fn captures_fields_from_every_kind_of_page() {
        let fields = vec!["id".to_string()];
        let parsed = Records::Parsed(vec![json!({"id": 1, "x": "a"}), json!({"id": 2})]);
        let body = Bytes::from_static(br#"[{"id": 1}, {"id": 2}]"#);
        let text = Records::Text {
            body,
            spans: vec![1..10, 12..21],
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        for records in [parsed, text, Records::Arrow(batch)] {
            let rows = records.capture(&fields).unwrap();
            let ids: Vec<&Value> = rows.iter().map(|r| &r["id"]).collect();
            assert_eq!(ids, [&json!(1), &json!(2)], "{records:?}");
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        let records = Records::Parsed(vec![json!({"id": 1}), json!({"name": "x"})]);
        let err = records.capture(&["id".to_string()]).unwrap_err();
        assert!(err.to_string().contains("`id`"), "{err}");
    }
}
