//! The incremental filter against records built by hand: ranges, bounds, cursor-less records,
//! row order, and the boundary carried between syncs.

use super::*;
use serde_json::json;

fn config() -> IncrementalConfig {
    IncrementalConfig::on("updated_at", Some(json!("2024-01-02")))
}

fn rec(id: u32, at: &str) -> Value {
    json!({"id": id, "updated_at": at})
}

/// The ids `filter` keeps of `records` under `config`, the first sync.
fn kept_ids(config: IncrementalConfig, records: Vec<Value>) -> Vec<u64> {
    let mut inc = Incremental::new(config, None);
    let kept = inc.filter(records).unwrap();
    kept.iter().filter_map(|r| r["id"].as_u64()).collect()
}

#[test]
fn range_start_and_range_end_say_whether_records_at_a_bound_load() {
    let records = || {
        vec![
            rec(1, "2024-01-01"),
            rec(2, "2024-01-02"),
            rec(3, "2024-01-03"),
            rec(4, "2024-01-04"),
        ]
    };
    let ranged = |range_start, range_end| IncrementalConfig {
        end_value: Some(json!("2024-01-04")),
        range_start,
        range_end,
        ..config()
    };
    assert_eq!(
        kept_ids(ranged(RangeBound::Closed, RangeBound::Open), records()),
        [2, 3]
    );
    assert_eq!(
        kept_ids(ranged(RangeBound::Open, RangeBound::Open), records()),
        [3]
    );
    assert_eq!(
        kept_ids(ranged(RangeBound::Closed, RangeBound::Closed), records()),
        [2, 3, 4]
    );
    assert_eq!(
        kept_ids(ranged(RangeBound::Open, RangeBound::Closed), records()),
        [3, 4]
    );
}

#[test]
fn row_order_says_when_no_later_page_can_hold_a_record_in_range() {
    let ordered = |row_order| IncrementalConfig {
        end_value: Some(json!("2024-01-04")),
        row_order: Some(row_order),
        ..config()
    };
    let mut asc = Incremental::new(ordered(RowOrder::Asc), None);
    asc.filter(vec![rec(1, "2024-01-01"), rec(2, "2024-01-03")])
        .unwrap();
    assert!(!asc.past_range(), "records before the start come first");
    asc.filter(vec![rec(3, "2024-01-03"), rec(4, "2024-01-05")])
        .unwrap();
    assert!(asc.past_range());
    let mut desc = Incremental::new(ordered(RowOrder::Desc), None);
    desc.filter(vec![rec(4, "2024-01-05"), rec(3, "2024-01-03")])
        .unwrap();
    assert!(!desc.past_range(), "records after the end come first");
    desc.filter(vec![rec(1, "2024-01-01")]).unwrap();
    assert!(desc.past_range());
    // Without an order, nothing is concluded, and pages may be fetched ahead.
    let mut unordered = Incremental::new(config(), None);
    unordered.filter(vec![rec(1, "2024-01-01")]).unwrap();
    assert!(!unordered.past_range() && unordered.fetches_ahead());
    desc.new_pagination();
    assert!(
        !desc.past_range(),
        "a dependent resource's next parent row starts afresh"
    );
}

#[test]
fn records_without_a_cursor_value_raise_load_or_drop_as_configured() {
    let records = || {
        vec![
            rec(1, "2024-01-03"),
            json!({"id": 2}),
            json!({"id": 3, "updated_at": null}),
        ]
    };
    let missing = |on_cursor_value_missing| IncrementalConfig {
        on_cursor_value_missing,
        ..config()
    };
    let mut raising = Incremental::new(missing(OnCursorValueMissing::Raise), None);
    let err = raising.filter(records()).unwrap_err();
    assert!(err.to_string().contains("on_cursor_value_missing"), "{err}");
    assert_eq!(
        kept_ids(missing(OnCursorValueMissing::Include), records()),
        [1, 2, 3]
    );
    assert_eq!(
        kept_ids(missing(OnCursorValueMissing::Exclude), records()),
        [1]
    );
    // An included record has no say in the cursor.
    let mut including = Incremental::new(missing(OnCursorValueMissing::Include), None);
    including.filter(records()).unwrap();
    assert_eq!(
        including.state("r").map(|s| s.last_value),
        Some(json!("2024-01-03"))
    );
}

#[test]
fn older_records_are_dropped_and_the_boundary_moves() {
    let mut inc = Incremental::new(config(), None);
    let kept = inc
        .filter(vec![
            rec(1, "2024-01-01"),
            rec(2, "2024-01-02"),
            rec(3, "2024-01-03"),
            rec(4, "2024-01-03"),
        ])
        .unwrap();
    assert_eq!(kept.len(), 3);
    let state = inc.state("r").unwrap();
    assert_eq!(state.last_value, json!("2024-01-03"));
    assert_eq!(state.boundary.len(), 2);

    // The next sync gets the boundary records again, plus a new one at the boundary.
    let mut next = Incremental::new(config(), Some(&state));
    assert_eq!(next.placeholders()[0].1, json!("2024-01-03"));
    let kept = next
        .filter(vec![
            rec(3, "2024-01-03"),
            rec(4, "2024-01-03"),
            rec(5, "2024-01-03"),
        ])
        .unwrap();
    assert_eq!(kept, vec![rec(5, "2024-01-03")]);
    assert_eq!(next.state("r").unwrap().boundary.len(), 3);
}

#[test]
fn end_value_and_min_direction() {
    let mut cfg = config();
    cfg.end_value = Some(json!("2024-01-03"));
    let mut inc = Incremental::new(cfg, None);
    assert_eq!(
        inc.filter(vec![rec(1, "2024-01-02"), rec(2, "2024-01-03")])
            .unwrap()
            .len(),
        1
    );

    let mut cfg = config();
    cfg.last_value_func = LastValueFunc::Min;
    let mut inc = Incremental::new(cfg, None);
    let kept = inc
        .filter(vec![rec(1, "2024-01-01"), rec(2, "2024-01-05")])
        .unwrap();
    assert_eq!(kept, vec![rec(1, "2024-01-01")]);
    assert_eq!(inc.state("r").unwrap().last_value, json!("2024-01-01"));
}

#[test]
fn a_record_without_the_cursor_is_an_error() {
    let mut inc = Incremental::new(config(), None);
    assert!(inc.filter(vec![json!({"id": 1})]).is_err());
    let (body, spans) = page(&[json!({"id": 1, "updated_at": null})]);
    assert!(inc.filter_text(&body, spans).is_err());
}

/// `records` as a page body (a list, spaced as an API might) and their spans in it.
fn page(records: &[Value]) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut body = b"[ ".to_vec();
    let mut spans = Vec::new();
    for record in records {
        let start = body.len();
        body.extend(serde_json::to_vec(record).unwrap());
        spans.push(start..body.len());
        body.extend(b" ,\n ");
    }
    (body, spans)
}

#[test]
fn records_read_as_text_are_filtered_as_parsed_ones_are() {
    let mut end = config();
    end.end_value = Some(json!("2024-01-04"));
    let mut min = config();
    min.last_value_func = LastValueFunc::Min;
    let mut nested = config();
    nested.cursor_path = "$.meta.at".into();
    let flat = |id, at: &str| json!({"id": id, "updated_at": at, "meta": {"at": at}});
    let pages = [
        vec![
            flat(1, "2024-01-01"),
            flat(2, "2024-01-03"),
            flat(3, "2024-01-03"),
        ],
        vec![
            flat(3, "2024-01-03"),
            flat(4, "2024-01-04"),
            flat(5, "2024-01-02"),
        ],
    ];
    for cfg in [config(), end, min, nested] {
        let (mut parsed, mut read) = (Incremental::new(cfg.clone(), None), None);
        for records in &pages {
            let kept = parsed.filter(records.clone()).unwrap();
            let text = read.get_or_insert_with(|| Incremental::new(cfg.clone(), None));
            let (body, spans) = page(records);
            let spans = text.filter_text(&body, spans).unwrap();
            let kept_text: Vec<Value> = spans
                .iter()
                .map(|s| serde_json::from_slice(&body[s.clone()]).unwrap())
                .collect();
            assert_eq!(kept, kept_text, "{cfg:?}");
        }
        let (parsed, read) = (parsed.state("r"), read.unwrap().state("r"));
        assert_eq!(
            parsed.as_ref().map(|s| &s.boundary),
            read.as_ref().map(|s| &s.boundary)
        );
        assert_eq!(parsed.map(|s| s.last_value), read.map(|s| s.last_value));
    }
    // The boundary is carried over from a state saved by either path.
    let mut first = Incremental::new(config(), None);
    let (body, spans) = page(&pages[0]);
    first.filter_text(&body, spans).unwrap();
    let saved = first.state("r").unwrap();
    assert_eq!(saved.boundary.len(), 2);
    let mut next = Incremental::new(config(), Some(&saved));
    let (body, spans) = page(&pages[1]);
    let kept = next.filter_text(&body, spans.clone()).unwrap();
    assert_eq!(kept, spans[1..2]);
    let indexed = IncrementalConfig {
        cursor_path: "items[0].at".into(),
        ..config()
    };
    assert!(!Incremental::new(indexed, None).reads_text());
}
