"""One dlt load of a mock API's orders (merge on `id`) under a schema contract and column hints,
as the reference for Dango's. Prints JSON: {"ok": bool, "error": first line or null,
"columns": [orders' columns], "types": [[column, DuckDB type], ...], "rows": {table: count},
"sample": the rows of SAMPLE_SQL, as text}.
Usage: dlt_contract_reference.py URL DB_FILE PIPELINES_DIR CONTRACT_JSON [COLUMNS_JSON [SAMPLE_SQL]]"""
import json
import os
import sys
import urllib.request

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
url, db_file, pipelines_dir, contract = sys.argv[1:5]
columns = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
sample = sys.argv[6] if len(sys.argv) > 6 else None
import dlt

items = json.load(urllib.request.urlopen(url))["items"]


@dlt.resource(name="orders", primary_key="id", write_disposition="merge",
              schema_contract=json.loads(contract), columns=columns)
def orders():
    yield items


pipeline = dlt.pipeline(
    pipeline_name="reference",
    destination=dlt.destinations.duckdb(db_file),
    dataset_name="raw_shop",
    pipelines_dir=pipelines_dir,
)
out = {"ok": True, "error": None}
try:
    pipeline.run(orders())
except Exception as e:  # the outcome is what is compared
    out = {"ok": False, "error": str(e).splitlines()[0]}
    pipeline.drop_pending_packages()
with pipeline.sql_client() as client:
    described = client.execute_sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'raw_shop' AND table_name = 'orders' ORDER BY ordinal_position")
    out["columns"] = [c for (c, _) in described]
    out["types"] = [[c, t] for (c, t) in described]
    tables = client.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_shop' "
        "AND table_name NOT LIKE '_dlt%'")
    out["rows"] = {t: client.execute_sql(f'SELECT count(*) FROM raw_shop."{t}"')[0][0]
                   for (t,) in tables}
    if sample:
        out["sample"] = [[str(v) for v in row] for row in client.execute_sql(sample)]
print(json.dumps(out))
