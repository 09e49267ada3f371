//! The tutorial's "My API" (`custom_sources/my_api.py`): `GET /my_api/users` answers
//! `{"data": [...]}`; `GET /my_api/orders?updated_after=T` answers `{"data": [...],
//! "next_page_url": URL}`, with snake_case orders ordered by `updated_at`, so the tutorial's
//! file runs against it byte for byte.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{AppState, data, param, window};

/// All users (the tutorial's `users` reads one response).
pub async fn users(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let data: Vec<Value> = (1..=s.config.users)
        .map(|id| snake_case(data::user(id)))
        .collect();
    axum::Json(json!({ "data": data }))
}

/// A page of orders updated at or after `updated_after`, and the absolute URL of the next.
pub async fn orders(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let per_page = s.config.page_size.max(1);
    let page = param(&q, "page", 1).max(1);
    let count = s.live.orders.load(Ordering::SeqCst) as usize;
    let since = q.get("updated_after").cloned().unwrap_or_default();
    let first = super::data::first_updated_after(count, &since);
    let range = window(
        count + 1 - first.min(count + 1),
        (page - 1) * per_page,
        per_page,
    );
    let end = range.end;
    let data: Vec<Value> = range.map(|i| snake_case(data::order(first + i))).collect();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let next = (first + end <= count).then(|| {
        let since: String = url::form_urlencoded::byte_serialize(since.as_bytes()).collect();
        format!(
            "http://{host}/my_api/orders?page={}&updated_after={since}",
            page + 1
        )
    });
    axum::Json(json!({ "data": data, "next_page_url": next }))
}

/// `value` with every object key in snake_case, as My API names its fields.
fn snake_case(value: Value) -> Value {
    match value {
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                (
                    crate::normalize::naming::normalize_identifier(&k),
                    snake_case(v),
                )
            })
            .collect(),
        Value::Array(items) => items.into_iter().map(snake_case).collect(),
        other => other,
    }
}
