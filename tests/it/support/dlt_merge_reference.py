"""Loads a dlt source with dlt itself once per state (function kwarg `state`), into one DuckDB
pipeline, and prints after each load every table of the dataset as JSON: a list with, per
state, {table: {"columns": [[name, type], ...], "rows": [row as DuckDB's to_json, ...]}}.
Usage: dlt_merge_reference.py PROJECT MODULE FUNCTION STATES DB_FILE PIPELINES_DIR DATASET"""
import importlib
import json
import os
import sys

project, module, function, states, db_file, pipelines_dir, dataset = sys.argv[1:8]
os.chdir(project)
sys.path[:0] = [project, os.path.join(project, "custom_sources")]
import dlt

make = getattr(importlib.import_module(module), function)
pipeline = dlt.pipeline(
    pipeline_name="reference",
    destination=dlt.destinations.duckdb(db_file),
    dataset_name=dataset,
    pipelines_dir=pipelines_dir,
)
dumps = []
for state in range(int(states)):
    pipeline.run(make(state=state))
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt\\_%' ESCAPE '\\' "
            "ORDER BY table_name, ordinal_position",
            dataset,
        )
        dump = {}
        for table, column, data_type in rows:
            dump.setdefault(table, {"columns": [], "rows": []})["columns"].append([column, data_type])
        for table in dump:
            dump[table]["rows"] = [
                r[0] for r in client.execute_sql(f'SELECT to_json(t)::VARCHAR FROM "{dataset}"."{table}" AS t')
            ]
    dumps.append(dump)
print(json.dumps(dumps))
