//! `dango demo`: the tutorial's Option 1, end to end, against the built-in mock API — no API or
//! credentials of your own needed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::sync::{print_reports, run_sync};
use crate::engine::SyncOptions;
use crate::mock_api::{MockApi, MockApiConfig, MockAuth};
use crate::project::ProjectLayout;
use crate::project::scaffold::scaffold;
use crate::warehouse::status;

/// Arguments of `dango demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: dango demo && dango query --project dango-demo \"select count(*) from raw_my_api.users\""
)]
pub struct DemoArgs {
    /// Where to write the demo project (default: ./dango-demo).
    #[arg(long, default_value = "dango-demo")]
    dir: PathBuf,
}

const TOKEN: &str = "demo-token-4f9a";

/// The tutorial's Option 1 config, pointed at the mock API.
fn demo_sources(base_url: &str) -> String {
    format!(
        r#"# The tutorial's Option 1, pointed at Dango's built-in mock API.
version: "1.0"
sources:
  - name: my_api
    type: rest_api
    enabled: true
    rest_api:
      base_url: "{base_url}"
      headers:
        Authorization: "Bearer ${{MY_API_TOKEN}}"
      resources:
        - name: users
          endpoint: /users
          method: GET
          pagination:
            type: page_number
            param: page
            start: 1
        - name: orders
          endpoint: /orders
          method: GET
          params:
            status: completed
          pagination:
            type: offset
            limit: 10
        - name: events
          endpoint: /events
          pagination:
            type: cursor
            cursor_path: next_cursor
        # No pagination given: the next-page link in the body is detected.
        - name: posts
          endpoint: /posts
"#
    )
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let api = MockApi::start(MockApiConfig {
        auth: MockAuth::Bearer(TOKEN.into()),
        ..MockApiConfig::default()
    })
    .context("starting the mock API")?;
    outln!("Mock API listening on {}", api.base_url());
    let layout = scaffold(&args.dir, true, false)?;
    std::fs::write(layout.sources_file(), demo_sources(&api.base_url()))?;
    std::fs::write(
        layout.root().join(".env"),
        format!("MY_API_TOKEN={TOKEN}\n"),
    )?;
    outln!("Wrote the demo project to {}\n", layout.root().display());
    let reports = run_sync(&layout, &[], &SyncOptions::default())?;
    print_reports(&reports);
    show_warehouse(&layout).context("reading the warehouse back")?;
    let ok = reports.iter().all(|r| r.error.is_none());
    outln!(
        "\nExplore it: dango query --project {} \"select * from raw_my_api.orders limit 5\"\n\
         (or any DuckDB client on {})",
        layout.root().display(),
        layout.warehouse_file().display()
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints each table of the demo's schema with its row count and columns.
fn show_warehouse(layout: &ProjectLayout) -> anyhow::Result<()> {
    let conn = crate::warehouse::connect(&layout.warehouse_file())?;
    let tables = status::tables(&conn, "raw_my_api")?;
    outln!("\nWhat landed in {}:", layout.warehouse_file().display());
    for table in tables {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(name, data_type)| format!("{name} {data_type}"))
            .collect();
        outln!(
            "  raw_my_api.{}: {} rows\n      {}",
            table.name,
            table.rows,
            columns.join(", ")
        );
    }
    Ok(())
}
