//! Per-stage benchmarks on a page of mock orders (nested, ~2.5 line items each): normalize,
//! normalize + Arrow decode, and staging into DuckDB through the appender.

use std::collections::HashMap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dango::decode::TableBuilder;
use dango::mock_api::order;
use dango::normalize::Normalizer;
use dango::warehouse::staging::StagingTables;
use serde_json::Value;

const ROWS: usize = 1000;

fn page() -> Vec<Value> {
    (1..=ROWS).map(order).collect()
}

fn normalize_and_build(records: Vec<Value>) -> Vec<(String, arrow::record_batch::RecordBatch)> {
    let mut n = Normalizer::new("orders", "1.0", 1000, true);
    let mut builders: HashMap<String, TableBuilder> = HashMap::new();
    for r in records {
        n.normalize(r, &mut |t, row| {
            builders
                .entry(t.to_string())
                .or_insert_with(|| TableBuilder::new(HashMap::new()))
                .push(row)
        });
    }
    builders
        .into_iter()
        .filter_map(|(t, mut b)| b.finish().ok().flatten().map(|batch| (t, batch)))
        .collect()
}

fn stages(c: &mut Criterion) {
    let records = page();
    let mut group = c.benchmark_group("page_of_1000_orders");
    group.throughput(Throughput::Elements(ROWS as u64));
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
        b.iter_batched(
            || records.clone(),
            normalize_and_build,
            criterion::BatchSize::LargeInput,
        )
    });
    let batches = normalize_and_build(records.clone());
    group.bench_function("stage_into_duckdb", |b| {
        let conn = dango::warehouse::connect_in_memory().unwrap();
        let mut staging = StagingTables::default();
        staging.reset(&conn, "bench_staging").unwrap();
        b.iter(|| {
            for (table, batch) in &batches {
                staging
                    .append(&conn, "bench_staging", table, batch.clone())
                    .unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
