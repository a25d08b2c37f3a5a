#!/usr/bin/env bash
# A throwaway Postgres cluster for the tests (and for trying the Postgres backend by hand):
# a temporary data directory, a free port on 127.0.0.1, its unix socket in that directory,
# trust authentication for local connections only, and durability switched off (it is thrown
# away).
#   scripts/pg-throwaway.sh start   prints PG_THROWAWAY_DIR=… and TEST_POSTGRES_URL=…
#   scripts/pg-throwaway.sh stop [DIR]   stops the cluster and deletes its directory
#                                        (DIR defaults to $PG_THROWAWAY_DIR)
# As root the server runs as the postgres user (Postgres refuses to run as root).
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -x "$bin/initdb" ] || { echo "Postgres is not installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/pg-throwaway.XXXXXX)
    chmod 0755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    for try in 1 2 3 4 5; do
      port=$(free_port)
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
          -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
              -c max_connections=400 -c fsync=off -c synchronous_commit=off \
              -c full_page_writes=off -c shared_buffers=64MB" start >/dev/null; then
        echo "PG_THROWAWAY_DIR=$dir"
        echo "TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
        exit 0
      fi
      # The port was taken between the probe and the bind: another one.
      sleep 0.2
    done
    cat "$dir/server.log" >&2
    rm -rf "$dir"
    exit 1
    ;;
  stop)
    dir=${2:-${PG_THROWAWAY_DIR:-}}
    [ -n "$dir" ] || { echo "usage: $0 stop DIR (or set PG_THROWAWAY_DIR)" >&2; exit 2; }
    case "$dir" in /tmp/pg-throwaway.*) ;; *) echo "not a throwaway cluster: $dir" >&2; exit 2 ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac
