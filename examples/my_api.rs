//! The tutorial's `my_api` source ("Option 2: full control") written in Rust: `users`
//! (replaced every sync) and `orders` (merged on `id`, incremental on `updatedAt`), behind a
//! bearer token, loaded by Dango's engine into `raw_my_api` of the warehouse.
//!
//! ```text
//! MY_API_TOKEN=... cargo run --release --example my_api -- --base-url http://127.0.0.1:PORT
//! ```
//!
//! The token comes from `MY_API_TOKEN` in the environment, `.env` or `.dlt/secrets.toml`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dango::Pipeline;
use dango::project::Credentials;
use dango::source::custom::{HttpClient, resource};
use dango::source::rest::config::PaginationConfig;
use dango::source::{BoxError, Source};
use serde_json::json;

/// Loads users and orders from My API into the warehouse.
#[derive(Parser)]
struct Args {
    /// The API's base URL.
    #[arg(long)]
    base_url: String,
    /// The DuckDB warehouse file.
    #[arg(long, default_value = "data/warehouse.duckdb")]
    warehouse: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let creds = Credentials::load(std::path::Path::new("."))?;
    let token = creds
        .lookup("my_api", "MY_API_TOKEN")
        .context("set MY_API_TOKEN in the environment, .env or .dlt/secrets.toml")?;
    let client = HttpClient::builder().bearer_token(&token).build()?;
    let base = args.base_url.trim_end_matches('/').to_string();

    let (users_client, users_url) = (client.clone(), format!("{base}/users"));
    let users = resource("users", move |mut ctx| async move {
        // The same vocabulary as `pagination:` in sources.yml.
        let paging: PaginationConfig = serde_json::from_value(
            json!({"type": "page_number", "total_path": "meta.total_pages"}),
        )?;
        let mut pages = users_client.pages(&users_url, &[], Some(paging), Some("data"))?;
        while let Some(records) = pages.next_page().await? {
            ctx.send(records).await?;
        }
        Ok::<_, BoxError>(())
    })
    .replace();

    let orders_url = format!("{base}/orders");
    let orders = resource("orders", move |mut ctx| async move {
        let mut cursor = ctx.incremental("updatedAt", Some(json!("2024-01-01T00:00:00Z")));
        let since = cursor.start_value().cloned().unwrap_or_default();
        let since = since.as_str().unwrap_or_default().to_string();
        let paging: PaginationConfig =
            serde_json::from_value(json!({"type": "offset", "limit": 50, "total_path": "total"}))?;
        let query = [("updated_after", since)];
        let mut pages = client.pages(&orders_url, &query, Some(paging), Some("items"))?;
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
