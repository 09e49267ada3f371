//! The mock API's hostile endpoints: responses that real APIs send now and then and that a
//! loader must survive, or refuse with a message that says why.
//!
//! | path          | what it does                                                              |
//! |---------------|---------------------------------------------------------------------------|
//! | `/stuck`      | ignores every paging parameter and has no total: the same 2 items forever |
//! | `/endless`    | honours `?page=N` but never ends (2 items a page, no total)               |
//! | `/bom`        | a JSON list preceded by a UTF-8 byte order mark                           |
//! | `/gzipped`    | a gzip-compressed JSON list, whatever the request's `Accept-Encoding`     |
//! | `/binary`     | undecodable bytes claiming `Content-Encoding: br`                         |
//! | `/deep`       | `?depth=N` (default 200): a record nested N objects (or `&kind=list`) deep |
//! | `/bigints`    | records whose ids and amounts do not fit 64 bits                          |
//! | `/long_ids`   | ids 1 and 2; `?long=last` (or `first`) adds a 40-digit id, beyond DECIMAL(38,0) |
//! | `/out_of_range` | `items` with numbers and texts beyond the years 1 to 9999 and a day's hours, for timestamp, date and time hints |
//! | `/truncated`  | `?drop=N`: the first N requests get headers and half the body, then the connection closes |
//! | `/echo`       | `?status=S` (default 400): the request's method, URI and headers echoed back with status S |

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};

use super::{AppState, param};

/// `/stuck`: the same page whatever is asked.
pub(super) async fn stuck() -> impl IntoResponse {
    axum::Json(json!({"items": [{"id": 1, "name": "first"}, {"id": 2, "name": "second"}]}))
}

/// `/endless`: page N has items 2N-1 and 2N, for every N.
pub(super) async fn endless(Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let page = param(&q, "page", 1).max(1);
    axum::Json(json!({"items": [{"id": 2 * page - 1}, {"id": 2 * page}]}))
}

fn json_response(body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `/bom`: `[{"id": 1, ...}, {"id": 2, ...}]` after the bytes EF BB BF.
pub(super) async fn bom() -> Response {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(br#"[{"id": 1, "name": "caf\u00e9"}, {"id": 2, "name": "bar"}]"#);
    json_response(body)
}

/// `/gzipped`: a JSON list, gzip-compressed, sent as such even to a client that did not ask.
pub(super) async fn gzipped() -> Response {
    let text = br#"[{"id": 1, "name": "zipped"}, {"id": 2, "name": "also zipped"}]"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = gz.write_all(text).and_then(|()| gz.finish());
    let Ok(compressed) = compressed else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = json_response(compressed);
    response.headers_mut().insert(
        header::CONTENT_ENCODING,
        header::HeaderValue::from_static("gzip"),
    );
    response
}

/// `/binary`: bytes that are neither text nor a compression Dango decodes.
pub(super) async fn binary() -> Response {
    let body: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
    let mut response = json_response(body);
    response.headers_mut().insert(
        header::CONTENT_ENCODING,
        header::HeaderValue::from_static("br"),
    );
    response
}

/// `/deep`: record 1 holds a value nested `depth` levels deep, record 2 a shallow one.
pub(super) async fn deep(Query(q): Query<HashMap<String, String>>) -> Response {
    let depth = param(&q, "depth", 200);
    let (open, close) = match q.get("kind").map(String::as_str) {
        Some("list") => ("[", "]"),
        _ => (r#"{"a": "#, "}"),
    };
    let mut body = String::with_capacity(depth * (open.len() + close.len()) + 64);
    body.push_str(r#"[{"id": 1, "deep": "#);
    (0..depth).for_each(|_| body.push_str(open));
    body.push_str(r#"{"leaf": true}"#);
    (0..depth).for_each(|_| body.push_str(close));
    body.push_str(r#"}, {"id": 2, "deep": {"a": {"leaf": false}}}]"#);
    json_response(body)
}

/// `/wide?keys=N&rows=R`: R records, each with its own N keys (`k0`, `k1`, ...), so the table
/// has R x N columns however few rows it has.
pub(super) async fn wide(Query(q): Query<HashMap<String, String>>) -> Response {
    let (keys, rows) = (param(&q, "keys", 2000), param(&q, "rows", 4));
    let records: Vec<serde_json::Value> = (0..rows)
        .map(|r| {
            let mut record: serde_json::Map<String, serde_json::Value> = (r * keys..(r + 1) * keys)
                .map(|k| (format!("k{k}"), k.into()))
                .collect();
            record.insert("id".into(), r.into());
            record.into()
        })
        .collect();
    json_response(serde_json::Value::from(records).to_string())
}

/// `/bigints`: integers beyond `i64` (and `u64`), as ids and as amounts, next to small ones.
pub(super) async fn bigints() -> Response {
    json_response(
        r#"[{"id": 1, "amount": 5},
 {"id": 18446744073709551615, "amount": 18446744073709551615},
 {"id": -9300000000000000000, "amount": -9300000000000000000},
 {"id": 123456789012345678901234567890, "amount": 1e30},
 {"id": 9223372036854775807, "amount": 2.5}]"#,
    )
}

/// `/long_ids?long=last|first`: ids 1 and 2, and with `long` a 40-digit id after (or before)
/// them, which no DuckDB number type holds.
pub(super) async fn long_ids(Query(q): Query<HashMap<String, String>>) -> Response {
    let short = r#"{"id": 1, "name": "one"}, {"id": 2, "name": "two"}"#;
    let long = r#"{"id": 1234567890123456789012345678901234567890, "name": "long"}"#;
    json_response(match q.get("long").map(String::as_str) {
        Some("first") => format!("[{long}, {short}]"),
        Some(_) => format!("[{short}, {long}]"),
        None => format!("[{short}]"),
    })
}

/// `/out_of_range`: record 1 has values that fit timestamp (`ts_*`), date (`day_*`) and time
/// (`at_text`) columns; records 2 and 3 have numbers of seconds and texts beyond the years
/// Python's `datetime` holds (1 to 9999), or beyond a day's hours, and a few that just fit.
pub(super) async fn out_of_range() -> Response {
    json_response(
        r#"{"items": [
 {"id": 1, "ts_text": "2024-01-01T00:00:00Z", "ts_double": 1700000000.5, "ts_bigint": 1700000000, "ts_last": 253402300799, "day_bigint": 1700000000, "day_double": 1.7e9, "day_text": "2024-01-02", "at_text": "10:00:00"},
 {"id": 2, "ts_text": "12345678901234.5678", "ts_double": 1e23, "ts_bigint": 12345678901234, "ts_last": 253402300800, "day_bigint": 12345678901234, "day_double": 1e23, "day_text": "99999-01-01", "at_text": "25:00:00"},
 {"id": 3, "ts_text": "0000-01-01T00:00:00Z", "ts_double": -1e20, "ts_bigint": -62135596801, "ts_last": -62135596800, "day_bigint": 253402300800, "day_double": -1e20, "day_text": "1700000000", "at_text": 3600}
]}"#,
    )
}

/// `/truncated?drop=N`: the first N requests get a `Content-Length` and half the body, then
/// the connection is closed; later requests get the whole body.
pub(super) async fn truncated(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let body = Bytes::from_static(br#"[{"id": 1, "name": "whole"}, {"id": 2, "name": "body"}]"#);
    let drop = param(&q, "drop", 1) as u64;
    let attempt = s.counters.path("/truncated");
    let mut response = if attempt > drop {
        json_response(body.clone())
    } else {
        // The half is sent (with the headers) before the connection drops.
        let half = futures::stream::iter([Ok(body.slice(..body.len() / 2))]);
        let drop = futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Err(std::io::Error::other("connection dropped on purpose"))
        });
        json_response(Body::from_stream(half.chain(drop)))
    };
    response.headers_mut().insert(
        header::CONTENT_LENGTH,
        header::HeaderValue::from(body.len()),
    );
    response
}

/// `/echo?status=S`: the request as the server saw it, with status S, the way some APIs echo
/// a bad request back in their error body.
pub(super) async fn echo(Query(q): Query<HashMap<String, String>>, req: Request) -> Response {
    let status = q
        .get("status")
        .and_then(|s| s.parse().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.to_string(), Value::String(text))
        })
        .collect();
    // Headers first: an error excerpt shows the start of a body.
    let body = json!({
        "headers": headers,
        "request": {"method": req.method().as_str(), "uri": req.uri().to_string()},
        "error": "bad request",
    });
    (status, axum::Json(body)).into_response()
}
