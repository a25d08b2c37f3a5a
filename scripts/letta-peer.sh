#!/usr/bin/env bash
# A real local Letta 0.16.8 server (embedded Postgres, fake LLM) for trying the dashboard end to
# end and for the tests.
#   scripts/letta-peer.sh start   install if needed (~2 min the first time), start, print the URL
#   scripts/letta-peer.sh stop
# The venv and database live in a cache outside the clone, so later starts take ~20 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${LETTA_PEER_CACHE:-}" ]; then
  cache=$LETTA_PEER_CACHE
elif [ "$(id -u)" = 0 ]; then
  # Postgres refuses to run as root and runs as an unprivileged user, which cannot enter /root.
  cache=/var/cache/letta-admin
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/letta-admin
fi
mkdir -p "$cache"
case "${1:-start}" in
  start) exec "$here/letta/start-letta.sh" "$cache/letta-venv" "$cache/letta-state" ;;
  stop) exec "$here/letta/start-letta.sh" stop "$cache/letta-venv" "$cache/letta-state" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
