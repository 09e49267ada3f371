#!/usr/bin/env bash
# Prints the path of the Python in a virtual environment at DIR holding SPEC (pinned), making the
# environment first if it is missing or holds another pin. The tests and benchmarks run the
# reference dlt and moto's S3 server through such environments; nothing is installed into the
# system Python (Debian and Ubuntu refuse that, PEP 668). Usage: scripts/pinned_venv.sh DIR SPEC
set -euo pipefail
dir="${1:?usage: scripts/pinned_venv.sh DIR SPEC}"
spec="${2:?usage: scripts/pinned_venv.sh DIR SPEC}"
mkdir -p "$(dirname "$dir")"
# Test processes ask at the same time: one makes the environment, the others wait for it.
exec 9>"$dir.lock"
flock 9
if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.pinned" 2>/dev/null)" != "$spec" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
  echo "$spec" >"$dir/.pinned"
fi
echo "$dir/bin/python"
