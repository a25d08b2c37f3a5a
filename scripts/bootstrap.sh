#!/usr/bin/env bash
# Installs what a fresh machine lacks to build letta-admin, and skips what is there.
#   scripts/bootstrap.sh          build tools only (to run the dashboard)
#   scripts/bootstrap.sh --test   also Chromium, nginx, Postgres, gdb, wrk and the Playwright packages
#                                 (to test it)
# Versions and the reasons for them: see TOOLCHAIN notes in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10     # 0.3.11 with --locked needs a newer rustc than 1.95
WASM_OPT_CRATE_VERSION=0.116.1  # binaryen 116; Debian's binaryen 108 breaks hydration
export PATH="$HOME/.cargo/bin:$PATH"

say() { echo "[bootstrap] $*" >&2; }

command -v cargo >/dev/null || { say "Rust is missing: install it with rustup first"; exit 1; }

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || { say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown; }

[ "$(cargo leptos --version 2>/dev/null)" = "cargo-leptos $CARGO_LEPTOS_VERSION" ] \
  || { say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 13 minutes the first time)";
       cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked; }

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock.
WBG=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
[ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $WBG" ] \
  || { say "installing wasm-bindgen-cli $WBG"; cargo install wasm-bindgen-cli --version "$WBG" --force; }  # no --locked: its lockfile pins a crate the registry lacks

case "$(wasm-opt --version 2>/dev/null)" in
  *"version 116"*) ;;
  *) say "installing wasm-opt $WASM_OPT_CRATE_VERSION (about 7 minutes the first time)";
     cargo install wasm-opt --version "$WASM_OPT_CRATE_VERSION" --locked ;;
esac

if [ "${1:-}" = "--test" ]; then
  if ! command -v chromium >/dev/null; then
    say "installing Chromium"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  # A real reverse proxy for the proxy tests (tests/api/auth.rs), and openssl for its certificate.
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    say "installing nginx"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light openssl >/dev/null
  fi
  # A throwaway Postgres cluster for the Postgres run of the tests (scripts/pg-throwaway.sh).
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    say "installing Postgres"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
  # gdb: the load bench's watchdog prints every thread's stack when a request hangs.
  if ! command -v gdb >/dev/null; then
    say "installing gdb"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gdb >/dev/null
  fi
  # wrk: a light C load generator for the bench's 1-runtime vs 2-runtime comparison
  # (scripts/wrk-bench.sh), so the client takes little of the two cores it shares.
  if ! command -v wrk >/dev/null; then
    say "installing wrk"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "installing the Playwright packages"
    (cd end2end && npm ci --no-audit --no-fund --silent)
  fi
fi
say "tools ready"
