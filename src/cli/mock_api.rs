//! `dango mock-api`: serves the built-in mock API until interrupted, for benchmarks and for
//! trying configs by hand. Prints its base URL on the first line.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::mock_api::{MockApi, MockApiConfig};

/// Arguments of `dango mock-api`.
#[derive(Debug, clap::Args)]
pub struct MockApiArgs {
    /// Number of orders (about 2.5 line items each).
    #[arg(long, default_value_t = 120)]
    orders: usize,
    /// Number of events (and posts, products).
    #[arg(long, default_value_t = 30)]
    events: usize,
    /// Default page size.
    #[arg(long, default_value_t = 10)]
    page_size: usize,
    /// Delay before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

pub fn run(args: MockApiArgs) -> anyhow::Result<ExitCode> {
    let config = MockApiConfig {
        orders: args.orders,
        events: args.events,
        page_size: args.page_size,
        latency: Duration::from_millis(args.latency_ms),
        ..MockApiConfig::default()
    };
    let api = MockApi::start(config).context("starting the mock API")?;
    outln!("{}", api.base_url());
    std::io::stdout().flush()?;
    // Serve until the process is killed; the server runs on its own thread.
    loop {
        std::thread::park();
    }
}
