#!/usr/bin/env bash
# Speed figures, measured in one run on this machine (not a test: nothing here fails on a
# number). Starts the real Letta peer if needed, then runs the chat-turn bench against it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=letta_admin RUSTFLAGS="--cfg erase_components"
if [ -z "${LETTA_BASE_URL:-}" ]; then
  scripts/letta-peer.sh start >&2
  export LETTA_BASE_URL=http://127.0.0.1:8283 LETTA_SERVER_PASSWORD=letta-test-password
fi
cargo bench --features ssr --bench chat_turn
