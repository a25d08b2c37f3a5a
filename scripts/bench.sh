#!/usr/bin/env bash
# Speed figures, measured in one run on this machine. Not a test: numbers are printed next to
# their targets, never asserted. Builds the release server, starts the real Letta peer if
# needed, then runs:
#   chat_turn  the dashboard's chat turn vs direct attach+send(+detach) on the real Letta, then
#              the same rounds on the in-process fake Letta (the overhead itself, precisely),
#              with the agent lease in SQLite and in Postgres side by side (BENCH_POSTGRES_URL,
#              else a throwaway cluster started here)
#   load       cold start, memory, persons page vs a static asset, 50 chatting sessions
#   wrk        1 runtime vs 2 on the persons page (uncached, cached) and a static asset, with
#              wrk as the client, and the server's CPU by thread (scripts/wrk-bench.sh)
#   slow links every screen's direct first visit and nav click, cold, in Chromium on loopback
#              and at 150 ms RTT / 10 Mbit/s: time to hydrated and requests
#              (scripts/slow-links-bench.sh, end2end/bench/slow-links.cjs)
#   size       first-load bytes of /login and /persons (scripts/size-budget.sh)
# --short: a few seconds per phase (what CI runs, so a broken budget is seen).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=letta_admin RUSTFLAGS="--cfg erase_components"
if [ "${1:-}" = "--short" ]; then
  export BENCH_TURNS=${BENCH_TURNS:-5} BENCH_SECS=${BENCH_SECS:-2} BENCH_SESSION_SECS=${BENCH_SESSION_SECS:-5}
fi
if [ -z "${LETTA_BASE_URL:-}" ]; then
  scripts/letta-peer.sh start >&2
  export LETTA_BASE_URL=http://127.0.0.1:8283 LETTA_SERVER_PASSWORD=letta-test-password
fi
pg_dir=""
if [ -z "${BENCH_POSTGRES_URL:-}" ]; then
  pg_out=$(scripts/pg-throwaway.sh start)
  pg_dir=$(echo "$pg_out" | sed -n 's/^PG_THROWAWAY_DIR=//p')
  export BENCH_POSTGRES_URL=$(echo "$pg_out" | sed -n 's/^TEST_POSTGRES_URL=//p')
  trap 'scripts/pg-throwaway.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
fi
scripts/build-release.sh >&2
cargo bench --features ssr --bench chat_turn
cargo bench --features ssr --bench load
scripts/wrk-bench.sh
BENCH_ROUNDS=${BENCH_ROUNDS:-$([ "${1:-}" = "--short" ] && echo 1 || echo 3)} scripts/slow-links-bench.sh
# Reported here; scripts/test.sh runs the same script as its hard check.
scripts/size-budget.sh --no-build || echo "[size] OVER the first-load budget"
