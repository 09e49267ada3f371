#!/usr/bin/env python3
"""`dango validate` on large generated sources files: seconds and peak RSS at several sizes, side
by side in one run, to see how validation grows with the file (issue 30).

Each file holds REST sources of 8 resources each (paginators of every kind, params, incremental,
a dependent resource, shorthands and `resource_defaults`), all valid unless `--errors N` puts
a mistake in every Nth resource (each must still be reported with its line). Three shapes:
  * sources:   many sources of 8 resources each;
  * resources: sources of 2,000 resources each;
  * chain:     sources of 2,000 resources, each but the first a child of the one before.

    python3 scripts/bench_validate.py --dango old/dango --dango target/debug/dango --sizes 1,5,10,25
    python3 scripts/bench_validate.py --dango target/debug/dango --shape chain --per-source 1000000
    python3 scripts/bench_validate.py --dango target/debug/dango --errors 20
    python3 scripts/bench_validate.py --write 10 > sources.yml   # only write a 10 MB file
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

MB = 1_000_000


def resource(s, r, chained, error):
    """One resource's YAML lines (indented for `resources:`), kind chosen by its index."""
    name = f"res_{s}_{r}"
    kind = 3 if chained and r > 0 else r % 8
    lines = resource_lines(s, r, name, kind, chained)
    if error:
        # A misspelt key: reported as an unknown field, with its line.
        lines = [f"        - name: {name}"] if kind == 6 else lines
        lines.append("          primary_kye: id")
    return lines


def resource_lines(s, r, name, kind, chained):
    """The lines of one resource of each kind, 0 to 7; kind 3 is a child of an earlier one."""
    if kind == 0:
        return [
            f"        - name: {name}",
            f"          endpoint:",
            f"            path: /v1/{name}",
            f"            params: {{status: active, region: eu-{r}, expand: owner}}",
            f"            data_selector: data.items",
            f"            paginator:",
            f"              type: page_number",
            f"              page_param: page",
            f"              base_page: 1",
            f"              page_size: 100",
            f"              total_path: meta.total_pages",
            f"          primary_key: id",
            f"          write_disposition: merge",
        ]
    if kind == 1:
        return [
            f"        - name: {name}",
            f"          endpoint:",
            f"            path: /v1/{name}",
            f"            params:",
            f"              updated_after: \"{{incremental.start_value}}\"",
            f"              limit: 500",
            f"            incremental:",
            f"              cursor_path: updated_at",
            f"              initial_value: \"2024-01-01T00:00:00Z\"",
            f"          write_disposition: append",
        ]
    if kind == 2:
        return [
            f"        - name: {name}",
            f"          endpoint: /v1/{name}",
            f"          pagination:",
            f"            type: offset",
            f"            param: offset",
            f"            limit_param: limit",
            f"            limit: 100",
            f"            total_path: total",
            f"          primary_key: [org, id]",
            f"          write_disposition: merge",
        ]
    if kind == 3:
        parent = f"res_{s}_{r - 1 if chained else r - 3}"
        return [
            f"        - name: {name}",
            f"          endpoint:",
            f"            path: \"/v1/{parent}/{{resources.{parent}.id}}/items\"",
            f"            params: {{fields: \"id,name,updated_at\"}}",
            f"          include_from_parent: [id]",
        ]
    if kind == 4:
        return [
            f"        - name: {name}",
            f"          endpoint:",
            f"            path: /v1/{name}",
            f"            data_selector: events",
            f"            paginator: {{type: cursor, cursor_path: next_cursor, cursor_param: cursor}}",
            f"          columns:",
            f"            amount: {{data_type: decimal}}",
            f"            created_at: {{data_type: timestamp}}",
        ]
    if kind == 5:
        return [
            f"        - name: {name}",
            f"          endpoint: /v1/{name}",
            f"          pagination: {{type: next_url, next_url_path: links.next}}",
            f"          table_name: table_{s}_{r}",
        ]
    if kind == 6:
        return [f"        - {name}"]
    return [
        f"        - name: {name}",
        f"          endpoint: {{path: /v1/{name}, method: GET}}",
        f"          pagination: {{type: header_link}}",
        f"          write_disposition: replace",
    ]


def source(s, resources, chained, errors, counter, budget):
    """One source's YAML, of `resources` resources or as many as fit in `budget` bytes."""
    lines = [
        f"  - name: src_{s}",
        f"    type: rest_api",
        f"    description: \"Generated source {s}\"",
        f"    rest_api:",
        f"      base_url: \"https://api{s}.example.com\"",
        f"      headers: {{Accept: application/json, X-Tenant: tenant-{s}}}",
        f"      rate_limit: {{requests_per_second: 10, burst: 5}}",
        f"      resource_defaults:",
        f"        primary_key: id",
        f"        write_disposition: merge",
        f"      resources:",
    ]
    size = sum(len(line) + 1 for line in lines)
    for r in range(resources):
        if size >= budget and r > 0:
            break
        counter[0] += 1
        error = errors > 0 and counter[0] % errors == 0
        more = resource(s, r, chained, error)
        size += sum(len(line) + 1 for line in more)
        lines.extend(more)
    return "\n".join(lines) + "\n"


def write_file(out, size_mb, shape, errors, per_source=None):
    """Writes sources until the file reaches `size_mb`; returns (sources, resources)."""
    per_source = per_source or (8 if shape == "sources" else 2000)
    chained = shape == "chain"
    out.write('version: "1.0"\nsources:\n')
    written, s, counter = 0, 0, [0]
    while written < size_mb * MB:
        text = source(s, per_source, chained, errors, counter, size_mb * MB - written)
        out.write(text)
        written += len(text)
        s += 1
    return s, counter[0]


def peak_rss_mb(stderr):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(m.group(1)) / 1000 if m else float("nan")


def run(dango, root, timeout):
    """Seconds, peak RSS (MB), exit code, problems reported and stderr of one validation."""
    start = time.monotonic()
    try:
        p = subprocess.run(
            ["/usr/bin/time", "-v", dango, "validate", "--project", root],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return float("inf"), float("nan"), "timeout", 0, ""
    seconds = time.monotonic() - start
    errors = sum(1 for line in p.stderr.splitlines() if line.startswith("  - "))
    return seconds, peak_rss_mb(p.stderr), p.returncode, errors, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dango", action="append",
                    help="binary to time; repeat to compare builds side by side on each file")
    ap.add_argument("--sizes", default="1,5,10,25", help="MB, comma-separated")
    ap.add_argument("--shape", choices=["sources", "resources", "chain"], default="sources")
    ap.add_argument("--errors", type=int, default=0, help="a mistake in every Nth resource")
    ap.add_argument("--per-source", type=int, help="resources per source (default by shape)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a run is given up")
    ap.add_argument("--write", type=float, help="only write a file of this many MB to stdout")
    args = ap.parse_args()
    if args.write:
        write_file(sys.stdout, args.write, args.shape, args.errors, args.per_source)
        return
    binaries = args.dango or ["target/debug/dango"]
    print(f"shape {args.shape}, errors every {args.errors or '-'} resources")
    print("| size | sources | resources | binary | seconds | peak RSS | exit | errors |")
    print("|---:|---:|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as work:
        for size in [float(x) for x in args.sizes.split(",")]:
            root = os.path.join(work, f"p{size}")
            os.makedirs(os.path.join(root, ".dango"))
            path = os.path.join(root, ".dango", "sources.yml")
            with open(path, "w") as f:
                sources, resources = write_file(f, size, args.shape, args.errors, args.per_source)
            mb = os.path.getsize(path) / MB
            for dango in binaries:
                seconds, rss, code, errors, stderr = run(dango, root, args.timeout)
                print(f"| {mb:.{1 if mb >= 1 else 2}f} MB | {sources:,} | {resources:,} | {os.path.basename(dango)} "
                      f"| {seconds:.2f} | {rss:,.0f} MB | {code} | {errors:,} |", flush=True)
                if code != 0 and not args.errors:
                    sys.stderr.write(stderr[-3000:])
            os.remove(path)


if __name__ == "__main__":
    main()
