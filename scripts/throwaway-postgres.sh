#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (no systemd): initdb into a temp dir, listen on a free loopback
# port, fsync off. Prints `export TEST_DATABASE_URL=...` and `export PG_THROWAWAY_DIR=...`;
# `scripts/throwaway-postgres.sh stop <dir>` stops it and deletes the dir.
# As root it runs the server as the `postgres` user (Postgres refuses to run as root).
set -euo pipefail

# Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin, off the PATH.
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1)
[ -n "$initdb" ] || initdb=$(command -v initdb || true)
bindir=$(dirname "$(readlink -f "${initdb:-/nonexistent}")")
[ -x "$bindir/initdb" ] || { echo "initdb not found: install Debian's postgresql package" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = stop ]; then
  dir=$2
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir=$(mktemp -d /tmp/slipway-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
"$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "create database slipway_test" >/dev/null
echo "export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/slipway_test"
echo "export PG_THROWAWAY_DIR=$dir"
