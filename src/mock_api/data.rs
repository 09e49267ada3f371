//! The mock API's data: deterministic users, orders and events, nested the way real APIs nest
//! (objects in objects, lists of objects, lists of scalars, ISO timestamps, camelCase keys).

use serde::Serialize;
use serde_json::{Value, json};

const CITIES: [&str; 5] = ["Lisbon", "Osaka", "Austin", "Nairobi", "Oslo"];
const STATUSES: [&str; 3] = ["completed", "pending", "cancelled"];

/// ISO-8601 timestamp `hours` after 2024-01-01T00:00:00Z.
pub fn timestamp(hours: usize) -> String {
    let base = chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    (base + chrono::Duration::hours(hours as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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

/// The first order id updated at or after `t` (ids are in `updatedAt` order); `count + 1` if none.
pub fn first_updated_after(count: usize, t: &str) -> usize {
    let (mut lo, mut hi) = (1, count + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if order_updated_at(mid).as_str() < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Order `id` (1-based), with about 2.5 line items on average, as JSON.
pub fn order(id: usize) -> Value {
    serde_json::to_value(Order::new(id)).unwrap_or_default()
}

/// An order as the API serialises it: typed, so a page of a million-order benchmark is written
/// straight to bytes and the server's CPU stays small next to the client's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    id: usize,
    order_number: String,
    status: &'static str,
    total: f64,
    created_at: String,
    updated_at: String,
    customer: Customer,
    line_items: Vec<LineItem>,
    tags: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    discount_code: Option<String>,
}

#[derive(Debug, Serialize)]
struct Customer {
    id: usize,
    name: String,
    address: Address,
}

#[derive(Debug, Serialize)]
struct Address {
    city: &'static str,
    zip: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    sku: String,
    quantity: usize,
    unit_price: f64,
}

impl Order {
    /// Order `id` (1-based).
    pub fn new(id: usize) -> Self {
        let line_items = (0..1 + id % 4)
            .map(|i| LineItem {
                sku: format!("SKU-{}", (id * 7 + i) % 1000),
                quantity: 1 + (id + i) % 5,
                unit_price: 2.5 + ((id + i) % 40) as f64,
            })
            .collect();
        Self {
            id,
            order_number: format!("ORD-{id:08}"),
            status: order_status(id),
            total: 10.25 + (id % 500) as f64,
            created_at: timestamp(id),
            updated_at: order_updated_at(id),
            customer: Customer {
                id: id % 997,
                name: format!("Customer {}", id % 997),
                address: Address {
                    city: CITIES[id % CITIES.len()],
                    zip: format!("{:05}", id % 99_999),
                },
            },
            line_items,
            tags: if id.is_multiple_of(2) {
                &["gift", "express"]
            } else {
                &["standard"]
            },
            discount_code: None,
        }
    }

    /// The same order carrying a `discountCode` (schema evolution).
    pub fn with_discount_code(mut self) -> Self {
        self.discount_code = Some(format!("SAVE{}", self.id));
        self
    }
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
