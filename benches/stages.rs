//! Per-stage benchmarks on a page of mock orders (nested, ~2.5 line items each), in pipeline
//! order: parse the response body, normalize, normalize + Arrow decode, dedupe in DataFusion,
//! and loading into DuckDB through the appender.

use std::collections::HashMap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dango::engine::decode_stage::PageDecoder;
use dango::hints::{TableHints, WriteDisposition};
use dango::mock_api::order;
use dango::normalize::Normalizer;
use dango::source::Page;
use dango::warehouse::Load;
use serde_json::Value;

const ROWS: usize = 1000;

fn page() -> Vec<Value> {
    (1..=ROWS).map(order).collect()
}

/// A decoder for the mock orders, as a sync makes one per resource.
fn decoder() -> PageDecoder {
    let hints = TableHints {
        table_name: "orders".into(),
        write_disposition: WriteDisposition::Merge,
        primary_key: vec!["id".into()],
        merge_key: vec![],
        max_table_nesting: 1000,
    };
    PageDecoder::new(hints, "1.0", HashMap::new())
}

/// The decode stage as a sync runs it: normalize, then Arrow batches per table.
fn normalize_and_build(
    decoder: &mut PageDecoder,
    records: Vec<Value>,
) -> Vec<(String, arrow::record_batch::RecordBatch)> {
    decoder
        .decode(Page { number: 0, records })
        .expect("decodes")
}

fn stages(c: &mut Criterion) {
    let records = page();
    let mut group = c.benchmark_group("page_of_1000_orders");
    group.throughput(Throughput::Elements(ROWS as u64));
    let body = serde_json::to_vec(&serde_json::json!({"items": records, "total": ROWS}))
        .expect("serializes");
    group.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&body).expect("parses"))
    });
    group.bench_function("normalize", |b| {
        b.iter_batched(
            || records.clone(),
            |recs| {
                let mut n = Normalizer::new("orders", "1.0", 1000, true);
                let mut rows = 0;
                for r in recs {
                    n.normalize(r, &mut |_, _| rows += 1);
                }
                rows
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("normalize_and_decode", |b| {
        // One decoder for every page, as in a sync: its columns and builders carry over.
        let mut decoder = decoder();
        b.iter_batched(
            || records.clone(),
            |recs| normalize_and_build(&mut decoder, recs),
            criterion::BatchSize::LargeInput,
        )
    });
    let batches = normalize_and_build(&mut decoder(), records.clone());
    let root = batches[0].1.clone();
    group.bench_function("dedupe", |b| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let ctx = datafusion::prelude::SessionContext::new();
        let key = vec!["id".to_string()];
        b.iter(|| {
            runtime
                .block_on(dango::dedupe::latest_per_key(&ctx, root.clone(), &key))
                .expect("dedupes")
        })
    });
    group.bench_function("load_into_duckdb", |b| {
        // A warehouse file, as a sync writes one: appends go to its open load transaction.
        let dir = tempfile::tempdir().unwrap();
        let conn = dango::warehouse::connect(&dir.path().join("warehouse.duckdb")).unwrap();
        let mut load = Load::begin(&conn, "bench", false).unwrap();
        b.iter(|| {
            for (table, batch) in &batches {
                load.append(table, batch.clone()).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
