//! dlt's layout on a page with tricky values (variants, nested lists, nulls), through the
//! stages a sync runs: normalise, then a table's stages.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};

use super::TableStages;
use super::tests::names;
use crate::hints::{LoadId, TableHints, WriteDisposition};
use crate::source::rest::selector::{locate_records, take_records};
use crate::source::{Page, Records};

const TRICKY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pages/tricky.json");

/// The tricky page's tables, its records read from the text as a sync reads them.
fn tricky() -> HashMap<String, arrow::record_batch::RecordBatch> {
    let body = bytes::Bytes::from(std::fs::read(TRICKY).unwrap());
    let spans = locate_records(&body, None).unwrap().unwrap().spans;
    decoded(Records::Text { body, spans })
}

/// The tricky page's tables, its records parsed first (as for incremental resources).
fn tricky_parsed() -> HashMap<String, arrow::record_batch::RecordBatch> {
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(TRICKY).unwrap()).unwrap();
    decoded(Records::Parsed(take_records(&mut body, None).unwrap()))
}

fn decoded(records: Records) -> HashMap<String, arrow::record_batch::RecordBatch> {
    let hints = TableHints {
        write_disposition: WriteDisposition::Append,
        ..TableHints::named("people")
    };
    // One load for every page of these tests, so their `_dlt_load_id`s compare equal.
    static LOAD: std::sync::LazyLock<LoadId> = std::sync::LazyLock::new(LoadId::new);
    let mut stages = TableStages::new(Arc::new(hints), &LOAD, HashMap::new());
    let page = Page {
        number: 0,
        records,
        table: None,
        expected: None,
        position: None,
        restart: None,
        settled: false,
    };
    let rows = stages.normalizer().unwrap().normalize(page).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(stages.page(rows))
        .unwrap()
        .into_iter()
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

#[test]
fn parsed_and_text_records_make_the_same_tables() {
    let (text, parsed) = (tricky(), tricky_parsed());
    let mut tables: Vec<&String> = text.keys().collect();
    tables.sort();
    let mut parsed_tables: Vec<&String> = parsed.keys().collect();
    parsed_tables.sort();
    assert_eq!(tables, parsed_tables);
    for table in tables {
        let (a, b) = (&text[table], &parsed[table]);
        assert_eq!(a.schema(), b.schema(), "table {table}");
        assert_eq!(a.num_rows(), b.num_rows(), "table {table}");
        for (i, field) in a.schema().fields().iter().enumerate() {
            // Root ids are random, and the ids of child rows derive from them.
            if matches!(
                field.name().as_str(),
                "_dlt_id" | "_dlt_parent_id" | "_dlt_root_id"
            ) {
                continue;
            }
            assert_eq!(a.column(i), b.column(i), "{table}.{}", field.name());
        }
    }
}

#[test]
fn dlt_typed_json_keeps_decimals_dates_and_datetimes_and_plain_text_does_not() {
    // As dlt's `typed_dumpb` writes a Python source's items: private-use tags name the type.
    let page = "[{\"id\": 1, \"price\": \"\u{F026}12.50\", \"day\": \"\u{F028}2024-01-31\", \
                \"at\": \"\u{F027}2024-01-01T10:00:00+00:00\", \"ref\": \"\u{F029}9f1c\", \
                \"items\": [{\"cost\": \"\u{F026}-1E+2\"}]}]";
    let body = bytes::Bytes::from(page.as_bytes().to_vec());
    let spans = locate_records(&body, Some("$")).unwrap().unwrap().spans;
    let typed = decoded(Records::Typed {
        body: body.clone(),
        spans: spans.clone(),
    });
    let people = &typed["people"];
    let ty = |name: &str| people.column_by_name(name).unwrap().data_type().clone();
    assert_eq!(ty("price"), DataType::Decimal128(38, 9));
    assert_eq!(ty("day"), DataType::Date32);
    assert!(
        matches!(ty("at"), DataType::Timestamp(..)),
        "{:?}",
        ty("at")
    );
    assert_eq!(
        people
            .column_by_name("ref")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "9f1c"
    );
    let price = people.column_by_name("price").unwrap();
    assert_eq!(
        price
            .as_primitive::<arrow::datatypes::Decimal128Type>()
            .value(0),
        12_500_000_000
    );
    let cost = typed["people__items"].column_by_name("cost").unwrap();
    assert_eq!(
        cost.as_primitive::<arrow::datatypes::Decimal128Type>()
            .value(0),
        -100_000_000_000
    );
    // An API's strings are read as they are, whatever characters they start with.
    let plain = decoded(Records::Text { body, spans });
    let price = plain["people"].column_by_name("price").unwrap();
    assert_eq!(price.data_type(), &DataType::Utf8);
    assert_eq!(price.as_string::<i32>().value(0), "\u{F026}12.50");
}
