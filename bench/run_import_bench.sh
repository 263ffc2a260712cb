#!/usr/bin/env bash
# The bulk-import figures for docs/performance.md ("Bulk import"):
#
#   bench/run_import_bench.sh [RUNS]      (default 1; the medians are printed at the end)
#
# Per run, each on a fresh SQLite file with the program configuration
# bench/order_bench_program.yaml installed (PUT /v1/programs/{id}/config):
#   1. the full CDNOW log: `loyaltyd import orders --format cdnow --create-members`
#      (69,659 orders, 23,570 members enrolled on the way)
#   2. ORDERS synthetic NDJSON orders of 3 items over MEMBERS customers
#      (bench/gen_orders.py), with --create-members
#   3. `loyaltyd verify` after each
#
# Environment: BUILD_DIR (default build-sys), ORDERS (10000000), MEMBERS (1000000),
# SKIP_BUILD=1, BENCH_TMPDIR (/tmp; the NDJSON file of 10M orders is ~3.3 GB).
# Every figure is printed as `FIGURE run=N name value`.
set -euo pipefail

RUNS=${1:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
ORDERS=${ORDERS:-10000000}
MEMBERS=${MEMBERS:-1000000}
CDNOW=${CDNOW:-$ROOT/tests/data/cdnow/CDNOW_master.txt}

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init import loyaltyd
echo "# runs=$RUNS orders=$ORDERS members=$MEMBERS"

SYNTHETIC=$WORK/orders.ndjson
t0=$(date +%s%N)
python3 "$ROOT/bench/gen_orders.py" "$ORDERS" "$MEMBERS" >"$SYNTHETIC"
echo "# generated $ORDERS orders in $((($(date +%s%N) - t0) / 1000000)) ms: $(du -h "$SYNTHETIC" | cut -f1)"

# configured_program DBFILE: a program with the bench configuration; sets PROGRAM_ID.
configured_program() {
  new_program "$1"
  start_server "$1"
  curl -sf -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/yaml' \
    --data-binary "@$ROOT/bench/order_bench_program.yaml" \
    "$URL/v1/programs/$PROGRAM_ID/config" >/dev/null
  stop_server
}

# import_figures RUN NAME DB FILE [OPTIONS...]: imports and records seconds and orders/s.
import_figures() {
  local run=$1 name=$2 db=$3 file=$4
  shift 4
  "$LOYALTYD" import orders "$file" --db "sqlite:$db" --program "$PROGRAM_ID" \
    --create-members --quiet "$@" >"$WORK/import.out"
  cat "$WORK/import.out"
  figure "$run" "${name}_seconds" "$(awk '/^seconds:/ {print $2}' "$WORK/import.out")"
  figure "$run" "${name}_orders_per_s" "$(awk '/^orders\/s:/ {print $2}' "$WORK/import.out")"
  "$LOYALTYD" verify --db "sqlite:$db" | tail -n1
}

for run in $(seq "$RUNS"); do
  echo "## run $run"
  DB=$WORK/cdnow$run.db
  configured_program "$DB"
  import_figures "$run" import_cdnow "$DB" "$CDNOW" --format cdnow
  rm -f "$DB"*

  DB=$WORK/synthetic$run.db
  configured_program "$DB"
  import_figures "$run" import_synthetic "$DB" "$SYNTHETIC"
  rm -f "$DB"*
done
print_summary
