#!/usr/bin/env bash
# A throwaway PostgreSQL server for the DuckLake tests and benchmark: `start DIR` makes a cluster
# in DIR, starts it on a free port on 127.0.0.1 (trust authentication, user `postgres`) and
# prints the port; `stop DIR` stops it. Uses Debian's `postgresql` package, installing it with
# apt-get when the server is missing and this runs as root (CI machines); otherwise says what to
# install. PostgreSQL refuses to run as root, so as root the cluster belongs to `postgres`.
set -euo pipefail
cmd="${1:?usage: scripts/postgres.sh start|stop DIR}"
dir="${2:?usage: scripts/postgres.sh start|stop DIR}"

bindir() {
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      # Tests start servers at the same time: one installs, the others wait for it.
      exec 8>/tmp/dango-postgres-install.lock
      flock 8
      if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "installing Debian's postgresql package for the DuckLake tests" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q -o DPkg::Lock::Timeout=600 postgresql >&2 \
          || { apt-get update -q >&2 && apt-get install -y -q -o DPkg::Lock::Timeout=600 postgresql >&2; }
      fi
      flock -u 8
      found="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    else
      echo "no PostgreSQL server found: install Debian's postgresql package (apt-get install postgresql)" >&2
      exit 1
    fi
  fi
  echo "$found"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # -s: the postgres account's shell may be /usr/sbin/nologin on some images.
    su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    bin="$(bindir)"
    mkdir -p "$dir"
    # The cluster lives where its owner can reach it (a test's temporary directory is private
    # to root); DIR/cluster says where.
    cluster="$(as_owner mktemp -d /tmp/dango-pg.XXXXXX)"
    echo "$cluster" >"$dir/cluster"
    as_owner "$bin/initdb" -D "$cluster/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do
      port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
      if as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
          -o "-h 127.0.0.1 -p $port -k $cluster -c fsync=off -c max_connections=200" >/dev/null; then
        echo "$port"
        exit 0
      fi
    done
    cat "$cluster/server.log" >&2
    exit 1
    ;;
  stop)
    bin="$(bindir)"
    cluster="$(cat "$dir/cluster" 2>/dev/null || true)"
    [ -n "$cluster" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$cluster" "$dir/cluster"
    ;;
  *) echo "usage: scripts/postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
