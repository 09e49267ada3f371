//! Transforms planned and run on batches of orders.

use arrow::array::{ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field};

use crate::hints::DLT_TYPE_METADATA;

use super::*;
use crate::table::tests::names;

/// Orders as the builder makes them: `id`, `email`, `total`, `status`, and dlt's columns.
fn orders() -> RecordBatch {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        text("email"),
        Field::new("total", DataType::Int64, true),
        text("status"),
        text("_dlt_load_id"),
        text("_dlt_id"),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringArray::from(vec!["A@X.COM", "b@y.org", "C@z.net"])),
        Arc::new(Int64Array::from(vec![10, 20, 30])),
        Arc::new(StringArray::from(vec![Some("paid"), Some("test"), None])),
        Arc::new(StringArray::from(vec!["1.0"; 3])),
        Arc::new(StringArray::from(vec!["r1", "r2", "r3"])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

#[tokio::test]
async fn filters_computes_and_keeps_dlt_columns() {
    let sql = "SELECT id, lower(email) AS email, total * 100 AS total_cents FROM data \
               WHERE status <> 'test'";
    let mut t = Transform::new("orders", sql, &["id".to_string()]);
    let out = t.apply(&orders()).await.unwrap();
    assert_eq!(
        names(&out.batch),
        ["id", "email", "total_cents", "_dlt_load_id", "_dlt_id"]
    );
    // A NULL status is not `<> 'test'`: SQL keeps only rows where the condition is true.
    let mut dropped: Vec<_> = out.dropped.into_iter().collect();
    dropped.sort();
    assert_eq!(dropped, ["r2", "r3"]);
    let email = out.batch.column(1).as_string::<i32>();
    assert_eq!(email.value(0), "a@x.com");
    let field = out.batch.schema().field(2).clone();
    assert_eq!(field.data_type(), &DataType::Int64);
    assert_eq!(field.metadata()[DLT_TYPE_METADATA], "bigint");
}

#[tokio::test]
async fn star_columns_no_record_had_and_a_new_schema() {
    let mut t = Transform::new("orders", "SELECT *, upper(coupon) AS code FROM data", &[]);
    let out = t.apply(&orders()).await.unwrap();
    // `coupon` is in no batch yet: NULL, and a column of nulls only is not made.
    assert_eq!(
        names(&out.batch),
        ["id", "email", "total", "status", "_dlt_load_id", "_dlt_id"]
    );
    let narrower = orders().project(&[0, 1, 4, 5]).unwrap();
    let out = t.apply(&narrower).await.unwrap();
    assert_eq!(
        names(&out.batch),
        ["id", "email", "_dlt_load_id", "_dlt_id"]
    );
}

#[tokio::test]
async fn queries_that_are_not_row_wise_and_lost_keys_are_refused() {
    for (sql, found) in [
        (
            "SELECT status, count(*) AS n FROM data GROUP BY status",
            "an aggregate",
        ),
        ("SELECT id FROM data ORDER BY id", "ORDER BY"),
        ("SELECT id FROM data LIMIT 1", "LIMIT"),
        ("SELECT DISTINCT id FROM data", "DISTINCT"),
        (
            "SELECT id FROM data WHERE id IN (SELECT id FROM data)",
            "subquery",
        ),
    ] {
        let err = refusal(sql).await;
        assert!(err.contains(found), "{sql}: {err}");
    }
    for (sql, says) in [
        (
            "SELECT id + 1 AS id FROM data",
            "primary-key column `id` through unchanged",
        ),
        ("SELEC id FROM data", "not valid SQL"),
        ("SELECT id, 'x' AS _dlt_id FROM data", "`_dlt_`"),
    ] {
        let err = refusal(sql).await;
        assert!(err.contains(says), "{sql}: {err}");
    }
}

#[tokio::test]
async fn a_schema_without_the_columns_yet_still_plans() {
    // `dango validate` before the first sync: no column is known.
    let sql = "SELECT id, lower(order_number) AS r FROM data WHERE status <> 'x'";
    let t = Transform::new("orders", sql, &["id".to_string()]);
    let missing = t.check(&Schema::empty()).await.unwrap();
    assert_eq!(
        missing,
        ["id", "status", "order_number"],
        "the key first, then as DataFusion meets them"
    );
    let t = Transform::new("orders", "SELECT _dlt_id FROM data", &[]);
    assert!(t.check(&Schema::empty()).await.is_ok());
    // A merge table's key is in every batch, so `*` passes it even before the first sync.
    let t = Transform::new("orders", "SELECT * FROM data", &["id".to_string()]);
    assert!(t.check(&Schema::empty()).await.is_ok());
}

#[tokio::test]
async fn queries_that_do_not_read_data_once_are_refused() {
    for (sql, found) in [
        (
            "SELECT value AS id FROM generate_series(1, 3)",
            "reads `generate_series()` instead of `data`",
        ),
        (
            "SELECT value AS id FROM range(3) AS data",
            "reads `range()` instead of `data`",
        ),
        (
            "SELECT column1 AS id FROM (VALUES (1), (2))",
            "reads VALUES instead of `data`",
        ),
        ("SELECT 1 AS id", "does not read `data`"),
        (
            "SELECT d.id FROM data d JOIN data e ON d.id = e.id",
            "uses a join",
        ),
        ("SELECT id FROM data, generate_series(1, 3)", "uses a join"),
        (
            "SELECT id FROM data UNION ALL SELECT id FROM data",
            "uses UNION",
        ),
        (
            "WITH data AS (SELECT value AS id FROM generate_series(1, 3)) SELECT id FROM data",
            "uses a subquery",
        ),
        (
            "SELECT id, (SELECT max(value) FROM range(3)) AS m FROM data",
            "uses a subquery",
        ),
        (
            "SELECT id, sum(total) OVER () AS s FROM data",
            "uses a window function",
        ),
    ] {
        let err = refusal(sql).await;
        assert!(err.contains(found), "{sql}: {err}");
        assert!(
            err.contains("SELECT <expressions> FROM data"),
            "{sql}: {err}"
        );
    }
    // A row per element of a list column.
    let tags = Field::new_list("tags", Field::new_list_field(DataType::Utf8, true), true);
    let schema = Schema::new(vec![Field::new("id", DataType::Int64, true), tags]);
    let sql = "SELECT id, unnest(tags) AS tag FROM data";
    let err = Transform::new("orders", sql, &[]).check(&schema).await;
    let err = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("uses UNNEST"), "{err}");
}

#[tokio::test]
async fn an_aliased_data_scan_still_filters_and_computes() {
    let sql = "SELECT o.id, o.total * 2 AS doubled FROM data AS o WHERE o.total > 10";
    let mut t = Transform::new("orders", sql, &["id".to_string()]);
    let out = t.apply(&orders()).await.unwrap();
    assert_eq!(
        names(&out.batch),
        ["id", "doubled", "_dlt_load_id", "_dlt_id"]
    );
    let doubled = out
        .batch
        .column(1)
        .as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(doubled.values().to_vec(), [40, 60]);
    assert_eq!(out.dropped, HashSet::from(["r1".to_string()]));
}

#[test]
fn the_config_check_reports_shapes_but_not_types() {
    let key = ["id".to_string()];
    let reason = shape_problem(
        "orders",
        "SELECT value AS id FROM generate_series(1, 3)",
        &[],
    );
    assert!(
        reason
            .as_deref()
            .unwrap_or_default()
            .contains("generate_series()"),
        "{reason:?}"
    );
    let reason = shape_problem("orders", "SELECT id + 1 AS id FROM data", &key);
    assert!(
        reason
            .as_deref()
            .unwrap_or_default()
            .contains("`id` through unchanged"),
        "{reason:?}"
    );
    for fine in [
        "SELECT * FROM data",
        "SELECT id, lower(email) AS email FROM data WHERE status <> 'test'",
        // Not valid over real columns, perhaps, but only a batch can tell.
        "SELECT id, email + 1 AS x FROM data",
    ] {
        assert_eq!(shape_problem("orders", fine, &key), None, "{fine}");
    }
}

#[tokio::test]
async fn a_batch_the_plan_was_not_made_for_is_refused() {
    let t = Transform::new("orders", "SELECT id, email FROM data", &[]);
    let compiled = t.compile(&orders().schema(), Vec::new()).await.unwrap();
    // Same number of columns, others in their places: positions would read the wrong ones.
    let swapped = orders().project(&[1, 0, 2, 3, 4, 5]).unwrap();
    let err = compiled
        .run("orders", &swapped)
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("are not the batch's"), "{err}");
    assert!(err.contains("nothing was loaded"), "{err}");
    assert!(compiled.run("orders", &orders()).is_ok());
}

#[tokio::test]
async fn more_rows_than_the_batch_has_records_are_refused() {
    let t = Transform::new("orders", "SELECT id FROM data WHERE total > 10", &[]);
    let mut compiled = t.compile(&orders().schema(), Vec::new()).await.unwrap();
    compiled.outputs[0].expr = Arc::new(Rows(5));
    let err = compiled
        .run("orders", &orders())
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.contains("made 5 rows from 3 records, of which its `WHERE` kept 2"),
        "{err}"
    );
}

/// An expression that makes a column of a fixed number of rows, whatever the batch.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Rows(usize);

impl std::fmt::Display for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rows({})", self.0)
    }
}

impl PhysicalExpr for Rows {
    fn data_type(&self, _: &Schema) -> datafusion::error::Result<DataType> {
        Ok(DataType::Int64)
    }

    fn nullable(&self, _: &Schema) -> datafusion::error::Result<bool> {
        Ok(false)
    }

    fn evaluate(
        &self,
        _: &RecordBatch,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        let column = Int64Array::from(vec![0; self.0]);
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            column,
        )))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        Vec::new()
    }

    fn with_new_children(
        self: Arc<Self>,
        _: Vec<Arc<dyn PhysicalExpr>>,
    ) -> datafusion::error::Result<Arc<dyn PhysicalExpr>> {
        Ok(self)
    }

    fn fmt_sql(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Why the orders' transform `sql` (keeping key `id`) does not run.
async fn refusal(sql: &str) -> String {
    let run = Transform::new("orders", sql, &["id".to_string()])
        .apply(&orders())
        .await;
    run.err().map(|e| e.to_string()).unwrap_or_default()
}
