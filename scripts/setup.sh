#!/usr/bin/env bash
# Sets up a fresh machine: the reference dlt (Python) that the compatibility test and the
# benchmarks compare against, then the Dango build (DuckDB is compiled from its bundled sources).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check 'dlt[duckdb,parquet]==1.31.0'
cargo build --locked
