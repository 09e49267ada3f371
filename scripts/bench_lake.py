#!/usr/bin/env python3
"""Many workers into one DuckLake: N sources of M nested orders each (the in-repo mock API, 1,000
per page, merge on `id`), loaded for N = 1, 2, 4 by N `dango sync --shard K/N` processes at once
into one lake whose catalog is a real PostgreSQL server (scripts/postgres.sh) with local Parquet
files, and, side by side in the same run, by one `dango sync` process into the DuckDB file.
Prints wall seconds, aggregate orders/s and the largest worker's peak RSS (medians of --repeat).

    python3 scripts/bench_lake.py --orders 250000 --dango target/release/dango --repeat 3

Fetches DuckDB's extensions with scripts/duckdb_extensions.sh unless DANGO_EXTENSION_DIR is set.
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

HERE = os.path.dirname(os.path.abspath(__file__))


def project(root, base, names, top):
    os.makedirs(os.path.join(root, ".dango"), exist_ok=True)
    lines = [top, "sources:\n"]
    for name in names:
        lines.append(f"""  - name: {name}
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
""")
    with open(os.path.join(root, ".dango", "sources.yml"), "w") as f:
        f.write("".join(lines))


def workers(cmds, cwd, env):
    """Runs the commands at once; (wall seconds, largest peak RSS in MB)."""
    started = time.perf_counter()
    procs = [subprocess.Popen(c, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cmds]
    rss = 0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        if status != 0:
            sys.exit(f"{' '.join(p.args)} failed: {p.stderr.read().decode()[-2000:]}")
        rss = max(rss, usage.ru_maxrss / 1024)
    return time.perf_counter() - started, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=100_000, help="orders per source")
    ap.add_argument("--dango", default="target/release/dango")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workers", default="1,2,4")
    args = ap.parse_args()
    dango = os.path.abspath(args.dango)
    env = dict(os.environ)
    if "DANGO_EXTENSION_DIR" not in env:
        env["DANGO_EXTENSION_DIR"] = subprocess.run(
            ["bash", os.path.join(HERE, "duckdb_extensions.sh"), os.path.join(HERE, "..", "target", "duckdb-extensions")],
            check=True, capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="dango-lake-bench-")
    pg_dir = os.path.join(work, "pg")
    port = subprocess.run(["bash", os.path.join(HERE, "postgres.sh"), "start", pg_dir],
                          check=True, capture_output=True, text=True).stdout.strip()
    psql = lambda sql: subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-qc", sql],
                                      check=True, capture_output=True)
    server = subprocess.Popen([dango, "mock-api", "--orders", str(args.orders), "--page-size", "1000"],
                              stdout=subprocess.PIPE, text=True)
    base = server.stdout.readline().strip()
    results = []
    try:
        for n in [int(x) for x in args.workers.split(",")]:
            names = [f"s{i}" for i in range(1, n + 1)]
            lake_root, file_root = os.path.join(work, f"lake{n}"), os.path.join(work, f"file{n}")
            top = (f'warehouse:\n  type: ducklake\n  catalog: "postgres:dbname=lake host=127.0.0.1 '
                   f'port={port} user=postgres"\n  data_path: data/lake/\n')
            project(lake_root, base, names, top)
            project(file_root, base, names, "")
            runs = {"lake": [], "file": []}
            for _ in range(args.repeat):
                # Fresh state for every run: each loads all orders from scratch.
                psql("DROP DATABASE IF EXISTS lake")
                psql("CREATE DATABASE lake")
                shutil.rmtree(os.path.join(lake_root, "data"), ignore_errors=True)
                cmds = [[dango, "sync", "--quiet", "--shard", f"{k}/{n}"] for k in range(1, n + 1)]
                runs["lake"].append(workers(cmds, lake_root, env))
                shutil.rmtree(os.path.join(file_root, "data"), ignore_errors=True)
                runs["file"].append(workers([[dango, "sync", "--quiet"]], file_root, env))
            for kind, label in [("file", f"{n} source(s), 1 process → DuckDB file"),
                                ("lake", f"{n} source(s), {n} worker(s) → Postgres DuckLake")]:
                secs = statistics.median(r[0] for r in runs[kind])
                rss = statistics.median(r[1] for r in runs[kind])
                results.append((label, n, secs, rss))
    finally:
        server.kill()
        subprocess.run(["bash", os.path.join(HERE, "postgres.sh"), "stop", pg_dir], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.orders:,} orders per source, 1,000 per page, {os.cpu_count()} cores, median of {args.repeat}")
    print(f"{'run':<46}{'seconds':>9}{'orders/s':>12}{'peak RSS MB (largest process)':>31}")
    for label, n, secs, rss in results:
        print(f"{label:<46}{secs:>9.2f}{n * args.orders / secs:>12,.0f}{rss:>31.0f}")
    print(json.dumps([{"run": l, "seconds": s, "peak_rss_mb": r} for l, _, s, r in results]))


if __name__ == "__main__":
    main()
