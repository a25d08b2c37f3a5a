#!/usr/bin/env bash
# Browser tests: builds the app, starts it on a fresh data directory (its log captured, for the
# setup token), runs Playwright in Debian's Chromium, and stops it. Needs a Letta peer:
# E2E_LETTA_URL / E2E_LETTA_PASSWORD (scripts/test.sh provides them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
: "${E2E_LETTA_URL:?set E2E_LETTA_URL to a running Letta server}"
: "${E2E_LETTA_PASSWORD:?set E2E_LETTA_PASSWORD}"

# The release build: what scripts/run.sh ships (scripts/build-release.sh: optimised by
# wasm-opt, precompressed, content-hashed names).
# Type-erased views in every profile (see scripts/build-release.sh); exported so later cargo
# commands here share the build's fingerprint.
export RUSTFLAGS="--cfg erase_components"
scripts/build-release.sh
work=$(mktemp -d)
port=${E2E_PORT:-3311}
export E2E_BASE_URL="http://127.0.0.1:$port" E2E_SERVER_LOG="$work/server.log"
export E2E_SCREENSHOTS=${E2E_SCREENSHOTS:-$work/screenshots} E2E_DATA_DIR="$work/data"
mkdir -p "$E2E_SCREENSHOTS"
env -u LETTA_BASE_URL -u LETTA_SERVER_PASSWORD \
  LETTA_ADMIN_DATA_DIR="$work/data" LETTA_ADMIN_CHAT_SWEEP_SECONDS=3600 LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
  RUST_LOG=info ./target/release/letta-admin > "$E2E_SERVER_LOG" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$E2E_BASE_URL/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$E2E_SERVER_LOG"; exit 1; }
  sleep 0.1
done
status=0
(cd end2end && npx playwright test "$@") || status=$?
if [ $status -ne 0 ]; then echo "--- server log ---"; tail -50 "$E2E_SERVER_LOG"; fi
echo "[e2e] screenshots in $E2E_SCREENSHOTS" >&2
exit $status
