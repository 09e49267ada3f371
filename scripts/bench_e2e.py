#!/usr/bin/env python3
"""End-to-end benchmark: the same mock API (N nested orders, 1,000 per page) loaded into DuckDB
by Dango, by dlt's rest_api source (defaults, and loader_file_format="parquet"), and by DuckDB's
own read_json over the same pages saved to disk (the floor). Prints seconds, rows/s, peak RSS and
ratios, all measured side by side in one run (medians of --repeat runs). Every tool loads the
same resource the same way: merge on `id`, offset pagination with the API's total.

    "$(scripts/dlt_venv.sh target/dlt-venv)" scripts/bench_e2e.py --orders 100000 --dango target/release/dango

`--transform "SELECT ... FROM data"` also times the same sync with that transform, alternating
with the plain one (issue 17's cost of a transform). `--lake` also times the same sync into a
local DuckLake (DuckDB-file catalog, Parquet files on the local disk), alternating with the
DuckDB warehouse (issue 18); it fetches DuckDB's extensions with scripts/duckdb_extensions.sh
unless DANGO_EXTENSION_DIR names a directory that has them.

Run it with the Python of the project's reference-dlt environment, as above (scripts/dlt_venv.sh
makes it, pinned, and prints its path).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

DLT_SCRIPT = r'''
import sys, dlt
from dlt.sources.rest_api import rest_api_source
base, db, pipes, fmt = sys.argv[1:5]
src = rest_api_source({
    "client": {"base_url": base},
    "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
    "resources": [{"name": "orders", "endpoint": {"path": "orders", "data_selector": "items",
        "paginator": {"type": "offset", "limit": 1000, "total_path": "total"}}}],
})
p = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(db),
                 dataset_name="raw_bench", pipelines_dir=pipes)
kwargs = {"loader_file_format": "parquet"} if fmt == "parquet" else {}
p.run(src, **kwargs)
'''

FLOOR_SCRIPT = r'''
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.sql("CREATE TABLE orders AS SELECT unnest(items, recursive := false) AS o FROM read_json('" + sys.argv[2] + "/*.json')")
'''


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(cmd, env=None, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--dango", default="target/release/dango")
    ap.add_argument("--skip-dlt-default", action="store_true", help="dlt's default loader is slow at large N")
    ap.add_argument("--skip-dlt", action="store_true", help="only Dango and the read_json floor")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; medians are reported")
    ap.add_argument("--baseline", help="another dango binary (say, a build of the previous commit), "
                    "run alternately with --dango so both see the same machine")
    ap.add_argument("--transform", help="also sync with this `transform:` SQL on the orders, "
                    "alternately with the plain sync (the cost of a transform)")
    ap.add_argument("--checkpoints-off", action="store_true", help="also sync with `checkpoint: false`, "
                    "alternately with the default (a checkpoint every 100,000 records): their cost")
    ap.add_argument("--strategies", action="store_true", help="also time a second sync of the "
                    "orders into the table the first one filled, by delete-insert, upsert and "
                    "scd2, alternately (issue 27: each within 2x of delete-insert)")
    ap.add_argument("--deletes", action="store_true", help="also time that second sync by "
                    "delete-insert with `deletes: {detect: absent, mode: hard}` and upsert with "
                    "`mode: soft` (the cost of detecting deletes by absence)")
    ap.add_argument("--lake", action="store_true", help="also sync into a local DuckLake "
                    "(DuckDB-file catalog, local Parquet), alternately with the DuckDB file")
    args = ap.parse_args()
    dango = os.path.abspath(args.dango)
    work = tempfile.mkdtemp(prefix="dango-bench-")
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false")
    if args.lake and "DANGO_EXTENSION_DIR" not in env:
        here = os.path.dirname(os.path.abspath(__file__))
        env["DANGO_EXTENSION_DIR"] = subprocess.run(
            ["bash", os.path.join(here, "duckdb_extensions.sh"), os.path.join(here, "..", "target", "duckdb-extensions")],
            check=True, capture_output=True, text=True).stdout.strip()

    server = subprocess.Popen([dango, "mock-api", "--orders", str(args.orders), "--page-size", "1000"],
                              stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip()
    try:
        results = []
        def make_project(name, extra="", top=""):
            """A project loading the orders, with `extra` resource lines and `top` file lines."""
            project = os.path.join(work, name)
            os.makedirs(os.path.join(project, ".dango"))
            with open(os.path.join(project, ".dango", "sources.yml"), "w") as f:
                f.write(f"""{top}sources:
  - name: bench
    type: rest_api
    rest_api:
      base_url: "{base}"
      resources:
        - name: orders
          endpoint: /orders
          data_selector: items
          write_disposition: merge
          primary_key: id
          pagination: {{type: offset, limit: 1000, total_path: total}}
{extra}""")
            return project

        project = make_project("project")

        def one_run(make_cmd, i, **kw):
            """One run of a tool: (seconds, peak RSS MB, the server's CPU seconds meanwhile)."""
            cpu = cpu_seconds(server.pid)
            seconds, rss = measured(make_cmd(i), **kw)
            return seconds, rss, cpu_seconds(server.pid) - cpu

        def record(name, runs):
            results.append((name, *(statistics.median(r[k] for r in runs) for k in range(3))))

        def run(name, make_cmd, **kw):
            """Runs a tool --repeat times on fresh state; records medians and the server's CPU."""
            record(name, [one_run(make_cmd, i, **kw) for i in range(args.repeat)])

        def dango_cmd(binary, project):
            def cmd(i):
                # A fresh warehouse for every run: each run loads all orders from scratch.
                shutil.rmtree(os.path.join(project, "data"), ignore_errors=True)
                return [binary, "sync"]
            return cmd

        # Dango, its baseline and its transform run alternate, so a slow moment of the machine
        # hits all of them.
        dangos = [("dango", dango, project)]
        if args.baseline:
            dangos.append(("dango baseline", os.path.abspath(args.baseline), project))
        if args.transform:
            sql = args.transform.replace("\\", "\\\\").replace('"', '\\"')
            transformed = make_project("project_transform", f'          transform: "{sql}"\n')
            dangos.append(("dango with transform", dango, transformed))
        if args.checkpoints_off:
            plain = make_project("project_no_checkpoints", "          checkpoint: false\n")
            dangos.append(("dango, checkpoints off", dango, plain))
        if args.lake:
            lake = make_project("project_lake", top="warehouse: {type: ducklake, catalog: data/lake.ducklake, data_path: data/lake/}\n")
            dangos.append(("dango into DuckLake (local)", dango, lake))
        def second_sync(binary, project):
            def cmd(i):
                # The timed sync merges every order into a table the untimed first one filled.
                shutil.rmtree(os.path.join(project, "data"), ignore_errors=True)
                subprocess.run([binary, "sync"], cwd=project, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return [binary, "sync"]
            return cmd

        variants = []
        if args.strategies:
            variants += [(s, None) for s in ["delete-insert", "upsert", "scd2"]]
        if args.deletes:
            for pair in [("delete-insert", None), ("delete-insert", "hard"), ("upsert", None), ("upsert", "soft")]:
                if pair not in variants:
                    variants.append(pair)
        for strategy, deletes in variants:
            extra = f"          deletes: {{detect: absent, mode: {deletes}}}\n" if deletes else ""
            home = make_project(f"project_{strategy}_{deletes}", extra)
            path = os.path.join(home, ".dango", "sources.yml")
            with open(path) as f:
                text = f.read().replace(
                    "write_disposition: merge",
                    f"write_disposition: {{disposition: merge, strategy: {strategy}}}")
            with open(path, "w") as f:
                f.write(text)
            label = f"dango {strategy}" + (f" + deletes {deletes}" if deletes else "")
            dangos.append((f"{label}, 2nd sync", dango, home, second_sync))
        runs = {name: [] for name, *_ in dangos}
        for i in range(args.repeat):
            for name, binary, home, *how in dangos:
                make = how[0] if how else dango_cmd
                runs[name].append(one_run(make(binary, home), i, cwd=home, env=env))
        for name, *_ in dangos:
            record(name, runs[name])

        script = os.path.join(work, "dlt_bench.py")
        with open(script, "w") as f:
            f.write(DLT_SCRIPT)
        formats = [] if args.skip_dlt else ["parquet"] + ([] if args.skip_dlt_default else ["default"])
        for fmt in formats:
            def dlt_cmd(i, fmt=fmt):
                db = os.path.join(work, f"dlt_{fmt}_{i}.duckdb")
                return [sys.executable, script, base, db, os.path.join(work, f"pipes_{fmt}_{i}"), fmt]
            run(f"dlt ({fmt})", dlt_cmd, env=env)

        pages = os.path.join(work, "pages")
        os.makedirs(pages)
        for i, offset in enumerate(range(0, args.orders, 1000)):
            with urllib.request.urlopen(f"{base}/orders?offset={offset}&limit=1000") as r:
                with open(os.path.join(pages, f"{i:06}.json"), "wb") as out:
                    out.write(r.read())
        floor = os.path.join(work, "floor.py")
        with open(floor, "w") as f:
            f.write(FLOOR_SCRIPT)
        run("duckdb read_json (floor, from disk)",
            lambda i: [sys.executable, floor, os.path.join(work, f"floor_{i}.duckdb"), pages])
    finally:
        server.kill()
        # A 1M-order run leaves gigabytes of pages and warehouses behind.
        shutil.rmtree(work, ignore_errors=True)

    ours = results[0][1]
    print(f"\n{args.orders:,} orders (~{int(args.orders * 2.5):,} line items), 1,000 per page, "
          f"{os.cpu_count()} cores, median of {args.repeat}")
    print(f"{'tool':<38}{'seconds':>9}{'orders/s':>12}{'peak RSS MB':>13}{'server CPU s':>14}{'time vs dango':>15}")
    for name, seconds, rss, server_cpu in results:
        print(f"{name:<38}{seconds:>9.2f}{args.orders / seconds:>12,.0f}{rss:>13.0f}{server_cpu:>14.2f}"
              f"{seconds / ours:>14.1f}x")
    print(json.dumps({name: {"seconds": s, "peak_rss_mb": r, "server_cpu_s": c} for name, s, r, c in results}))


if __name__ == "__main__":
    main()
