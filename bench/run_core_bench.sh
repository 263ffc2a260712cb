#!/usr/bin/env bash
# The core engine's figures for docs/performance.md, measured in one run:
#
#   bench/run_core_bench.sh [RUNS]        (default 3; the medians are printed at the end)
#
# Per run, on a fresh SQLite file served by `loyaltyd serve`:
#   1. enroll MEMBERS members over HTTP (bench/load --mode enroll)
#   2. durable credits/s over HTTP, 64 keep-alive connections, closed loop (the maximum);
#      the engine's mean batch size during that load, from /metrics
#   3. the storage limit with that mean batch size (bench/storage_limit), and the ratio
#   4. p50/p99 of credits at half the maximum rate (open loop)
#   5. the same pair (2-4) with a unique Idempotency-Key per credit
#   6. balance reads/s (closed loop) and p50/p99 at half that rate
#   7. GET /healthz/s: the HTTP limit
#   8. the fsync rate of the disk
# Once:
#   9. CDNOW: one member per customer, one credit of floor(dollar_value) per order
#  10. 1M members (bench/enroll_direct: the Engine in-process, one credit each), then
#      serve: start-up time, VmRSS idle, after a balance-read load and after a credit
#      load spread over all 1M members
#
# Environment: BUILD_DIR (default build-sys), DURATION_S (10), MEMBERS (10000),
# BIG_MEMBERS (1000000; 0 skips step 10), SKIP_BUILD=1, BENCH_TMPDIR (/tmp).
# Every figure is printed as `FIGURE run=N name value`; the summary gives the
# median over runs of each.
set -euo pipefail

RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
DURATION_S=${DURATION_S:-10}
MEMBERS=${MEMBERS:-10000}
BIG_MEMBERS=${BIG_MEMBERS:-1000000}
CONNECTIONS=64
CDNOW=${CDNOW:-$ROOT/../shared/data/cdnow/CDNOW_master.txt}
[ -e "$CDNOW" ] || CDNOW=/work/shared/data/cdnow/CDNOW_master.txt

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init core loyaltyd load storage_limit enroll_direct
LIMIT=$BUILD_DIR/bench/storage_limit
ENROLL=$BUILD_DIR/bench/enroll_direct
echo "# runs=$RUNS duration=${DURATION_S}s members=$MEMBERS connections=$CONNECTIONS"

# credits_pair RUN LABEL [--idempotency]: max rate, batch mean, limit, ratio, half-rate latency.
credits_pair() {
  local run=$1 label=$2
  shift 2
  read -r s0 c0 <<<"$(batch_sum_count)"
  "$LOAD" --mode credits --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" "$@" >"$WORK/credits.txt"
  read -r s1 c1 <<<"$(batch_sum_count)"
  cat "$WORK/credits.txt" | grep -v '^RESULT' | sed 's/^/    /'
  local rps batch
  rps=$(result "$WORK/credits.txt" rps)
  batch=$(awk -v a="$s0" -v b="$s1" -v c="$c0" -v d="$c1" 'BEGIN {printf "%.2f", (b-a)/(d-c)}')
  figure "$run" "${label}_http_per_s" "$rps"
  figure "$run" "${label}_http_p99_ms_at_max" "$(result "$WORK/credits.txt" p99_ms)"
  figure "$run" "${label}_batch_mean" "$batch"
  local limit_args=()
  if [ "$label" = credits_idem ]; then limit_args=(--idempotency); fi
  "$LIMIT" --batch "$batch" --members "$MEMBERS" --duration-s "$DURATION_S" \
    "${limit_args[@]}" >"$WORK/limit.txt"
  sed 's/^/    /' "$WORK/limit.txt" | grep -v RESULT
  local limit
  limit=$(result "$WORK/limit.txt" credits_per_s)
  figure "$run" "${label}_storage_limit_per_s" "$limit"
  figure "$run" "${label}_ratio" "$(awk -v a="$rps" -v b="$limit" 'BEGIN {printf "%.3f", a/b}')"
  local half
  half=$(awk -v a="$rps" 'BEGIN {printf "%d", a/2}')
  "$LOAD" --mode credits --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" --rate "$half" "$@" >"$WORK/half.txt"
  grep -v '^RESULT' "$WORK/half.txt" | sed 's/^/    /'
  figure "$run" "${label}_half_rate_per_s" "$(result "$WORK/half.txt" rps)"
  figure "$run" "${label}_p50_ms_at_half" "$(result "$WORK/half.txt" p50_ms)"
  figure "$run" "${label}_p99_ms_at_half" "$(result "$WORK/half.txt" p99_ms)"
}

for run in $(seq "$RUNS"); do
  echo "## run $run"
  DB=$WORK/run$run.db
  new_program "$DB"
  start_server "$DB"
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix "r$run-" \
    --members-file "$WORK/members.txt" --connections $CONNECTIONS >"$WORK/enroll.txt"
  figure "$run" enroll_http_per_s "$(result "$WORK/enroll.txt" rps)"

  credits_pair "$run" credits
  credits_pair "$run" credits_idem --idempotency

  "$LOAD" --mode balance --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --threads 2 --connections $CONNECTIONS --duration-s "$DURATION_S" >"$WORK/balance.txt"
  grep -v '^RESULT' "$WORK/balance.txt" | sed 's/^/    /'
  bal=$(result "$WORK/balance.txt" rps)
  figure "$run" balance_http_per_s "$bal"
  figure "$run" balance_p99_ms_at_max "$(result "$WORK/balance.txt" p99_ms)"
  "$LOAD" --mode balance --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --threads 2 --connections $CONNECTIONS --duration-s "$DURATION_S" \
    --rate "$(awk -v a="$bal" 'BEGIN {printf "%d", a/2}')" >"$WORK/balance_half.txt"
  grep -v '^RESULT' "$WORK/balance_half.txt" | sed 's/^/    /'
  figure "$run" balance_p50_ms_at_half "$(result "$WORK/balance_half.txt" p50_ms)"
  figure "$run" balance_p99_ms_at_half "$(result "$WORK/balance_half.txt" p99_ms)"

  "$LOAD" --mode healthz --url "$URL" --threads 2 --connections $CONNECTIONS --duration-s "$DURATION_S" \
    >"$WORK/healthz.txt"
  grep -v '^RESULT' "$WORK/healthz.txt" | sed 's/^/    /'
  figure "$run" healthz_http_per_s "$(result "$WORK/healthz.txt" rps)"
  figure "$run" server_rss_kib_after_run "$(rss_kib)"
  stop_server
  if "$LOYALTYD" verify --db "sqlite:$DB" >"$WORK/verify.txt"; then
    figure "$run" verify_exit 0
  else
    figure "$run" verify_exit 1
    cat "$WORK/verify.txt"
  fi
  rm -f "$DB" "$DB-wal" "$DB-shm"

  "$LIMIT" --fsync-only --duration-s 4 --dir "$WORK" >"$WORK/fsync.txt"
  figure "$run" fsync_append_per_s "$(result "$WORK/fsync.txt" append_per_s)"
  figure "$run" fsync_overwrite_per_s "$(result "$WORK/fsync.txt" overwrite_per_s)"
done

echo "## CDNOW"
DB=$WORK/cdnow.db
new_program "$DB"
start_server "$DB"
"$LOAD" --mode cdnow --cdnow "$CDNOW" --url "$URL" --key "$KEY" --connections $CONNECTIONS \
  >"$WORK/cdnow.txt" || true
grep -v '^RESULT' "$WORK/cdnow.txt" | sed 's/^/    /'
figure 1 cdnow_enroll_per_s "$(grep '"mode":"enroll"' "$WORK/cdnow.txt" |
  sed -E 's/.*"rps":([^,]*).*/\1/')"
figure 1 cdnow_credits_per_s "$(result "$WORK/cdnow.txt" rps)"
figure 1 cdnow_non2xx "$(result "$WORK/cdnow.txt" non2xx)"
stop_server
"$LOYALTYD" verify --db "sqlite:$DB" | tail -n +1 | sed 's/^/    /'
rm -f "$DB" "$DB-wal" "$DB-shm"

if [ "$BIG_MEMBERS" -gt 0 ]; then
  echo "## $BIG_MEMBERS members"
  DB=$WORK/big.db
  new_program "$DB"
  t0=$(date +%s)
  "$ENROLL" --db "sqlite:$DB" --program "$PROGRAM_ID" --count "$BIG_MEMBERS" --credit-points 100 \
    --members-file "$WORK/big_members.txt" | sed 's/^/    /'
  figure 1 big_enroll_direct_s "$(($(date +%s) - t0))"
  figure 1 big_db_mib "$(du -cm "$DB"* | tail -n1 | cut -f1)"
  start_server "$DB"
  figure 1 big_startup_ms "$STARTUP_MS"
  sleep 1
  figure 1 big_rss_kib_idle "$(rss_kib)"
  "$LOAD" --mode balance --url "$URL" --key "$KEY" --members-file "$WORK/big_members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" >"$WORK/big_balance.txt"
  grep -v '^RESULT' "$WORK/big_balance.txt" | sed 's/^/    /'
  figure 1 big_balance_http_per_s "$(result "$WORK/big_balance.txt" rps)"
  figure 1 big_rss_kib_after_balance "$(rss_kib)"
  "$LOAD" --mode credits --url "$URL" --key "$KEY" --members-file "$WORK/big_members.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" >"$WORK/big_credits.txt"
  grep -v '^RESULT' "$WORK/big_credits.txt" | sed 's/^/    /'
  figure 1 big_credits_http_per_s "$(result "$WORK/big_credits.txt" rps)"
  figure 1 big_rss_kib_after_credits "$(rss_kib)"
  stop_server
fi

print_summary
