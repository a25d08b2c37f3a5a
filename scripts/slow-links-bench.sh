#!/usr/bin/env bash
# Slow-link bench (issue #24): every screen's direct first visit and every nav click, cold
# cache, in Chromium on loopback and at 150 ms RTT / 10 Mbit/s (end2end/bench/slow-links.cjs).
# Starts the release server built in target/ on a fresh data directory with an admin, and a
# Letta peer for the screens that show Letta's data (LETTA_BASE_URL, else scripts/letta-peer.sh).
#   scripts/slow-links-bench.sh             measures the build in target/ (no build here:
#                                           scripts/bench.sh builds first)
#   BENCH_BIN=... BENCH_SITE=...            another build (a copied binary with its hash.txt
#                                           beside it, and its site directory)
#   BENCH_ROUNDS=n                          visits per figure (median; default 3)
# Not a test: figures are printed next to their targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-target/release/letta-admin}
site=${BENCH_SITE:-target/site}
port=${BENCH_PORT:-3320}
base="http://127.0.0.1:$port"
if [ -z "${LETTA_BASE_URL:-}" ]; then
  scripts/letta-peer.sh start >&2
  LETTA_BASE_URL=http://127.0.0.1:8283 LETTA_SERVER_PASSWORD=letta-test-password
fi
[ -d end2end/node_modules/@playwright/test ] || (cd end2end && npm ci --no-audit --no-fund --silent)
! curl -fsS "$base/healthz" >/dev/null 2>&1 \
  || { echo "slow-links: port $port is taken (set BENCH_PORT)" >&2; exit 1; }
work=$(mktemp -d)
mkdir -p "$work/data"
export LETTA_ADMIN_DATA_DIR="$work/data"
echo "bench password 1" | "$bin" create-user bench admin >/dev/null 2>&1 \
  || { echo "slow-links: cannot create the bench user" >&2; exit 1; }
# The Letta URL and password are first-run defaults (src/config.rs): the Letta screens work.
LETTA_BASE_URL=$LETTA_BASE_URL LETTA_SERVER_PASSWORD=${LETTA_SERVER_PASSWORD:-} \
  LETTA_ADMIN_CHAT_SWEEP_SECONDS=3600 LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$site" \
  RUST_LOG=warn "$bin" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
BENCH_BASE_URL=$base BENCH_USER=bench BENCH_PASSWORD="bench password 1" \
  node end2end/bench/slow-links.cjs
