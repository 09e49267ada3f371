"""One dlt load of a mock API's orders (merge on `id`) under a schema contract, as the reference
for Dango's contracts. Prints JSON: {"ok": bool, "error": first line or null,
"columns": [orders' columns], "rows": {table: count}}.
Usage: dlt_contract_reference.py URL DB_FILE PIPELINES_DIR CONTRACT_JSON"""
import json
import os
import sys
import urllib.request

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
url, db_file, pipelines_dir, contract = sys.argv[1:5]
import dlt

items = json.load(urllib.request.urlopen(url))["items"]


@dlt.resource(name="orders", primary_key="id", write_disposition="merge",
              schema_contract=json.loads(contract))
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
    columns = client.execute_sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'raw_shop' AND table_name = 'orders' ORDER BY ordinal_position")
    out["columns"] = [c for (c,) in columns]
    tables = client.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_shop' "
        "AND table_name NOT LIKE '_dlt%'")
    out["rows"] = {t: client.execute_sql(f'SELECT count(*) FROM raw_shop."{t}"')[0][0]
                   for (t,) in tables}
print(json.dumps(out))
