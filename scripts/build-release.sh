#!/usr/bin/env bash
# The one release build every script and the Dockerfile use, so what is tested is what ships.
# Views are built with Leptos's type erasure in every profile: without it the release wasm
# hits an unrecoverable hydration mismatch in tachys (seen on /login), while the erased build
# hydrates every page (the browser tests prove it). cargo-leptos sets it for debug builds only.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTFLAGS="--cfg erase_components"
# --precompress writes .br and .gz beside each asset; the server sends the one the browser
# accepts (about 4x smaller for the wasm).
# Cargo.toml's hash-files puts content hashes into the /pkg names (see src/assets.rs).
# --split: each lazy route (src/app.rs) gets its own wasm chunk, loaded when first shown.
exec cargo leptos build --release --precompress --split "$@"
