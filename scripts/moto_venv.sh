#!/usr/bin/env bash
# Prints the path of a virtual environment's bin/ holding moto's S3-compatible server (pinned),
# making it first if missing: the DuckLake test of a bucket `data_path` loads through it on
# 127.0.0.1. Nothing is installed into the system Python. Usage: scripts/moto_venv.sh DIR
set -euo pipefail
dir="${1:?usage: scripts/moto_venv.sh DIR}"
spec='moto[server]==5.2.5'
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ ! -x "$dir/bin/moto_server" ] || [ "$(cat "$dir/.pinned" 2>/dev/null)" != "$spec" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
  echo "$spec" >"$dir/.pinned"
fi
echo "$dir/bin"
