//! The tutorial's HubSpot contacts source written in Rust: `GET /crm/v3/objects/contacts`,
//! paged by `paging.next.after`, asking only for contacts modified since the last sync, each
//! flattened as the tutorial's generator does, merged on `id` into `raw_hubspot.contacts`.
//!
//! ```text
//! HUBSPOT_API_KEY=... cargo run --release --example hubspot_contacts -- --base-url https://api.hubapi.com
//! ```
//!
//! The key comes from `HUBSPOT_API_KEY` in the environment, `.env` or `.dlt/secrets.toml`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dango::Credentials;
use dango::Pipeline;
use dango::source::custom::{HttpClient, resource};
use dango::source::{BoxError, Source};
use serde_json::{Value, json};

/// Loads HubSpot contacts into the warehouse.
#[derive(Parser)]
struct Args {
    /// HubSpot's API base URL.
    #[arg(long, default_value = "https://api.hubapi.com")]
    base_url: String,
    /// The DuckDB warehouse file.
    #[arg(long, default_value = "data/warehouse.duckdb")]
    warehouse: PathBuf,
}

/// Properties asked of every contact.
const PROPERTIES: &str = "email,firstname,lastname,company,phone";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let creds = Credentials::load(std::path::Path::new("."))?;
    let key = creds
        .secret("hubspot", "HUBSPOT_API_KEY")
        .context("set HUBSPOT_API_KEY in the environment, .env or .dlt/secrets.toml")?;
    // A rejected key is then named by where it was found.
    let client = HttpClient::builder()
        .bearer_token(&key.value)
        .secret_origin(key.origin)
        .build()?;
    let url = format!(
        "{}/crm/v3/objects/contacts",
        args.base_url.trim_end_matches('/')
    );

    let contacts = resource("contacts", move |mut ctx| async move {
        let mut cursor = ctx.incremental("updated_at", Some(json!("1970-01-01T00:00:00Z")));
        let since = cursor
            .start_value()
            .and_then(Value::as_str)
            .unwrap_or_default();
        let filter = json!([{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}
        ]}]);
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![
                ("limit", "100".to_string()),
                ("properties", PROPERTIES.to_string()),
                ("filterGroups", filter.to_string()),
            ];
            if let Some(after) = &after {
                query.push(("after", after.clone()));
            }
            let page = client.get_json(&url, &query).await?;
            let records: Vec<Value> = page["results"]
                .as_array()
                .map(|results| results.iter().map(flatten).collect())
                .unwrap_or_default();
            ctx.send(cursor.filter(records)?).await?;
            match page["paging"]["next"]["after"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        Ok::<_, BoxError>(())
    })
    .merge_on(["id"]);

    let source = Source::new("hubspot", "raw_hubspot", vec![Box::new(contacts)])?;
    let report = Pipeline::new(".")
        .warehouse(&args.warehouse)
        .run(source)
        .await?;
    for r in &report.resources {
        println!(
            "{}: {} pages, {} rows → {}.{}",
            r.name, r.pages, r.rows, report.dataset, r.table
        );
    }
    Ok(())
}

/// One contact as the tutorial's generator yields it.
fn flatten(contact: &Value) -> Value {
    let p = &contact["properties"];
    json!({
        "id": contact["id"],
        "email": p["email"],
        "first_name": p["firstname"],
        "last_name": p["lastname"],
        "company": p["company"],
        "phone": p["phone"],
        "created_at": contact["createdAt"],
        "updated_at": contact["updatedAt"],
    })
}
