#!/usr/bin/env bash
# The integration-test modules (of the one binary tests/api) that run a second time on Postgres
# (scripts/test.sh), and a way to run just those by hand:
#   scripts/pg-tests.sh --cargo-args     prints "--test api -- access:: agents:: …"
#       (libtest filters: a test runs if its path `module::name` contains one of them; as
#       `chat::` is not a substring of `chat_contract::…`, each names exactly its module)
#   scripts/pg-tests.sh [cargo test args, e.g. -- --nocapture]
#       starts a throwaway cluster (unless TEST_POSTGRES_URL is set), runs them, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Those whose behaviour depends on the database: accounts, sessions and the sign-in throttle,
# users and the audit log, settings and the stored password, persons with their history and
# generation, the persona editor, the chat journal, tickets and instances (in-process and as
# real processes), and the pages built from them.
MODULES=(access agents auth chat chat_crash csrf identities overview page_cache persona persons scenarios secrets settings users)
filters=()
for m in "${MODULES[@]}"; do filters+=("$m::"); done
if [ "${1:-}" = "--cargo-args" ]; then echo "--test api -- ${filters[*]}"; exit 0; fi

export PATH="$HOME/.cargo/bin:$PATH"
export LEPTOS_OUTPUT_NAME=letta_admin RUSTFLAGS="--cfg erase_components"
pg_dir=""
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  out=$(scripts/pg-throwaway.sh start)
  pg_dir=$(echo "$out" | sed -n 's/^PG_THROWAWAY_DIR=//p')
  TEST_POSTGRES_URL=$(echo "$out" | sed -n 's/^TEST_POSTGRES_URL=//p')
  trap 'scripts/pg-throwaway.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
fi
# The caller's arguments are cargo's (libtest options after a `--` of their own); the module
# filters follow the last `--`.
TEST_DATABASE=postgres TEST_POSTGRES_URL=$TEST_POSTGRES_URL cargo test --features ssr --test api "$@" -- "${filters[@]}"
