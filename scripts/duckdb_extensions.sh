#!/usr/bin/env bash
# Makes DuckDB's extension directory layout under DIR, with the signed extensions a DuckLake
# warehouse needs (ducklake and parquet; postgres for the catalog; httpfs for a bucket)
# for the DuckDB that Dango bundles, and prints DIR.
# DuckDB installs extensions from its own repository over the internet; where that is out of
# reach (these CI machines) the package registry has the same signed files as Python wheels
# (`duckdb-extension-<name>`), which this fetches with pip (download only: nothing is installed).
# Usage: scripts/duckdb_extensions.sh DIR    Then: DANGO_EXTENSION_DIR=DIR dango sync
set -euo pipefail
dir="${1:?usage: scripts/duckdb_extensions.sh DIR}"
version=1.5.5        # DuckDB bundled by the duckdb crate =1.10505.0 (Cargo.toml)
platform=linux_amd64
# wheel name -> the file name DuckDB loads it under (postgres and sqlite keep their old names).
declare -A files=([ducklake]=ducklake [parquet]=parquet [postgres]=postgres_scanner [httpfs]=httpfs)
out="$dir/v$version/$platform"
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9
missing=()
for wheel in "${!files[@]}"; do
  [ -s "$out/${files[$wheel]}.duckdb_extension" ] || missing+=("$wheel")
done
if [ ${#missing[@]} -gt 0 ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  specs=()
  for wheel in "${missing[@]}"; do specs+=("duckdb-extension-$wheel==$version"); done
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --dest "$work" "${specs[@]}" >&2
  mkdir -p "$out"
  for wheel in "${missing[@]}"; do
    python3 - "$work" "$wheel" "$out/${files[$wheel]}.duckdb_extension" <<'PY'
import glob, sys, zipfile
work, name, dest = sys.argv[1:]
[whl] = glob.glob(f"{work}/duckdb_extension_{name}-*.whl")
with zipfile.ZipFile(whl) as z:
    [member] = [m for m in z.namelist() if m.endswith(f"/{name}.duckdb_extension")]
    with z.open(member) as src, open(dest + ".part", "wb") as out:
        out.write(src.read())
import os; os.replace(dest + ".part", dest)
PY
  done
fi
echo "$dir"
