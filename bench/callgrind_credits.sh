#!/usr/bin/env bash
# Instructions per credit over HTTP, per thread of `loyaltyd serve`, counted by
# callgrind: load-independent, so before/after comparisons hold on a busy
# machine (docs/performance.md, "Writer-side member cache").
#
#   bench/callgrind_credits.sh            (BUILD_DIR default build-sys; SKIP_BUILD=1)
#
# On a fresh SQLite file: enroll MEMBERS members, credit every one of them a
# few times (warm-up, not counted: every member then has a balance row, as in
# steady state), then count instructions during a closed-loop credit load of
# DURATION_S seconds with CONNECTIONS connections. Prints per thread kind
# (writer = the engine's thread, http = Beast's, checkpointer, other) the
# instructions per credit, and RESULT {"writer_ir_per_credit":..,
# "http_ir_per_request":..,"credits":..} (a request is one credit; both are
# divided by the credits the engine counted in /metrics). Environment: MEMBERS (1000),
# WARM_S (20), DURATION_S (20), CONNECTIONS (16), BENCH_TMPDIR (/tmp),
# CG_KEEP=DIR (copies the per-thread callgrind files there, for
# callgrind_annotate).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-sys}
MEMBERS=${MEMBERS:-1000}
WARM_S=${WARM_S:-20}
DURATION_S=${DURATION_S:-20}
CONNECTIONS=${CONNECTIONS:-16}

# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"
bench_init callgrind loyaltyd load

DB=$WORK/cg.db
new_program "$DB"
valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no \
  --callgrind-out-file="$WORK/cg.out" "$LOYALTYD" serve --db "sqlite:$DB" \
  --listen 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 12000); do
  if grep -q "loyaltyd is serving on" "$WORK/serve.out"; then break; fi
  sleep 0.01
done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/serve.out" | head -n1)
[ -n "$URL" ] || { cat "$WORK/serve.err" >&2; exit 1; }

"$LOAD" --mode enroll --url "$URL" --key "$KEY" --count "$MEMBERS" --prefix cg- \
  --members-file "$WORK/members.txt" --connections "$CONNECTIONS" >/dev/null
"$LOAD" --mode credits --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
  --connections "$CONNECTIONS" --duration-s "$WARM_S" >/dev/null
read -r s0 _ <<<"$(batch_sum_count)"
callgrind_control -i on "$SERVER_PID" >/dev/null
"$LOAD" --mode credits --url "$URL" --key "$KEY" --members-file "$WORK/members.txt" \
  --connections "$CONNECTIONS" --duration-s "$DURATION_S" >"$WORK/credits.txt"
callgrind_control -i off "$SERVER_PID" >/dev/null
read -r s1 _ <<<"$(batch_sum_count)"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""

credits=$((${s1%.*} - ${s0%.*}))
requests=$(result "$WORK/credits.txt" requests)
echo "# members=$MEMBERS connections=$CONNECTIONS counted: $credits credits (engine)," \
  "$requests requests completed by the load generator"
if [ -n "${CG_KEEP:-}" ]; then mkdir -p "$CG_KEEP" && cp "$WORK"/cg.out-* "$CG_KEEP"/; fi
# Each thread's file: its kind from the functions it ran, its total Ir.
for f in "$WORK"/cg.out-*; do
  ir=$(awk '/^totals:/ {print $2}' "$f")
  kind=other
  if grep -q 'Engine::run()' "$f"; then
    kind=writer
  elif grep -q 'WalCheckpointer' "$f"; then
    kind=checkpointer
  elif grep -q 'beast' "$f"; then
    kind=http
  fi
  echo "$kind ${ir:-0}"
done | awk -v c="$credits" '
  { sum[$1] += $2 }
  END {
    for (k in sum) printf "  %-12s %12.0f instructions per credit\n", k, sum[k] / c
    printf "RESULT {\"writer_ir_per_credit\":%.0f,\"http_ir_per_request\":%.0f,\"credits\":%d}\n",
      sum["writer"] / c, sum["http"] / c, c
  }'
