"""Loads a user's dlt source with dlt itself (pipeline.run into DuckDB) and prints the layout
as JSON: {table: {"columns": [[name, type], ...], "rows": n}}.
Usage: dlt_python_reference.py PROJECT MODULE FUNCTION KWARGS_JSON DB_FILE PIPELINES_DIR DATASET"""
import importlib
import json
import os
import sys

project, module, function, kwargs, db_file, pipelines_dir, dataset = sys.argv[1:8]
os.chdir(project)
sys.path[:0] = [project, os.path.join(project, "custom_sources")]
import dlt

if not hasattr(dlt, "DltResource"):
    dlt.DltResource = dlt.sources.DltResource
source = getattr(importlib.import_module(module), function)(**json.loads(kwargs))
pipeline = dlt.pipeline(
    pipeline_name="reference",
    destination=dlt.destinations.duckdb(db_file),
    dataset_name=dataset,
    pipelines_dir=pipelines_dir,
)
pipeline.run(source)
with pipeline.sql_client() as client:
    rows = client.execute_sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? ORDER BY table_name, ordinal_position",
        dataset,
    )
    layout = {}
    for table, column, data_type in rows:
        layout.setdefault(table, {"columns": [], "rows": 0})["columns"].append([column, data_type])
    for table in layout:
        layout[table]["rows"] = client.execute_sql(f'SELECT count(*) FROM "{dataset}"."{table}"')[0][0]
print(json.dumps(layout))
