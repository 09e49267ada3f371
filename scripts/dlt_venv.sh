#!/usr/bin/env bash
# Prints the path of the Python of the project's own virtual environment holding the reference
# dlt (pinned), making it first if needed. Usage: scripts/dlt_venv.sh DIR
set -euo pipefail
exec "$(dirname "$0")/pinned_venv.sh" "${1:?usage: scripts/dlt_venv.sh DIR}" 'dlt[duckdb,parquet]==1.31.0'
