#!/usr/bin/env bash
# Builds letta-admin (release) and starts it on http://127.0.0.1:3000 with its SQLite database
# in ./data (created with its migrations on first start). On the very first start the log prints
# a one-time link /setup?token=… that creates the first admin.
# Settings come from the environment: see the README's table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The release build, precompressed and hashed (see scripts/build-release.sh).
# Type-erased views in every profile (see scripts/build-release.sh); exported so later cargo
# commands here share the build's fingerprint.
export RUSTFLAGS="--cfg erase_components"
scripts/build-release.sh
export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site}
export LEPTOS_SITE_ADDR=${LEPTOS_SITE_ADDR:-127.0.0.1:3000}
echo "[run] letta-admin on http://$LEPTOS_SITE_ADDR (Ctrl-C stops it)" >&2
exec ./target/release/letta-admin "$@"
