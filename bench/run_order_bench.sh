#!/usr/bin/env bash
# The order-ingestion figure for docs/performance.md ("Order ingestion"):
#
#   bench/run_order_bench.sh [RUNS]       (default 3; the medians are printed at the end)
#
# Per run, on a fresh SQLite file served by `loyaltyd serve`:
#   1. the program configuration bench/order_bench_program.yaml (spend rule,
#      category multiplier, first-order bonus, a capped big-basket bonus) is
#      installed with PUT /v1/programs/{id}/config
#   2. enroll MEMBERS members over HTTP (bench/load --mode enroll)
#   3. durable orders/s over HTTP: POST /v1/orders, each a paid order of 3 line
#      items for a random member, 64 keep-alive connections, closed loop (the
#      maximum); the engine's mean batch size during that load, from /metrics
#   4. p50/p99 at half the maximum rate (open loop)
#   5. `loyaltyd verify` on the store afterwards
#
# Environment: BUILD_DIR (default build-sys), DURATION_S (10), MEMBERS (10000),
# SKIP_BUILD=1, BENCH_TMPDIR (/tmp). Every figure is printed as
# `FIGURE run=N name value`; the summary gives the median over runs of each.
set -euo pipefail

RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
DURATION_S=${DURATION_S:-10}
MEMBERS=${MEMBERS:-10000}
CONNECTIONS=64

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init order loyaltyd load
echo "# runs=$RUNS duration=${DURATION_S}s members=$MEMBERS connections=$CONNECTIONS"

for run in $(seq "$RUNS"); do
  echo "## run $run"
  DB=$WORK/run$run.db
  new_program "$DB"
  start_server "$DB"
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$ROOT/bench/order_bench_program.yaml" \
    "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix "r$run-" \
    --members-file "$WORK/members.txt" --connections $CONNECTIONS >"$WORK/enroll.txt"

  read -r s0 c0 <<<"$(batch_sum_count)"
  "$LOAD" --mode orders --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" >"$WORK/orders.txt"
  read -r s1 c1 <<<"$(batch_sum_count)"
  grep -v '^RESULT' "$WORK/orders.txt" | sed 's/^/    /'
  rps=$(result "$WORK/orders.txt" rps)
  figure "$run" orders_http_per_s "$rps"
  figure "$run" orders_http_p99_ms_at_max "$(result "$WORK/orders.txt" p99_ms)"
  figure "$run" orders_non2xx "$(result "$WORK/orders.txt" non2xx)"
  figure "$run" orders_batch_mean \
    "$(awk -v a="$s0" -v b="$s1" -v c="$c0" -v d="$c1" 'BEGIN {printf "%.2f", (b-a)/(d-c)}')"

  half=$(awk -v a="$rps" 'BEGIN {printf "%d", a/2}')
  "$LOAD" --mode orders --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" --rate "$half" >"$WORK/half.txt"
  grep -v '^RESULT' "$WORK/half.txt" | sed 's/^/    /'
  figure "$run" orders_half_rate_per_s "$(result "$WORK/half.txt" rps)"
  figure "$run" orders_p50_ms_at_half "$(result "$WORK/half.txt" p50_ms)"
  figure "$run" orders_p99_ms_at_half "$(result "$WORK/half.txt" p99_ms)"
  figure "$run" server_rss_kib_after_run "$(rss_kib)"
  stop_server
  if "$LOYALTYD" verify --db "sqlite:$DB" >"$WORK/verify.txt"; then
    figure "$run" verify_exit 0
  else
    figure "$run" verify_exit 1
    cat "$WORK/verify.txt"
  fi
  rm -f "$DB" "$DB-wal" "$DB-shm"
done

print_summary
