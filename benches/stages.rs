//! Per-stage benchmarks on a page of mock orders (nested, ~2.5 line items each), in pipeline
//! order: locate the records in the response body, normalize them from the text, a merge
//! table's stages as a sync runs them (normalize, then build + dedupe), a transform and dedupe
//! in DataFusion alone, and load into DuckDB through the appender. `parse_values` times what the records cost parsed into a tree first, which Dango
//! now does only when a fetch step must look inside them (incremental cursors, dependents).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use dango::bench::{
    APPEND_THREADS, Load, Normalizer, Rows, TableStages, Transform, connect,
    latest_per_key_in_page, locate_records,
};
use dango::hints::{LoadId, TableHints, WriteDisposition};
use dango::mock_api::order;
use dango::source::{Page, Records};
use serde_json::Value;

const ROWS: usize = 1000;

/// Pages the load bench cycles through: more than the 123 it takes to fill a DuckDB row group
/// of orders, so no row group sees an id twice.
const DISTINCT_PAGES: usize = 128;

/// A response body of the first page of orders, as the mock API sends it.
fn body() -> Bytes {
    body_at(0)
}

/// The body of page `page` (from 0) of orders.
fn body_at(page: usize) -> Bytes {
    let records: Vec<Value> = (page * ROWS + 1..=(page + 1) * ROWS).map(order).collect();
    serde_json::to_vec(&serde_json::json!({"items": records, "total": ROWS}))
        .expect("serializes")
        .into()
}

/// Where the page's records are in `body`, located as a sync does.
fn spans(body: &Bytes) -> Vec<std::ops::Range<usize>> {
    locate_records(body, Some("items"))
        .expect("reads")
        .expect("a plain path")
        .spans
}

/// The page's records, as the fetch stage hands them on.
fn records(body: &Bytes) -> Records {
    Records::Text {
        body: body.clone(),
        spans: spans(body),
    }
}

/// The stages of the mock orders' table, as a sync makes them once per table.
fn stages() -> TableStages {
    let hints = TableHints {
        write_disposition: WriteDisposition::Merge,
        primary_key: vec!["id".into()],
        ..TableHints::named("orders")
    };
    TableStages::new(Arc::new(hints), &LoadId::new(), HashMap::new())
}

/// A page through the table's stages as a sync runs them: normalize, then build and dedupe.
fn through_stages(
    runtime: &tokio::runtime::Runtime,
    stages: &mut TableStages,
    records: Records,
) -> Vec<(String, arrow::record_batch::RecordBatch)> {
    let page = Page {
        number: 0,
        records,
        table: None,
        expected: None,
        position: None,
        restart: None,
        settled: false,
    };
    let mut normalizer = stages.normalizer().expect("a decoder");
    let rows = normalizer.normalize(page).expect("normalizes");
    runtime.block_on(stages.page(rows)).expect("builds")
}

fn bench_stages(c: &mut Criterion) {
    let body = body();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("page_of_1000_orders");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("parse_values", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&body).expect("parses"))
    });
    group.bench_function("locate", |b| b.iter(|| records(&body)));
    group.bench_function("normalize", |b| {
        let spans = spans(&body);
        // One normaliser for every page, as in a sync: its names are cached.
        let mut n = Normalizer::new("orders", "1.0", 1000, true);
        b.iter(|| {
            let mut rows = Rows::of_body(body.clone(), ROWS * 4);
            for span in &spans {
                n.normalize_json(span.clone(), &mut rows)
                    .expect("normalizes");
            }
            rows.len()
        })
    });
    group.bench_function("table_stages", |b| {
        // One table's stages for every page, as in a sync: its columns and builders carry over.
        let mut stages = stages();
        b.iter_batched(
            || records(&body),
            |recs| through_stages(&runtime, &mut stages, recs),
            criterion::BatchSize::LargeInput,
        )
    });
    let batches = through_stages(&runtime, &mut stages(), records(&body));
    let root = batches[0].1.clone();
    group.bench_function("dedupe", |b| {
        // The page's root and child batches, as the stage gets them; distinct keys, as usual.
        let ctx = datafusion::prelude::SessionContext::new();
        let key = vec!["id".to_string()];
        b.iter(|| {
            runtime
                .block_on(latest_per_key_in_page(
                    &ctx,
                    batches.clone(),
                    "orders",
                    &key,
                ))
                .expect("dedupes")
        })
    });
    group.bench_function("transform", |b| {
        // The end-to-end bench's transform: a filter and two computed columns, planned once.
        let sql = "SELECT *, total * 100 AS total_cents, lower(order_number) AS order_ref \
                   FROM data WHERE status <> 'test'";
        let mut transform = Transform::new("orders", sql, &["id".to_string()]);
        b.iter(|| {
            runtime
                .block_on(transform.apply(&root))
                .expect("transforms")
                .batch
        })
    });
    // A warehouse file, as a sync writes one (DuckDB on one thread while appending), with one
    // load transaction for the whole bench: criterion calls a bench's closure for every sample,
    // and a sample of a dozen pages would end before DuckDB fills and compresses a row group.
    // Pages of different orders, each with ids of its own, and more of them than a row group
    // holds: DuckDB picks each column's compression per row group, and one page loaded over and
    // over would show it ids that repeat, which a sync never does.
    let mut pages_stages = stages();
    let pages: Vec<_> = (0..DISTINCT_PAGES)
        .map(|page| through_stages(&runtime, &mut pages_stages, records(&body_at(page))))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let conn = connect(&dir.path().join("warehouse.duckdb")).unwrap();
    conn.execute_batch(APPEND_THREADS).unwrap();
    let mut load = Load::begin(&conn, "bench", false, Default::default()).unwrap();
    let mut next = pages.iter().cycle();
    group.finish();
    // DuckDB's cost comes in bursts, a row group at a time (123 pages of orders): every sample
    // spans a few of them, so that samples can be compared.
    let mut group = c.benchmark_group("page_of_1000_orders");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.bench_function("load_into_duckdb", |b| {
        // The mean is per page, amortised: the load appends every 10,000 rows of a table.
        b.iter(|| {
            for (table, batch) in next.next().expect("cycles forever") {
                load.append(table, batch.clone()).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_stages);
criterion_main!(benches);
