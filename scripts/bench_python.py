#!/usr/bin/env python3
"""Python-source benchmark: one dlt source yielding N nested orders (about 2.5 line items each)
from memory, as pages of 1,000 and as single dicts, loaded into DuckDB by Dango (`type:
dlt_native`) and by dlt itself (`pipeline.run`, with loader_file_format="parquet", and with
defaults if --with-default), next to iterating the same resource through dlt's own item pipeline
with no output (the floor). Seconds, rows/s, peak RSS of the whole process tree, and ratios, all
measured side by side in one run (medians of --repeat runs).

    "$(scripts/dlt_venv.sh target/dlt-venv)" scripts/bench_python.py --dango target/release/dango

Run it with the Python of the project's reference-dlt environment, as above.
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

SOURCE = r'''
import dlt

STATUSES = ["completed", "pending", "cancelled"]
CITIES = ["Lisbon", "Osaka", "Austin", "Nairobi", "Oslo"]


def order(i):
    return {
        "id": i,
        "order_number": f"ORD-{i:08}",
        "status": STATUSES[i % 3],
        "total": 10.25 + i % 500,
        "created_at": f"2024-01-{1 + i % 28:02}T{i % 24:02}:00:00Z",
        "customer": {"id": i % 997, "name": f"Customer {i % 997}",
                     "address": {"city": CITIES[i % 5], "zip": f"{i % 99999:05}"}},
        "line_items": [{"sku": f"SKU-{(i * 7 + k) % 1000}", "quantity": 1 + (i + k) % 5,
                        "unit_price": 2.5 + (i + k) % 40} for k in range(1 + i % 4)],
        "tags": ["gift", "express"] if i % 2 == 0 else ["standard"],
    }


@dlt.source
def bench_orders(n: int = 200000, pages: bool = True):
    @dlt.resource(write_disposition="append")
    def orders():
        if pages:
            for start in range(0, n, 1000):
                yield [order(i) for i in range(start, min(start + 1000, n))]
        else:
            for i in range(n):
                yield order(i)

    return orders
'''

DLT_RUN = r'''
import sys, dlt
sys.path.insert(0, sys.argv[1])
from bench_orders import bench_orders
n, pages, db, pipes, fmt = int(sys.argv[2]), sys.argv[3] == "pages", sys.argv[4], sys.argv[5], sys.argv[6]
p = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(db),
                 dataset_name="raw_bench", pipelines_dir=pipes)
kwargs = {"loader_file_format": "parquet"} if fmt == "parquet" else {}
p.run(bench_orders(n, pages), **kwargs)
'''

ITERATE = r'''
import sys
sys.path.insert(0, sys.argv[1])
from bench_orders import bench_orders
from dlt.extract.pipe_iterator import PipeIterator
source = bench_orders(int(sys.argv[2]), sys.argv[3] == "pages")
count = 0
with PipeIterator.from_pipes(source.resources.selected_pipes) as items:
    for item in items:
        count += len(item.item) if isinstance(item.item, list) else 1
assert count == int(sys.argv[2]), count
'''


def tree_rss(pid):
    """RSS in bytes of `pid` and every process below it."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def measure(cmd, cwd=None, env=None):
    """Seconds and peak tree RSS of `cmd`, which must succeed."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{proc.stderr.read().decode()[-3000:]}")
    return seconds, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dango", required=True)
    ap.add_argument("--orders", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--with-default", action="store_true", help="also dlt with defaults (slow: minutes)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dango-bench-python-")
    modules = os.path.join(work, "custom_sources")
    os.makedirs(modules)
    with open(os.path.join(modules, "bench_orders.py"), "w") as f:
        f.write(SOURCE)
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false", DANGO_PYTHON=sys.executable)

    def dango(kind):
        project = tempfile.mkdtemp(dir=work)
        os.makedirs(os.path.join(project, ".dango"))
        shutil.copytree(modules, os.path.join(project, "custom_sources"))
        with open(os.path.join(project, ".dango", "sources.yml"), "w") as f:
            f.write(
                "sources:\n  - name: bench\n    type: dlt_native\n    dlt_native:\n"
                "      source_module: custom_sources.bench_orders\n      source_function: bench_orders\n"
                f"      function_kwargs: {{n: {args.orders}, pages: {str(kind == 'pages').lower()}}}\n"
            )
        return measure([os.path.abspath(args.dango), "sync"], cwd=project, env=env)

    def dlt(kind, fmt):
        run = tempfile.mkdtemp(dir=work)
        return measure(
            [sys.executable, "-c", DLT_RUN, modules, str(args.orders), kind,
             os.path.join(run, "dlt.duckdb"), os.path.join(run, "pipes"), fmt],
            env=env,
        )

    def iterate(kind):
        return measure([sys.executable, "-c", ITERATE, modules, str(args.orders), kind], env=env)

    cases = {}
    for kind in ("pages", "items"):
        cases[f"dango, {kind}"] = lambda kind=kind: dango(kind)
        cases[f"dlt parquet, {kind}"] = lambda kind=kind: dlt(kind, "parquet")
        cases[f"dlt item pipeline only, {kind}"] = lambda kind=kind: iterate(kind)
    if args.with_default:
        cases["dlt defaults, pages"] = lambda: dlt("pages", "default")
    results = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, run in cases.items():
            results[name].append(run())
    print(f"{args.orders:,} nested orders, medians of {args.repeat}, one run, side by side\n")
    print(f"| case | s | rows/s | peak RSS |")
    print(f"|---|---:|---:|---:|")
    medians = {}
    for name, runs in results.items():
        s = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        medians[name] = s
        print(f"| {name} | {s:.2f} | {args.orders / s:,.0f} | {rss / 1e6:.0f} MB |")
    print()
    for kind in ("pages", "items"):
        ours = medians[f"dango, {kind}"]
        print(f"{kind}: dlt parquet / dango = {medians[f'dlt parquet, {kind}'] / ours:.1f}x; "
              f"dango / dlt item pipeline only = {ours / medians[f'dlt item pipeline only, {kind}']:.2f}x")
    if args.with_default:
        print(f"pages: dlt defaults / dango = {medians['dlt defaults, pages'] / medians['dango, pages']:.1f}x")
    print(json.dumps({k: [list(r) for r in v] for k, v in results.items()}), file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
