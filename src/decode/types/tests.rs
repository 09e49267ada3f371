//! dlt's type rules on values: classification, coercion, timestamps.

use super::*;

#[test]
fn detects_timestamps_as_dlt_does() {
    // The left column was checked against dlt's `is_iso_timestamp`.
    let yes = [
        "2024-01-01T10:00:00Z",
        "2024-01-01 10:00:00",
        "2024-01-01T10:00:00.123+02:00",
        "2024-01-01T10:00",
        "20240115T101010Z",
        "2024-01-01T10:00:00+0200",
        "2024-01-01T10Z",
    ];
    let no = [
        "2024-01-01",
        "2024",
        "2024/01/15",
        "20240115",
        "10:00",
        "abc",
        "1",
        "2024-13-01T00:00:00Z",
        "2024-W01",
        "2024-1-1T10:00:00",
    ];
    for s in yes {
        assert!(
            parse_iso_timestamp(s).is_some(),
            "{s} should be a timestamp"
        );
    }
    for s in no {
        assert!(parse_iso_timestamp(s).is_none(), "{s} should be text");
    }
}

#[test]
fn the_common_form_reads_as_the_general_reader_reads_it() {
    let forms = [
        "2024-01-01T10:00:00Z",
        "2024-01-01t10:00:00z",
        "2024-01-01 10:00:00",
        "2024-02-29T23:59:59.5Z",
        "2024-01-01T10:00:00.123456789Z",
        "1969-12-31T23:59:59.999999Z",
        "2023-02-29T10:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T10:00:60Z",
        "2024-01-01T10:00:00.Z",
        "2024-01-01T10:00:00.1234567890Z",
        "2024-01-01T10:00:0xZ",
        "2024-01-01X10:00:00Z",
    ];
    for s in forms {
        if let Some(micros) = full_utc_timestamp(s) {
            assert_eq!(Some(micros), any_iso_timestamp(s), "{s}");
        }
    }
    assert_eq!(
        full_utc_timestamp("2024-02-29T23:59:59.5Z"),
        Some(1_709_251_199_500_000)
    );
    assert_eq!(full_utc_timestamp("2023-02-29T10:00:00Z"), None);
    assert_eq!(full_utc_timestamp("2024-01-01T10:00:00+02:00"), None);
}

#[test]
fn offsets_are_applied() {
    let utc = parse_iso_timestamp("2024-01-01T10:00:00Z").unwrap();
    assert_eq!(parse_iso_timestamp("2024-01-01T12:00:00+02:00"), Some(utc));
    assert_eq!(parse_iso_timestamp("2024-01-01 10:00:00"), Some(utc));
    assert_eq!(utc, 1_704_103_200_000_000);
}

#[test]
fn strings_classify_as_timestamps_or_text() {
    assert_eq!(classify_str("x"), Scalar::Text("x"));
    let ts = "2024-01-01T10:00:00Z";
    assert_eq!(
        classify_str(ts),
        Scalar::Timestamp(1_704_103_200_000_000, ts)
    );
}

#[test]
fn wide_integers_are_wei_up_to_38_digits_then_text() {
    assert_eq!(
        classify_wide("18446744073709551615"),
        Scalar::Wei(18446744073709551615)
    );
    assert_eq!(
        classify_wide("-9300000000000000000"),
        Scalar::Wei(-9300000000000000000)
    );
    let nines = "9".repeat(38);
    assert_eq!(classify_wide(&nines), Scalar::Wei(nines.parse().unwrap()));
    let long = "1".repeat(39);
    assert_eq!(classify_wide(&long), Scalar::Text(long.as_str()));
    assert_eq!(
        coerce(Scalar::BigInt(7), DltType::Wei),
        Some(Scalar::Wei(7))
    );
    assert_eq!(coerce(Scalar::Double(2.5), DltType::Wei), None);
    assert_eq!(
        coerce(Scalar::Wei(1 << 70), DltType::Text),
        Some(Scalar::Json("1180591620717411303424".into()))
    );
    assert_eq!(DltType::from_duckdb("DECIMAL(38,0)"), Some(DltType::Wei));
}

#[test]
fn decimals_and_dates_of_typed_json_keep_their_types() {
    assert_eq!(
        classify_decimal("12.50"),
        Scalar::Decimal(12_500_000_000, "12.50")
    );
    assert_eq!(
        classify_decimal("-1E+2"),
        Scalar::Decimal(-100_000_000_000, "-1E+2")
    );
    assert_eq!(
        classify_decimal("0.0000000005"),
        Scalar::Decimal(1, "0.0000000005")
    );
    assert_eq!(classify_decimal("NaN"), Scalar::Text("NaN"));
    assert_eq!(
        classify_decimal(&"9".repeat(30)),
        Scalar::Text(&"9".repeat(30))
    );
    assert_eq!(classify_date("1970-01-02"), Scalar::Date(1, "1970-01-02"));
    assert_eq!(classify_date("2024-13-01"), Scalar::Text("2024-13-01"));
    assert_eq!(
        coerce(Scalar::Date(1, "1970-01-02"), DltType::Text),
        Some(Scalar::Text("1970-01-02"))
    );
    assert_eq!(
        coerce(Scalar::BigInt(3), DltType::Decimal),
        Some(Scalar::Decimal(3_000_000_000, ""))
    );
    assert_eq!(coerce(Scalar::Text("x"), DltType::Date), None);
    // As dlt: a datetime keeps its (UTC) day, an integer is Unix seconds.
    let evening = parse_iso_timestamp("2024-03-01T22:30:00Z").unwrap();
    let day = coerce(Scalar::Timestamp(evening, "t"), DltType::Date);
    assert_eq!(day, Some(Scalar::Date(19783, "t")));
    let day = coerce(Scalar::BigInt(1_709_251_200), DltType::Date);
    assert_eq!(day, Some(Scalar::Date(19783, "")));
}

#[test]
fn declared_types_coerce_as_dlt_coerces_into_them() {
    let price = DltType::Numeric(12, 2);
    // dlt's examples: 1 → 1.00, 1.005 → 1.01, "3.14" → 3.14, "abc" and 1e20 do not fit.
    assert_eq!(
        coerce(Scalar::BigInt(1), price),
        Some(Scalar::Decimal(100, ""))
    );
    assert_eq!(
        coerce(Scalar::Double(1.005), price),
        Some(Scalar::Decimal(101, ""))
    );
    assert_eq!(
        coerce(Scalar::Text("3.14"), price),
        Some(Scalar::Decimal(314, ""))
    );
    assert_eq!(coerce(Scalar::Text("abc"), price), None);
    assert_eq!(coerce(Scalar::Double(1e20), price), None);
    let nine = classify_decimal("2.125");
    assert_eq!(coerce(nine, price), Some(Scalar::Decimal(213, "")));
    let tiny = DltType::SmallInt(8);
    assert_eq!(coerce(Scalar::BigInt(127), tiny), Some(Scalar::BigInt(127)));
    assert_eq!(coerce(Scalar::BigInt(300), tiny), None);
    assert_eq!(coerce(Scalar::Text("42"), tiny), Some(Scalar::BigInt(42)));
    let at = coerce(Scalar::Text("10:11:12.5"), DltType::Time);
    assert_eq!(at, Some(Scalar::Time(36_672_500_000, "10:11:12.5")));
    assert_eq!(coerce(Scalar::BigInt(3600), DltType::Time), None);
    let bytes = coerce(Scalar::Text("aGVsbG8="), DltType::Binary);
    assert_eq!(bytes, Some(Scalar::Bytes(b"hello".to_vec())));
    assert_eq!(coerce(Scalar::Text("hello"), DltType::Binary), None);
    let naive = coerce(
        Scalar::Text("2024-03-01T10:00:00+02:00"),
        DltType::NaiveTimestamp(3),
    );
    let utc = parse_iso_timestamp("2024-03-01T08:00:00Z").unwrap();
    assert!(
        matches!(naive, Some(Scalar::Timestamp(m, _)) if m == utc),
        "{naive:?}"
    );
}

#[test]
fn values_beyond_a_type_go_to_a_variant_never_to_infinity_or_a_wrapped_number() {
    // Each case was loaded with dlt 1.31 under the same column hint: it keeps the value in
    // a variant column (timestamps and dates: beyond Python's years 1 to 9999).
    let ts = DltType::Timestamp;
    for value in [
        Scalar::Text("12345678901234.5678"),
        Scalar::Text("253402300800"),
        Scalar::Text("10000-01-01"),
        Scalar::Double(1e23),
        Scalar::Double(-1e20),
        Scalar::Double(f64::INFINITY),
        Scalar::BigInt(12_345_678_901_234),
        Scalar::BigInt(253_402_300_800),
        Scalar::BigInt(-62_135_596_801),
        Scalar::BigInt(i64::MAX),
    ] {
        assert_eq!(coerce(value.clone(), ts), None, "{value:?}");
    }
    // The first and last seconds `datetime` holds fit; so does a fraction.
    let last = coerce(Scalar::BigInt(253_402_300_799), ts);
    assert_eq!(last, Some(Scalar::Timestamp(253_402_300_799_000_000, "")));
    let first = coerce(Scalar::BigInt(-62_135_596_800), ts);
    assert_eq!(first, Some(Scalar::Timestamp(FIRST_MICROS, "")));
    let text = coerce(Scalar::Text("1700000000.5"), ts);
    assert_eq!(
        text,
        Some(Scalar::Timestamp(1_700_000_000_500_000, "1700000000.5"))
    );
    // dlt reads these as text: year 0, and a time zone that carries 9999 into 10000.
    for s in ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00"] {
        assert_eq!(classify_str(s), Scalar::Text(s));
    }
    assert!(parse_iso_timestamp("9999-12-31T23:59:59.999999Z").is_some());

    let date = DltType::Date;
    for value in [
        Scalar::BigInt(12_345_678_901_234),
        Scalar::BigInt(253_402_300_800),
        Scalar::Double(1e23),
        Scalar::Text("99999-01-01"),
        Scalar::Text("0000-01-01"),
        Scalar::Text("12345678901234"),
    ] {
        assert_eq!(coerce(value.clone(), date), None, "{value:?}");
    }
    // As dlt: a float or a text of Unix seconds is read as its (UTC) day.
    let day = parse_date("2023-11-14");
    assert_eq!(
        coerce(Scalar::Double(1.7e9), date),
        Some(Scalar::Date(19675, ""))
    );
    assert_eq!(day, Some(19675));
    let text = coerce(Scalar::Text("1700000000"), date);
    assert_eq!(text, Some(Scalar::Date(19675, "1700000000")));

    // Nanoseconds hold the years 1677 to 2262 only: not NULL through Arrow's cast.
    let far = classify_str("2500-01-01T00:00:00Z");
    assert_eq!(coerce(far.clone(), DltType::NaiveTimestamp(9)), None);
    assert!(coerce(far, DltType::NaiveTimestamp(6)).is_some());
    let near = classify_str("2200-01-01T00:00:00Z");
    assert!(coerce(near, DltType::NaiveTimestamp(9)).is_some());

    // DECIMAL(38,9) holds 29 digits before the point.
    let widest = 10i128.pow(29) - 1;
    let fits = coerce(Scalar::Wei(widest), DltType::Decimal);
    assert_eq!(fits, Some(Scalar::Decimal(widest * 1_000_000_000, "")));
    assert_eq!(coerce(Scalar::Wei(widest + 1), DltType::Decimal), None);
    assert_eq!(coerce(Scalar::Wei(-widest - 1), DltType::Decimal), None);

    // Integers narrower than the value (dlt fails the load on these; see the README).
    assert_eq!(coerce(Scalar::Double(1e23), DltType::BigInt), None);
    assert_eq!(
        coerce(Scalar::Text("99999999999999999999"), DltType::BigInt),
        None
    );
    assert_eq!(coerce(Scalar::Wei(1 << 70), DltType::BigInt), None);
    for (bits, value) in [(8, 128), (8, -129), (16, 32_768), (32, 2_147_483_648)] {
        let narrow = DltType::SmallInt(bits);
        assert_eq!(
            coerce(Scalar::BigInt(value), narrow),
            None,
            "{bits}: {value}"
        );
        let edge = if value < 0 { value + 1 } else { value - 1 };
        let fitted = coerce(Scalar::BigInt(edge), narrow);
        assert_eq!(fitted, Some(Scalar::BigInt(edge)), "{bits}: {edge}");
    }
    assert_eq!(coerce(Scalar::Wei(1 << 70), DltType::SmallInt(32)), None);
    assert_eq!(coerce(Scalar::Double(1e23), DltType::SmallInt(16)), None);

    // Times, as dlt: a time of day only.
    assert_eq!(coerce(Scalar::Text("25:00:00"), DltType::Time), None);
    assert_eq!(coerce(Scalar::Double(1e23), DltType::Time), None);
    assert_eq!(coerce(Scalar::BigInt(3600), DltType::Time), None);
}

#[test]
fn coercion_keeps_exact_values_and_refuses_lossy_ones() {
    assert_eq!(
        coerce(Scalar::Double(2.0), DltType::BigInt),
        Some(Scalar::BigInt(2))
    );
    assert_eq!(coerce(Scalar::Double(1.7), DltType::BigInt), None);
    assert_eq!(
        coerce(Scalar::BigInt(3), DltType::Double),
        Some(Scalar::Double(3.0))
    );
    assert_eq!(coerce(Scalar::Text("abc"), DltType::BigInt), None);
    assert_eq!(
        coerce(Scalar::Timestamp(0, "1970-01-01T00:00:00Z"), DltType::Text),
        Some(Scalar::Text("1970-01-01T00:00:00Z"))
    );
    assert_eq!(coerce(Scalar::Bool(true), DltType::BigInt), None);
    assert_eq!(
        coerce(Scalar::Text(" 7 "), DltType::BigInt),
        Some(Scalar::BigInt(7))
    );
    assert_eq!(
        coerce(Scalar::Text("0x1F"), DltType::BigInt),
        Some(Scalar::BigInt(31))
    );
    assert_eq!(
        coerce(Scalar::Text("yes"), DltType::Bool),
        Some(Scalar::Bool(true))
    );
    assert_eq!(coerce(Scalar::Text("maybe"), DltType::Bool), None);
    assert_eq!(
        coerce(Scalar::BigInt(0), DltType::Bool),
        Some(Scalar::Bool(false))
    );
    assert_eq!(
        coerce(Scalar::Text("2024-02-02"), DltType::Timestamp),
        Some(Scalar::Timestamp(1_706_832_000_000_000, "2024-02-02"))
    );
    assert_eq!(coerce(Scalar::Text("not a date"), DltType::Timestamp), None);
}
