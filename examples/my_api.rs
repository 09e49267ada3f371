//! The tutorial's `my_api` source ("Option 2: full control", `custom_sources/my_api.py`)
//! written in Rust, request for request: `users` is one `GET {base_url}/users` whose records are
//! under `data` (replaced every sync); `orders` is `GET {base_url}/orders?updated_after=<cursor>`
//! followed by each response's `next_page_url` as given, records under `data`, merged on `id`
//! and incremental on `updated_at` from `2024-01-01T00:00:00Z`. Loaded by Dango's engine into
//! `raw_my_api` of the warehouse.
//!
//! ```text
//! SOURCES__MY_API__API_KEY=... cargo run --release --example my_api -- --base-url https://api.example.com
//! ```
//!
//! The key is found where dlt finds the Python source's `api_key`: `SOURCES__MY_API__API_KEY` in
//! the environment or `.env`, else `api_key` under `[sources.my_api]` in `.dlt/secrets.toml`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dango::Credentials;
use dango::Pipeline;
use dango::source::custom::PaginationConfig;
use dango::source::custom::{HttpClient, resource};
use dango::source::{BoxError, Source};
use serde_json::{Value, json};

/// Loads users and orders from My API into the warehouse.
#[derive(Parser)]
struct Args {
    /// The API's base URL (the Python source's `base_url`).
    #[arg(long, default_value = "https://api.example.com")]
    base_url: String,
    /// The DuckDB warehouse file.
    #[arg(long, default_value = "data/warehouse.duckdb")]
    warehouse: PathBuf,
}

/// The paginator the tutorial's loop is: `next_page_url` of each response, fetched as it is
/// (the link carries the query, so nothing else is sent), until it is missing or null.
fn next_page_url() -> Result<PaginationConfig, serde_json::Error> {
    serde_json::from_value(json!({"type": "json_link", "next_url_path": "next_page_url"}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let creds = Credentials::load(std::path::Path::new("."))?;
    let key = creds.lookup_field("my_api", "api_key").context(
        "set SOURCES__MY_API__API_KEY in the environment or .env, or api_key under \
         [sources.my_api] in .dlt/secrets.toml",
    )?;
    let client = HttpClient::builder().bearer_token(&key).build()?;
    let base = args.base_url.trim_end_matches('/').to_string();

    let (users_client, users_url) = (client.clone(), format!("{base}/users"));
    let users = resource("users", move |mut ctx| async move {
        // The tutorial reads one response: `response.json()["data"]`.
        let one: PaginationConfig = serde_json::from_value(json!({"type": "single_page"}))?;
        let mut pages = users_client.pages(&users_url, &[], Some(one), Some("data"))?;
        while let Some(records) = pages.next_page().await? {
            ctx.send(records).await?;
        }
        Ok::<_, BoxError>(())
    })
    .replace();

    let orders_url = format!("{base}/orders");
    let orders = resource("orders", move |mut ctx| async move {
        let mut cursor = ctx.incremental("updated_at", Some(json!("2024-01-01T00:00:00Z")));
        // `params = {"updated_after": updated_after.last_value}`; requests drops a None.
        let query: Vec<(&str, String)> = match cursor.start_value() {
            Some(Value::String(since)) => vec![("updated_after", since.clone())],
            Some(other) => vec![("updated_after", other.to_string())],
            None => Vec::new(),
        };
        let mut pages = client.pages(&orders_url, &query, Some(next_page_url()?), Some("data"))?;
        while let Some(records) = pages.next_page().await? {
            ctx.send(cursor.filter(records)?).await?;
        }
        Ok::<_, BoxError>(())
    })
    .merge_on(["id"]);

    let source = Source::new(
        "my_api",
        "raw_my_api",
        vec![Box::new(users), Box::new(orders)],
    )?;
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
