//! The mock API's data: deterministic users, orders and events, nested the way real APIs nest
//! (objects in objects, lists of objects, lists of scalars, ISO timestamps, camelCase keys).

use serde_json::{Value, json};

const CITIES: [&str; 5] = ["Lisbon", "Osaka", "Austin", "Nairobi", "Oslo"];
const STATUSES: [&str; 3] = ["completed", "pending", "cancelled"];

/// ISO-8601 timestamp `hours` after 2024-01-01T00:00:00Z.
pub fn timestamp(hours: usize) -> String {
    let base = chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    (base + chrono::Duration::hours(hours as i64))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// User `id` (1-based).
pub fn user(id: usize) -> Value {
    json!({
        "id": id,
        "name": format!("User {id}"),
        "email": format!("user{id}@example.com"),
        "isActive": !id.is_multiple_of(4),
        "signupDate": timestamp(id * 7),
        "profile": {"age": 20 + id % 50, "country": CITIES[id % CITIES.len()]},
    })
}

/// Status of order `id`.
pub fn order_status(id: usize) -> &'static str {
    STATUSES[id % STATUSES.len()]
}

/// `updatedAt` of order `id`: later for larger ids.
pub fn order_updated_at(id: usize) -> String {
    timestamp(id + 24)
}

/// Order `id` (1-based), with about 2.5 line items on average.
pub fn order(id: usize) -> Value {
    let items: Vec<Value> = (0..1 + id % 4)
        .map(|i| {
            json!({
                "sku": format!("SKU-{}", (id * 7 + i) % 1000),
                "quantity": 1 + (id + i) % 5,
                "unitPrice": 2.5 + ((id + i) % 40) as f64,
            })
        })
        .collect();
    json!({
        "id": id,
        "orderNumber": format!("ORD-{id:08}"),
        "status": order_status(id),
        "total": 10.25 + (id % 500) as f64,
        "createdAt": timestamp(id),
        "updatedAt": order_updated_at(id),
        "customer": {
            "id": id % 997,
            "name": format!("Customer {}", id % 997),
            "address": {"city": CITIES[id % CITIES.len()], "zip": format!("{:05}", id % 99_999)},
        },
        "lineItems": items,
        "tags": if id.is_multiple_of(2) { json!(["gift", "express"]) } else { json!(["standard"]) },
    })
}

/// Event `id` (1-based).
pub fn event(id: usize) -> Value {
    json!({
        "id": id,
        "type": if id.is_multiple_of(2) { "click" } else { "view" },
        "occurredAt": timestamp(id),
        "payload": {"page": format!("/p/{}", id % 10)},
    })
}
