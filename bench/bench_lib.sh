# Helpers shared by bench/run_core_bench.sh, run_order_bench.sh and
# run_import_bench.sh (sourced). The sourcing script sets ROOT and BUILD_DIR,
# then calls bench_init.

# bench_init NAME TARGET...: builds the targets (unless SKIP_BUILD=1), sets
# LOYALTYD and LOAD, makes the scratch folder WORK (removed on exit) with its
# FIGURES file, and prints the header line "# loyaltyd NAME bench DATE".
bench_init() {
  local name=$1
  shift
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target "$@" >/dev/null
  fi
  LOYALTYD=$BUILD_DIR/loyaltyd
  LOAD=$BUILD_DIR/bench/load
  WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/loyaltyd-$name-bench.XXXXXX")
  FIGURES=$WORK/figures.txt
  SERVER_PID=""
  trap cleanup EXIT
  echo "# loyaltyd $name bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  machine_header
}

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# The machine, its load and the build, for the record.
machine_header() {
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
    "$(uname -r), disk of $WORK: $(df -h "$WORK" | awk 'NR==2 {print $1}')"
  echo "# build: $BUILD_DIR ($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD_DIR/CMakeCache.txt" | cut -d= -f2))"
  echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

figure() {  # figure RUN NAME VALUE
  echo "FIGURE run=$1 $2 $3" | tee -a "$FIGURES"
}
# The value of a key in the last RESULT line of a file.
result() {  # result FILE KEY
  grep '^RESULT ' "$1" | tail -n1 | sed -E "s/.*\"$2\":\"?([^,\"}]*).*/\1/"
}

# start_server DBFILE: starts serve, sets SERVER_PID, URL, STARTUP_MS.
start_server() {
  local out=$WORK/serve.out
  local t0
  t0=$(date +%s%N)
  "$LOYALTYD" serve --db "sqlite:$1" --listen 127.0.0.1:0 >"$out" 2>"$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 3000); do
    if grep -q "loyaltyd is serving on" "$out"; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "serve exited:" >&2
      cat "$WORK/serve.err" >&2
      exit 1
    fi
    sleep 0.01
  done
  STARTUP_MS=$((($(date +%s%N) - t0) / 1000000))
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -n1)
}
stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || { echo "serve exited non-zero" >&2; exit 1; }
  SERVER_PID=""
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# "sum count" of the engine's batch-size histogram.
batch_sum_count() {
  curl -s "$URL/metrics" | awk '/^loyaltyd_engine_batch_commands_sum/ {s=$2}
    /^loyaltyd_engine_batch_commands_count/ {c=$2} END {print s+0, c+0}'
}
new_program() {  # new_program DBFILE -> sets KEY and PROGRAM_ID
  local created
  created=$("$LOYALTYD" program create --db "sqlite:$1" --name Bench --currency USD \
    --timezone Europe/Berlin)
  KEY=$(sed -E 's/.*"api_key":"([^"]*)".*/\1/' <<<"$created")
  PROGRAM_ID=$(sed -E 's/.*"program_id":"([^"]*)".*/\1/' <<<"$created")
}

# The median over runs of every figure.
print_summary() {
  echo "## summary (median over runs)"
  awk '{split($2, r, "="); name=$3; v[name]=v[name] " " $4; n[name]++}
    END {for (k in v) {m=split(substr(v[k], 2), a, " ");
      for (i=1;i<=m;i++) for (j=i+1;j<=m;j++) if (a[j]+0 < a[i]+0) {t=a[i]; a[i]=a[j]; a[j]=t}
      med = (m % 2) ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2;
      printf "%-36s median %-12s runs:%s\n", k, med, v[k]}}' "$FIGURES" | sort
}
