//! HubSpot's contacts list (`GET /crm/v3/objects/contacts`), as the tutorial's HubSpot source
//! calls it: `limit`, `after` from `paging.next.after`, `properties`, and a `filterGroups`
//! parameter whose `lastmodifieddate GTE <value>` filter returns only contacts changed since.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{AppState, data, param};

/// Hours after 2024-01-01 at which the first edit made by a test happens: later than any
/// contact's creation.
pub const FIRST_EDIT_HOUR: usize = 1_000_000;

/// The contacts page: ids in order, from `after` on, updated at or after the filter's value.
pub async fn contacts(
    State(s): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let limit = param(&q, "limit", 10).clamp(1, 100);
    let after = param(&q, "after", 0);
    let since = q.get("filterGroups").and_then(|f| modified_since(f));
    let edits = s
        .live
        .contact_edits
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    let updated = |id: usize| data::timestamp(edits.get(&id).copied().unwrap_or(id));
    let matching = (after + 1..=s.config.contacts)
        .filter(|&id| since.as_deref().is_none_or(|t| updated(id).as_str() >= t));
    let ids: Vec<usize> = matching.take(limit + 1).collect();
    let results: Vec<Value> = ids
        .iter()
        .take(limit)
        .map(|&id| contact(id, &updated(id), edits.contains_key(&id)))
        .collect();
    let mut body = json!({ "results": results });
    if ids.len() > limit {
        body["paging"] = json!({"next": {"after": ids[limit - 1].to_string()}});
    }
    axum::Json(body)
}

/// Contact `id` as HubSpot returns it: string id, properties, ISO timestamps.
fn contact(id: usize, updated_at: &str, edited: bool) -> Value {
    let created_at = data::timestamp(id);
    let email = match edited {
        true => format!("contact{id}@new.example.com"),
        false => format!("contact{id}@example.com"),
    };
    json!({
        "id": id.to_string(),
        "properties": {
            "email": email,
            "firstname": format!("First{id}"),
            "lastname": format!("Last{id}"),
            "company": if id.is_multiple_of(3) { Value::Null } else { json!(format!("Company {}", id % 7)) },
            "phone": format!("+1-555-{id:04}"),
            "createdate": created_at,
            "lastmodifieddate": updated_at,
            "hs_object_id": id.to_string(),
        },
        "createdAt": created_at,
        "updatedAt": updated_at,
        "archived": false,
    })
}

/// The value of a `lastmodifieddate GTE` filter in HubSpot's `filterGroups` JSON.
fn modified_since(filter_groups: &str) -> Option<String> {
    let groups: Value = serde_json::from_str(filter_groups).ok()?;
    groups
        .as_array()?
        .iter()
        .flat_map(|g| g["filters"].as_array().cloned().unwrap_or_default())
        .find(|f| f["propertyName"] == "lastmodifieddate" && f["operator"] == "GTE")
        .and_then(|f| f["value"].as_str().map(str::to_string))
}
