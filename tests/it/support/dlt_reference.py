"""Loads the mock API with real dlt (the reference implementation) into a DuckDB file.

Usage: python3 dlt_reference.py BASE_URL DUCKDB_FILE PIPELINES_DIR
The config mirrors tests/it/dlt_compat.rs's sources.yml, in dlt's own rest_api vocabulary.
Prints the resulting layout as JSON: {table: {"columns": [[name, type], ...], "rows": n}}, read
through dlt's own DuckDB (whose file format may be newer than Dango's).
"""
import json
import sys

import dlt
from dlt.sources.rest_api import rest_api_source

base_url, db_file, pipelines_dir = sys.argv[1:4]

source = rest_api_source(
    {
        "client": {"base_url": base_url},
        "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
        "resources": [
            {
                "name": "users",
                "endpoint": {
                    "path": "users",
                    "data_selector": "data",
                    "paginator": {"type": "page_number", "base_page": 1, "total_path": "meta.total_pages"},
                },
            },
            {
                "name": "orders",
                "endpoint": {
                    "path": "orders",
                    "data_selector": "items",
                    "paginator": {"type": "offset", "limit": 10, "total_path": "total"},
                },
            },
            {
                "name": "events",
                "endpoint": {
                    "path": "events",
                    "data_selector": "events",
                    "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"},
                },
            },
        ],
    }
)
pipeline = dlt.pipeline(
    pipeline_name="compat",
    destination=dlt.destinations.duckdb(db_file),
    dataset_name="raw_compat",
    pipelines_dir=pipelines_dir,
)
pipeline.run(source)

with pipeline.sql_client() as client:
    columns = client.execute_sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw_compat' ORDER BY table_name, ordinal_position"
    )
    layout = {}
    for table, column, data_type in columns:
        layout.setdefault(table, {"columns": [], "rows": 0})["columns"].append([column, data_type])
    for table in layout:
        layout[table]["rows"] = client.execute_sql(f'SELECT count(*) FROM "raw_compat"."{table}"')[0][0]
print(json.dumps(layout))
