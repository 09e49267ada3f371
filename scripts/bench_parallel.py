#!/usr/bin/env python3
"""`--parallel` benchmark: 8 resources against the mock API with 50 ms of latency on every
request, synced with `--parallel 8` and with `--parallel 1`, side by side in one run; prints
seconds (median of --repeat runs) and the speed-up.

Two workloads, because page-parallel fetch already overlaps requests within a resource when a
total is known:
  * cursor:  8 resources paged by `next_cursor` (strictly one page after another), 10 pages each;
  * offset:  8 resources paged by offset with a total (pages fetched `concurrency` at a time).

    python3 scripts/bench_parallel.py --dango target/release/dango
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RESOURCES = 8


def project(work, name, base, kind):
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, ".dango"))
    lines = [f"""sources:
  - name: {name}
    type: rest_api
    rest_api:
      base_url: "{base}"
      resources:"""]
    for i in range(RESOURCES):
        if kind == "cursor":
            lines.append(f"""        - name: events_{i}
          endpoint: {{path: /events, params: {{shard: {i}}}, data_selector: events,
                     paginator: {{type: cursor, cursor_path: next_cursor, cursor_param: cursor}}}}""")
        else:
            lines.append(f"""        - name: orders_{i}
          endpoint: {{path: /orders, params: {{shard: {i}}}, data_selector: items,
                     paginator: {{type: offset, limit: 10, total_path: total}}}}""")
    with open(os.path.join(root, ".dango", "sources.yml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return root


def timed(cmd, cwd):
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dango", default="target/release/dango")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dango = os.path.abspath(args.dango)
    work = tempfile.mkdtemp(prefix="dango-parallel-")
    # 100 events and 100 orders, 10 per page: 10 pages per resource.
    server = subprocess.Popen(
        [dango, "mock-api", "--orders", "100", "--events", "100", "--page-size", "10",
         "--latency-ms", str(args.latency_ms)],
        stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip()
    rows = []
    try:
        for kind in ["cursor", "offset"]:
            seconds = {}
            for n in [8, 1]:
                runs = []
                for r in range(args.repeat):
                    root = project(work, f"{kind}_p{n}_{r}", base, kind)
                    runs.append(timed([dango, "sync", "--parallel", str(n)], root))
                seconds[n] = statistics.median(runs)
            rows.append((kind, seconds[1], seconds[8]))
    finally:
        server.kill()
        # A 1M-order run leaves gigabytes of pages and warehouses behind.
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{RESOURCES} resources x 10 pages, {args.latency_ms} ms latency per request, "
          f"median of {args.repeat}, {os.cpu_count()} cores")
    print(f"{'pagination':<12}{'--parallel 1 s':>16}{'--parallel 8 s':>16}{'speed-up':>10}")
    for kind, one, eight in rows:
        print(f"{kind:<12}{one:>16.2f}{eight:>16.2f}{one / eight:>9.1f}x")


if __name__ == "__main__":
    main()
