#!/usr/bin/env bash
# Redemptions and coupon validation over HTTP on SQLite, for docs/performance.md
# ("Redemptions and coupon validation"; issue 5's figures).
#
#   bench/run_rewards_bench.sh [RUNS]   (default 3)
#
# Per run: a fresh SQLite store with one program (bench/rewards_bench_program.yaml:
# a $1-off coupon for 100 points), MEMBERS members enrolled and funded with
# 1,000,000 points each over HTTP. Then, with bench/load:
#  1. redemptions, closed loop, 64 connections, DURATION_S: durable
#     redemptions/s (each a ledger debit, a stock check, a coupon with its hash,
#     an outbox event) and p99; the coupon codes are kept;
#  2. redemptions at half that rate (open loop): p50 / p99;
#  3. coupon validation (POST /v1/coupons/{code}:validate with a cart), closed
#     loop: validations/s and p99;
#  4. coupon validation at VALIDATE_RATE requests/s (open loop, default 5,000):
#     p50 / p99 — the issue's target is p99 < 2 ms at 5,000/s.
# Then `loyaltyd verify` on the store.
#
# Environment: BUILD_DIR (default build-sys), DURATION_S (10), MEMBERS (2000),
# VALIDATE_RATE (5000), SKIP_BUILD=1, BENCH_TMPDIR (/tmp).
set -euo pipefail

RUNS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
DURATION_S=${DURATION_S:-10}
MEMBERS=${MEMBERS:-2000}
VALIDATE_RATE=${VALIDATE_RATE:-5000}
CONNECTIONS=64

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init rewards loyaltyd load
echo "# runs=$RUNS duration=${DURATION_S}s members=$MEMBERS connections=$CONNECTIONS validate_rate=$VALIDATE_RATE"

check_2xx() {  # check_2xx FILE WHAT: every response 2xx, else show it and fail
  if [ "$(result "$1" non2xx)" != 0 ] || [ "$(result "$1" errors)" != 0 ]; then
    echo "non-2xx responses or errors in $2:" >&2
    cat "$1" >&2
    exit 1
  fi
}

for run in $(seq "$RUNS"); do
  echo "## run $run"
  DB=$WORK/run$run.db
  new_program "$DB"
  start_server "$DB"
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$ROOT/bench/rewards_bench_program.yaml" \
    "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix "r$run-" \
    --members-file "$WORK/members.txt" --connections $CONNECTIONS >"$WORK/enroll.txt"
  "$LOAD" --mode fund --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --points 1000000 --connections $CONNECTIONS >"$WORK/fund.txt"
  check_2xx "$WORK/fund.txt" funding

  "$LOAD" --mode redeem --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --reward one-off --codes-file "$WORK/codes.txt" --connections $CONNECTIONS \
    --duration-s "$DURATION_S" >"$WORK/redeem.txt"
  check_2xx "$WORK/redeem.txt" redemptions
  grep -v '^RESULT' "$WORK/redeem.txt" | sed 's/^/    /'
  rps=$(result "$WORK/redeem.txt" rps)
  figure "$run" redemptions_http_per_s "$rps"
  figure "$run" redemptions_p99_ms_at_max "$(result "$WORK/redeem.txt" p99_ms)"

  half=$(awk -v a="$rps" 'BEGIN {printf "%d", a/2}')
  "$LOAD" --mode redeem --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
    --reward one-off --connections $CONNECTIONS --duration-s "$DURATION_S" --rate "$half" \
    >"$WORK/redeem-half.txt"
  check_2xx "$WORK/redeem-half.txt" "redemptions at half rate"
  figure "$run" redemptions_p50_ms_at_half "$(result "$WORK/redeem-half.txt" p50_ms)"
  figure "$run" redemptions_p99_ms_at_half "$(result "$WORK/redeem-half.txt" p99_ms)"
  figure "$run" coupons_issued "$(wc -l <"$WORK/codes.txt")"

  "$LOAD" --mode validate --url "$URL" --key "$KEY" --codes-file "$WORK/codes.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" >"$WORK/validate.txt"
  check_2xx "$WORK/validate.txt" validation
  grep -v '^RESULT' "$WORK/validate.txt" | sed 's/^/    /'
  figure "$run" validations_http_per_s "$(result "$WORK/validate.txt" rps)"
  figure "$run" validations_p99_ms_at_max "$(result "$WORK/validate.txt" p99_ms)"

  "$LOAD" --mode validate --url "$URL" --key "$KEY" --codes-file "$WORK/codes.txt" \
    --connections $CONNECTIONS --duration-s "$DURATION_S" --rate "$VALIDATE_RATE" \
    >"$WORK/validate-rate.txt"
  check_2xx "$WORK/validate-rate.txt" "validation at $VALIDATE_RATE/s"
  grep -v '^RESULT' "$WORK/validate-rate.txt" | sed 's/^/    /'
  figure "$run" validations_per_s_at_rate "$(result "$WORK/validate-rate.txt" rps)"
  figure "$run" validations_p50_ms_at_rate "$(result "$WORK/validate-rate.txt" p50_ms)"
  figure "$run" validations_p99_ms_at_rate "$(result "$WORK/validate-rate.txt" p99_ms)"
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
