#!/usr/bin/env bash
# A real local Letta 0.16.8 server (embedded Postgres, fake LLM) for trying the dashboard end to
# end and for the tests.
#   scripts/letta-peer.sh start   install if needed (~2 min the first time), start, print the URL
#   scripts/letta-peer.sh stop
#   scripts/letta-peer.sh status  exit 0 if a peer answers already (e.g. one someone else started)
# The peer is one per machine (fixed ports, one cache): a start when one is running only prints
# its URL, so a script that finds one running should leave it running (scripts/test.sh does).
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
  status) exec curl -fsS -m 3 "http://${LETTA_HOST:-127.0.0.1}:${LETTA_PORT:-8283}/v1/health/" >/dev/null ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
