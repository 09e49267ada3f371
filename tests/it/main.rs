//! The integration tests, one crate: every test runs the real `dango` binary or library
//! against real parts (a DuckDB file or a DuckLake, the mock API on 127.0.0.1, real dlt in
//! a venv the tests make). One crate links DuckDB once instead of once per file.

#[macro_use]
mod support;

mod build_features;
mod config;
mod crash;
mod custom_sources;
mod dlt_compat;
mod ducklake;
mod hostile_api;
mod init_demo;
mod invariants;
mod load;
mod merge_strategies;
mod openapi;
mod operating;
mod parallel;
mod python_sources;
mod reliability;
mod rest_api;
mod schema_control;
mod sources_schema;
mod sync;
