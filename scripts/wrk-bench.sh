#!/usr/bin/env bash
# Every core (#22), measured with wrk (a light C client, so the load generator takes little of
# the two cores it shares with the server): the same release binary on the same database with
# LETTA_ADMIN_WORKERS=1 and =2, twice each, interleaved, and for each load the ratio of the
# two in this one run. Loads: the persons page uncached (a query of its own per request misses
# the page cache: every request renders 50 of 100,000 rows), the cached persons page, and a
# static asset; 8 connections. Also the server's CPU by thread, for the uncached load. Figures
# only, never asserted. Needs the release build (scripts/build-release.sh) and wrk.
#   BENCH_SECS   seconds per load (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "[wrk] not installed (scripts/bootstrap.sh --test)"; exit 0; }
secs=${BENCH_SECS:-10}
bin=target/release/letta-admin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LETTA_ADMIN_DATA_DIR=$work LEPTOS_OUTPUT_NAME=letta_admin LEPTOS_SITE_ROOT=target/site RUST_LOG=warn
echo "bench password 1" | $bin create-user bench operator >/dev/null 2>&1
python3 - "$work/letta-admin.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
 INSERT INTO persons (username, display_name, display_key, block_limit, created_at, updated_at)
 SELECT printf('seed%06d', i), printf('Seed Person %06d', i), printf('seed person %06d', i),
        5000, 1700000000000 + i, 1700000000000 + i FROM n""")
c.commit()
PY
cat > "$work/uncached.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/persons?render=" .. n)
end
LUA
# CPU seconds of each thread group of a process over a while: "name=percent-of-a-core ...".
threads_cpu() {
  python3 - "$1" "$2" <<'PY'
import os, sys, time
pid, dt = sys.argv[1], float(sys.argv[2])
def snap():
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
            f = s[s.rindex(")") + 2:].split()
            out[t] = (s[s.index("(") + 1:s.rindex(")")], int(f[11]) + int(f[12]))
        except OSError:
            pass
    return out
a = snap(); time.sleep(dt); b = snap()
hz, agg = os.sysconf("SC_CLK_TCK"), {}
for t, (name, c) in b.items():
    name = "sqlx" if name.startswith("sqlx") else name
    agg[name] = agg.get(name, 0) + 100.0 * (c - a.get(t, (name, 0))[1]) / hz / dt
print(" ".join(f"{k}={v:.0f}%" for k, v in sorted(agg.items(), key=lambda x: -x[1]) if v >= 1))
PY
}
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }
# wrk's p50 in microseconds.
p50() {
  awk '$1 == "50%" { v = $2; u = 1; if (v ~ /us$/) u = 1; else if (v ~ /ms$/) u = 1000; else if (v ~ /s$/) u = 1000000; sub(/[a-z]+$/, "", v); print v * u }' "$1"
}
declare -A sum p50u p50s
for round in 1 2; do
  for w in 1 2; do
    # A port nothing listens on now (a random one collided once in CI).
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    LETTA_ADMIN_WORKERS=$w LEPTOS_SITE_ADDR=127.0.0.1:$port $bin > "$work/server-$w.log" 2>&1 &
    pid=$!
    up=
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && { up=1; break; }; sleep 0.1; done
    [ -n "$up" ] || { echo "[wrk] the server ($w runtimes) did not start:"; tail -20 "$work/server-$w.log"; exit 1; }
    curl -s -c "$work/cj" -o /dev/null -X POST --data 'username=bench&password=bench+password+1' \
      "http://127.0.0.1:$port/api/public/login"
    cookie=$(awk '$6 ~ /session/ {print $6"="$7}' "$work/cj")
    css=$(curl -s -b "$work/cj" "http://127.0.0.1:$port/persons" | grep -o '/pkg/[^"]*\.css' | head -1 || true)
    [ -n "$css" ] && [ -n "$cookie" ] || { echo "[wrk] no session or no stylesheet on /persons ($w runtimes):"; tail -20 "$work/server-$w.log"; exit 1; }
    # Warm-up (SQLite's page cache, the allocator, the connections), not counted.
    wrk -t1 -c8 -d2s -s "$work/uncached.lua" -H "Cookie: $cookie" "http://127.0.0.1:$port" > /dev/null
    wrk -t1 -c8 -d"${secs}s" --latency -s "$work/uncached.lua" -H "Cookie: $cookie" "http://127.0.0.1:$port" > "$work/u.txt" &
    wrk_pid=$!
    sleep 1
    cpu=$(threads_cpu $pid $((secs > 3 ? secs - 2 : 1)))
    wait $wrk_pid
    wrk -t1 -c8 -d"${secs}s" -H "Cookie: $cookie" "http://127.0.0.1:$port/persons" > "$work/c.txt"
    wrk -t1 -c8 -d"${secs}s" --latency "http://127.0.0.1:$port$css" > "$work/s.txt"
    kill $pid; wait $pid 2>/dev/null || true
    printf '[wrk] round %s, %s runtime(s): uncached %8.0f/s  cached %8.0f/s  static %8.0f/s  server CPU (uncached): %s\n' \
      "$round" "$w" "$(rps "$work/u.txt")" "$(rps "$work/c.txt")" "$(rps "$work/s.txt")" "$cpu"
    for k in u c s; do sum[$k$w]=$(python3 -c "print(${sum[$k$w]:-0} + $(rps "$work/$k.txt"))"); done
    p50u[$w]="${p50u[$w]:-} $(p50 "$work/u.txt")"; p50s[$w]="${p50s[$w]:-} $(p50 "$work/s.txt")"
  done
done
for k in u:uncached c:cached s:static; do
  printf '[wrk] %-8s 2 runtimes / 1 runtime: %s\n' "${k#*:}" \
    "$(python3 -c "print(round(${sum[${k%%:*}2]} / ${sum[${k%%:*}1]}, 2))")"
done
for w in 1 2; do
  printf '[wrk] uncached p50 / static p50, %s runtime(s): %s\n' "$w" \
    "$(python3 -c "u = sorted(map(float, '${p50u[$w]}'.split())); s = sorted(map(float, '${p50s[$w]}'.split())); print(round(sum(u) / sum(s), 1))")"
done
