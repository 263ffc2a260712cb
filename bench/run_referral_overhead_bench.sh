#!/usr/bin/env bash
# The overhead of referral checks for docs/performance.md ("Referral overhead
# on enrollment and first orders"): requests/s with referrals / without, in
# one run.
#
#   bench/run_referral_overhead_bench.sh [ROUNDS]   (default 5)
#
# Four servers run side by side on fresh SQLite files: "off" has the order
# bench's earn rules (bench/order_bench_program.yaml), "on" the same plus a
# referral policy with every fraud control on (bench/referral_bench_policy.yaml),
# "plain" the same policy with every fraud control off
# (bench/referral_bench_plain_policy.yaml), "idle" the policy of "on" but its
# members join without a code (the checks every unreferred enrollment and first
# order pays in a program with referrals); "on" and "plain" have REFERRERS
# members whose codes the referees use. Each round, on every side (the order
# rotating):
#   - enrollments: MEMBERS new members over HTTP; on "on" each joins with a
#     referrer's code and three hashes (code look-up, referee checks, screening
#     with signals and velocity count, the referral and its outbox event; the
#     referee's own code is drawn later, on request, and the rewards are paid
#     on completion);
#   - first orders: one paid order for each member just enrolled (on "on":
#     the referral's qualifying order found and recorded).
# Figures per round: enroll_per_s_{off,plain,on}, first_orders_per_s_{...},
# the ratios on/off (the whole referral feature on referred traffic), on/plain
# (the fraud screening alone) and idle/off (the checks on unreferred traffic);
# the summary gives the medians. Every store is verified.
#
# Environment: BUILD_DIR (default build-sys), MEMBERS (5000), REFERRERS (1000),
# SKIP_BUILD=1, BENCH_TMPDIR (/tmp).
set -euo pipefail

ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
MEMBERS=${MEMBERS:-5000}
REFERRERS=${REFERRERS:-1000}
CONNECTIONS=64

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init referral-overhead loyaltyd load
echo "# rounds=$ROUNDS members=$MEMBERS referrers=$REFERRERS connections=$CONNECTIONS"

cat "$ROOT/bench/order_bench_program.yaml" >"$WORK/off.yaml"
cat "$ROOT/bench/order_bench_program.yaml" "$ROOT/bench/referral_bench_policy.yaml" >"$WORK/on.yaml"
cat "$ROOT/bench/order_bench_program.yaml" "$ROOT/bench/referral_bench_plain_policy.yaml" \
  >"$WORK/plain.yaml"
cp "$WORK/on.yaml" "$WORK/idle.yaml"
SIDES="off plain on idle"

declare -A PID URLS KEYS
cleanup_both() {
  for side in $SIDES; do
    if [ -n "${PID[$side]:-}" ]; then kill -KILL "${PID[$side]}" 2>/dev/null || true; fi
  done
  cleanup
}
trap cleanup_both EXIT

for side in $SIDES; do
  new_program "$WORK/$side.db"
  start_server "$WORK/$side.db"
  PID[$side]=$SERVER_PID
  mv "$WORK/serve.out" "$WORK/$side-serve.out"
  URLS[$side]=$URL
  KEYS[$side]=$KEY
  SERVER_PID=""
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$WORK/$side.yaml" "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$REFERRERS" --prefix "$side-referrer-" \
    --members-file "$WORK/$side-referrers.txt" --connections $CONNECTIONS >"$WORK/enroll.txt"
done
# The referrers' codes, drawn on request as the member widget would.
for side in plain on; do
  xargs -P 4 -I{} curl -sf -X POST -H "Authorization: Bearer ${KEYS[$side]}" \
    "${URLS[$side]}/v1/members/{}/referral-code" <"$WORK/$side-referrers.txt" |
    grep -o '"code":"[^"]*"' | cut -d'"' -f4 >"$WORK/$side-codes.txt"
  echo "# $side referrer codes: $(wc -l <"$WORK/$side-codes.txt")"
done

check() {  # check FILE SIDE
  if [ "$(result "$1" non2xx)" != 0 ]; then
    echo "non-2xx responses on $2:" >&2
    cat "$1" >&2
    exit 1
  fi
}
enroll_round() {  # enroll_round SIDE ROUND -> prints enrollments/s
  local codes=()
  if [ "$1" = on ] || [ "$1" = plain ]; then codes=(--referral-codes-file "$WORK/$1-codes.txt"); fi
  "$LOAD" --mode enroll --url "${URLS[$1]}" --key "${KEYS[$1]}" --count "$MEMBERS" \
    --prefix "$1-r$2-" --members-file "$WORK/$1-r$2.txt" --connections $CONNECTIONS \
    "${codes[@]}" >"$WORK/$1-enroll.txt"
  check "$WORK/$1-enroll.txt" "$1"
  result "$WORK/$1-enroll.txt" rps
}
orders_round() {  # orders_round SIDE ROUND -> prints first orders/s
  "$LOAD" --mode orders --first-orders --url "${URLS[$1]}" --key "${KEYS[$1]}" \
    --members-file "$WORK/$1-r$2.txt" --connections $CONNECTIONS >"$WORK/$1-orders.txt"
  check "$WORK/$1-orders.txt" "$1"
  result "$WORK/$1-orders.txt" rps
}

declare -A ENROLL ORDERS
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
for round in $(seq "$ROUNDS"); do
  case $((round % 3)) in
    1) order="off plain on idle" ;;
    2) order="on idle off plain" ;;
    *) order="idle plain off on" ;;
  esac
  for side in $order; do ENROLL[$side]=$(enroll_round "$side" "$round"); done
  for side in $order; do ORDERS[$side]=$(orders_round "$side" "$round"); done
  for side in $SIDES; do
    figure "$round" "enroll_per_s_$side" "${ENROLL[$side]}"
    figure "$round" "first_orders_per_s_$side" "${ORDERS[$side]}"
  done
  figure "$round" enroll_on_off_ratio "$(ratio "${ENROLL[on]}" "${ENROLL[off]}")"
  figure "$round" enroll_on_plain_ratio "$(ratio "${ENROLL[on]}" "${ENROLL[plain]}")"
  figure "$round" first_orders_on_off_ratio "$(ratio "${ORDERS[on]}" "${ORDERS[off]}")"
  figure "$round" first_orders_on_plain_ratio "$(ratio "${ORDERS[on]}" "${ORDERS[plain]}")"
  figure "$round" enroll_idle_off_ratio "$(ratio "${ENROLL[idle]}" "${ENROLL[off]}")"
  figure "$round" first_orders_idle_off_ratio "$(ratio "${ORDERS[idle]}" "${ORDERS[off]}")"
  echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done

echo "# on: $(sqlite3 "$WORK/on.db" "SELECT status || '=' || count(*) FROM referrals GROUP BY status" | tr '\n' ' ')"
echo "# on: $(sqlite3 "$WORK/on.db" "SELECT count(*) FROM referrals WHERE order_external_id IS NOT NULL") referrals with a qualifying order"
for side in $SIDES; do
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
