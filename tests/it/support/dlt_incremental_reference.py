"""Loads the mock API's orders with real dlt under each of dlt's incremental range options.

Usage: python3 dlt_incremental_reference.py BASE_URL DUCKDB_FILE PIPELINES_DIR INITIAL END [lag]
With `lag`, runs only two pipelines with `lag: 7200` (append, and merge on `id`) once more each
(tests/it/rest_api.rs's incremental_lag_matches_dlt runs it twice, the API growing in between).
Otherwise mirrors tests/it/rest_api.rs's incremental_ranges_match_dlt: one source per combination of
`range_start` and `range_end` (from INITIAL to END on `updatedAt`), and one whose cursor field is
missing from every record (`on_cursor_value_missing: include`), and one that stops paginating past
the range (`row_order: asc`, five orders a page). Prints the order ids each loaded, as JSON:
{dataset: [id, ...]}.
"""
import json
import sys

import dlt
from dlt.sources.rest_api import rest_api_source

base_url, db_file, pipelines_dir, initial, end = sys.argv[1:6]


def orders(dataset, incremental, limit=10, disposition="append"):
    """The orders resource of `dataset`, loaded from `incremental`'s range, `limit` a page."""
    resource = {
        "name": "orders",
        "write_disposition": disposition,
        "endpoint": {
            "path": "orders",
            "data_selector": "items",
            "paginator": {"type": "offset", "limit": limit, "total_path": "total"},
            "incremental": incremental,
        },
    }
    if disposition == "merge":
        resource["primary_key"] = "id"
    source = rest_api_source({"client": {"base_url": base_url}, "resources": [resource]})
    pipeline = dlt.pipeline(
        pipeline_name=dataset,
        destination=dlt.destinations.duckdb(db_file),
        dataset_name=dataset,
        pipelines_dir=pipelines_dir,
    )
    pipeline.run(source)
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f'SELECT id FROM "{dataset}"."orders" ORDER BY id')
    return [r[0] for r in rows]


if sys.argv[6:] == ["lag"]:
    lagged = {"cursor_path": "updatedAt", "initial_value": initial, "lag": 7200, "start_param": "updated_after"}
    print(json.dumps({
        "lag_append": orders("lag_append", lagged),
        "lag_merge": orders("lag_merge", lagged, disposition="merge"),
    }))
    sys.exit(0)

loaded = {}
for start in ("closed", "open"):
    for stop in ("open", "closed"):
        dataset = f"range_{start}_{stop}"
        loaded[dataset] = orders(
            dataset,
            {
                "cursor_path": "updatedAt",
                "initial_value": initial,
                "end_value": end,
                "range_start": start,
                "range_end": stop,
            },
        )
# Five to a page, so the test tells this pipeline's requests from the others'.
loaded["ordered"] = orders(
    "ordered",
    {"cursor_path": "updatedAt", "initial_value": initial, "end_value": end, "row_order": "asc"},
    limit=5,
)
loaded["missing_included"] = orders(
    "missing_included",
    {"cursor_path": "discountCode", "on_cursor_value_missing": "include"},
)
print(json.dumps(loaded))
