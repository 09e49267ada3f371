//! dlt's layout on a page with tricky values (variants, nested lists, nulls), through the
//! library's normalize and decode stages.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use dango::engine::decode_stage::PageDecoder;
use dango::hints::{TableHints, WriteDisposition};
use dango::source::Page;
use dango::source::rest::selector::take_records;

fn tricky() -> HashMap<String, arrow::record_batch::RecordBatch> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pages/tricky.json");
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let records = take_records(&mut body, None).unwrap();
    let hints = TableHints {
        table_name: "people".into(),
        write_disposition: WriteDisposition::Append,
        primary_key: vec![],
        merge_key: vec![],
        max_table_nesting: 1000,
    };
    let mut decoder = PageDecoder::new(hints, "1700000000.1", HashMap::new());
    decoder
        .decode(Page { number: 0, records })
        .unwrap()
        .into_iter()
        .collect()
}

fn names(batch: &arrow::record_batch::RecordBatch) -> Vec<String> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[test]
fn root_columns_types_and_variants() {
    let t = tricky();
    let people = &t["people"];
    assert_eq!(people.num_rows(), 3);
    assert_eq!(
        names(people),
        [
            "id",
            "user_name",
            "price",
            "created_at",
            "address__city",
            "address__geo__lat",
            "address__geo__lng",
            "_dlt_load_id",
            "_dlt_id",
            "price__v_double",
            "created_at__v_text",
            "note",
            "price__v_text",
            "_2fa"
        ]
    );
    let schema = people.schema();
    let ty = |c: &str| schema.field_with_name(c).unwrap().data_type().clone();
    assert_eq!(ty("price"), DataType::Int64);
    assert_eq!(ty("price__v_double"), DataType::Float64);
    assert!(matches!(ty("created_at"), DataType::Timestamp(_, Some(_))));
    let col = |c: &str| people.column(schema.index_of(c).unwrap()).clone();
    assert_eq!(
        col("created_at__v_text").as_string::<i32>().value(1),
        "not a date"
    );
    assert!(
        !col("created_at").is_null(2),
        "a space-separated datetime is a timestamp"
    );
    assert_eq!(col("price__v_text").as_string::<i32>().value(2), "n/a");
    assert!(col("note").is_null(0));
}

#[test]
fn child_tables_and_nested_lists() {
    let t = tricky();
    let mut tables: Vec<&str> = t.keys().map(String::as_str).collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "people",
            "people__items",
            "people__matrix",
            "people__matrix__list",
            "people__tags"
        ]
    );
    let items = &t["people__items"];
    assert_eq!(items.num_rows(), 3);
    // 2.0 fits the BIGINT column; "3" is coerced as dlt coerces it.
    let qty = items
        .column(items.schema().index_of("qty").unwrap())
        .as_primitive::<Int64Type>()
        .clone();
    assert_eq!(qty.values().to_vec(), vec![1, 2, 3]);
    assert_eq!(t["people__matrix__list"].num_rows(), 3);
    assert_eq!(
        names(&t["people__tags"]),
        ["value", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]
    );
}
