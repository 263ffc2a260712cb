#!/usr/bin/env bash
# Load-independent companion of bench/run_tier_overhead_bench.sh: instructions
# the server executes per order with tiers off and on (callgrind), for
# docs/performance.md ("Tier overhead on order ingestion").
#
#   bench/run_tier_overhead_callgrind.sh
#
# Per side, `loyaltyd serve` runs under callgrind with collection off; MEMBERS
# members are enrolled, then collection is switched on (callgrind_control -i)
# for DURATION_S of bench/load --mode orders (4 connections), and off again.
# Instructions per order = collected Ir / orders created meanwhile (counted in
# the store). The side with tiers uses bench/order_bench_tiers.yaml on top of
# bench/order_bench_program.yaml, as the wall-clock script does. Prints
# FIGURE lines and, per side, the top inclusive functions.
#
# WARMUP_S > 0 first runs the same load that long with collection off, so the
# members already hold the tiers their orders give and the figure is the
# steady state (few upgrades) instead of first orders (an upgrade on most).
#
# Environment: BUILD_DIR (default build-sys), DURATION_S (20), MEMBERS (2000),
# WARMUP_S (0), SKIP_BUILD=1, BENCH_TMPDIR (/tmp), CG_KEEP=DIR (copies the
# callgrind files there, for callgrind_annotate).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
DURATION_S=${DURATION_S:-20}
MEMBERS=${MEMBERS:-2000}
WARMUP_S=${WARMUP_S:-0}

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init tier-callgrind loyaltyd load
echo "# duration=${DURATION_S}s warmup=${WARMUP_S}s members=$MEMBERS (under callgrind)"

cat "$ROOT/bench/order_bench_program.yaml" >"$WORK/off.yaml"
cat "$ROOT/bench/order_bench_program.yaml" "$ROOT/bench/order_bench_tiers.yaml" >"$WORK/on.yaml"

for side in off on; do
  DB=$WORK/$side.db
  new_program "$DB"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/$side.cg" \
    "$LOYALTYD" serve --db "sqlite:$DB" --listen 127.0.0.1:0 >"$WORK/serve.out" \
    2>"$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 6000); do
    if grep -q "loyaltyd is serving on" "$WORK/serve.out"; then break; fi
    sleep 0.05
  done
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.out" | head -n1)
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$WORK/$side.yaml" "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  "$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix "$side-" \
    --members-file "$WORK/$side-members.txt" --connections 4 >/dev/null
  if [ "$WARMUP_S" -gt 0 ]; then
    "$LOAD" --mode orders --url "$URL" --key "$KEY" --members-file "$WORK/$side-members.txt" \
      --connections 4 --duration-s "$WARMUP_S" >/dev/null
  fi
  before=$(sqlite3 "$DB" "SELECT count(*) FROM orders")
  callgrind_control -i on "$SERVER_PID" >/dev/null
  "$LOAD" --mode orders --url "$URL" --key "$KEY" --members-file "$WORK/$side-members.txt" \
    --connections 4 --duration-s "$DURATION_S" >"$WORK/$side-orders.txt"
  callgrind_control -i off "$SERVER_PID" >/dev/null
  after=$(sqlite3 "$DB" "SELECT count(*) FROM orders")
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
  ir=$(callgrind_annotate "$WORK/$side.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  if [ -n "${CG_KEEP:-}" ]; then mkdir -p "$CG_KEEP" && cp "$WORK/$side.cg" "$CG_KEEP/"; fi
  orders=$((after - before))
  figure 0 "orders_$side" "$orders"
  figure 0 "instructions_per_order_$side" "$((ir / orders))"
  echo "# top inclusive ($side):"
  # Tier functions only (engine/tier_commands.cpp, domain/tiers.cpp), names cut
  # short; `|| true`: head closing the pipe is not a failure.
  { callgrind_annotate --inclusive=yes "$WORK/$side.cg" 2>/dev/null |
    grep -E 'tier_commands\.cpp:|domain/tiers\.cpp:' | head -12 | cut -c1-160 |
    sed 's/^/#   /'; } || true
done
print_summary
