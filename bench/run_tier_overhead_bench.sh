#!/usr/bin/env bash
# The overhead of tiers on order ingestion for docs/performance.md ("Tier
# overhead on order ingestion"): orders/s with tiers on / orders/s with tiers
# off, measured in one run.
#
#   bench/run_tier_overhead_bench.sh [ROUNDS]   (default 5)
#
# Two servers run side by side on two fresh SQLite files, each with one
# program and MEMBERS members enrolled over HTTP: "off" has the order bench's
# earn rules (bench/order_bench_program.yaml), "on" the same plus three spend
# tiers (bench/order_bench_tiers.yaml). Each round measures durable orders/s
# over HTTP on both (bench/load --mode orders: paid orders of 3 line items for
# random members, 64 keep-alive connections, closed loop), alternating which
# goes first, so a change in the machine's load hits both alike. Figures per
# round: orders_per_s_off, orders_per_s_on and their ratio; the summary gives
# the medians. Both stores are verified (`loyaltyd verify`) at the end.
#
# WARMUP_ROUNDS (0) untimed rounds first: members then already hold the tiers
# their orders give, so the timed rounds measure the steady state (an upgrade
# on few orders) instead of first orders (an upgrade on most).
#
# Environment: BUILD_DIR (default build-sys), DURATION_S (10), MEMBERS (10000),
# WARMUP_ROUNDS (0), SKIP_BUILD=1, BENCH_TMPDIR (/tmp).
set -euo pipefail

ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
DURATION_S=${DURATION_S:-10}
MEMBERS=${MEMBERS:-10000}
WARMUP_ROUNDS=${WARMUP_ROUNDS:-0}
CONNECTIONS=64

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init tier-overhead loyaltyd load
echo "# rounds=$ROUNDS warmup_rounds=$WARMUP_ROUNDS duration=${DURATION_S}s members=$MEMBERS connections=$CONNECTIONS"

cat "$ROOT/bench/order_bench_program.yaml" >"$WORK/off.yaml"
cat "$ROOT/bench/order_bench_program.yaml" "$ROOT/bench/order_bench_tiers.yaml" >"$WORK/on.yaml"

# bench_lib.sh keeps one server (SERVER_PID, URL, KEY): remember each side's.
declare -A PID URLS KEYS
cleanup_both() {
  for side in off on; do
    if [ -n "${PID[$side]:-}" ]; then kill -KILL "${PID[$side]}" 2>/dev/null || true; fi
  done
  cleanup
}
trap cleanup_both EXIT

for side in off on; do
  new_program "$WORK/$side.db"
  start_server "$WORK/$side.db"
  PID[$side]=$SERVER_PID
  # start_server reads serve.out: the next server must find its own there.
  mv "$WORK/serve.out" "$WORK/$side-serve.out"
  URLS[$side]=$URL
  KEYS[$side]=$KEY
  SERVER_PID=""
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$WORK/$side.yaml" "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix "$side-" \
    --members-file "$WORK/$side-members.txt" --connections $CONNECTIONS >"$WORK/enroll.txt"
done

measure() {  # measure SIDE -> prints orders/s
  "$LOAD" --mode orders --url "${URLS[$1]}" --key "${KEYS[$1]}" \
    --members-file "$WORK/$1-members.txt" --connections $CONNECTIONS \
    --duration-s "$DURATION_S" >"$WORK/$1-orders.txt"
  if [ "$(result "$WORK/$1-orders.txt" non2xx)" != 0 ]; then
    echo "non-2xx responses on $1:" >&2
    cat "$WORK/$1-orders.txt" >&2
    exit 1
  fi
  result "$WORK/$1-orders.txt" rps
}

for _ in $(seq "$WARMUP_ROUNDS"); do
  for side in off on; do measure "$side" >/dev/null; done
done
if [ "$WARMUP_ROUNDS" -gt 0 ]; then
  echo "# after warm-up: $(sqlite3 "$WORK/on.db" "SELECT count(*) FROM orders") orders on the tiers side"
fi

declare -A RPS
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for side in $order; do RPS[$side]=$(measure "$side"); done
  figure "$round" orders_per_s_off "${RPS[off]}"
  figure "$round" orders_per_s_on "${RPS[on]}"
  figure "$round" tiers_on_off_ratio \
    "$(awk -v a="${RPS[on]}" -v b="${RPS[off]}" 'BEGIN {printf "%.3f", a/b}')"
  echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done

TIER_ROWS=$(sqlite3 "$WORK/on.db" "SELECT count(*) FROM member_tiers" 2>/dev/null || echo "?")
echo "# tiers on: $TIER_ROWS members hold a tier after the run"
for side in off on; do
  kill -TERM "${PID[$side]}"
  wait "${PID[$side]}" || { echo "serve ($side) exited non-zero" >&2; exit 1; }
  PID[$side]=""
  if "$LOYALTYD" verify --db "sqlite:$WORK/$side.db" >"$WORK/verify.txt"; then
    figure 0 "verify_exit_$side" 0
  else
    figure 0 "verify_exit_$side" 1
    cat "$WORK/verify.txt"
  fi
done

print_summary
