//! Stripe's list style, `GET /v1/customers?limit=K&starting_after=ID`: `{"object": "list",
//! "data": [...], "has_more": bool, "url": ...}`, the next page starting after the last id.
//! One customer per user.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{AppState, data, param};

/// A page of customers after `starting_after` (ids `cus_<n>`).
pub async fn customers(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let limit = param(&q, "limit", 10).clamp(1, 100);
    let after = q
        .get("starting_after")
        .and_then(|id| id.strip_prefix("cus_"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let last = (after + limit).min(s.config.users);
    let data: Vec<Value> = (after + 1..=last)
        .map(|n| {
            let user = data::user(n);
            json!({"id": format!("cus_{n}"), "object": "customer", "email": user["email"], "name": user["name"]})
        })
        .collect();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "has_more": last < s.config.users,
        "url": "/v1/customers",
    }))
}
