#!/usr/bin/env bash
# Builds and runs every test: the release build's full suite on SQLite and on a
# throwaway PostgreSQL 15, the same suite under AddressSanitizer + UBSan, and
# each fuzz target for a short run under libFuzzer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
# Let ccache reuse objects compiled in another checkout of the project (CI
# builds a fresh clone): paths are hashed relative to the checkout.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
start=$(date +%s)
section() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

section "build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

section "build (AddressSanitizer + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLOYALTY_SANITIZE=ON \
  -DLOYALTY_BENCH=OFF >/dev/null
cmake --build build-asan -j"$JOBS"

section "build (libFuzzer, clang)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLOYALTY_FUZZ=ON -DLOYALTY_TESTS=ON -DLOYALTY_BENCH=OFF >/dev/null
fuzz_targets=$(cd tests/fuzz && ls fuzz_*.cpp 2>/dev/null | sed 's/\.cpp$//' || true)
if [ -n "$fuzz_targets" ]; then
  # shellcheck disable=SC2086
  cmake --build build-fuzz -j"$JOBS" --target $fuzz_targets
fi

export LOYALTYD_REQUIRE_PG=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_suites() {
  section "tests (release build, SQLite + PostgreSQL)"
  ctest --test-dir build --output-on-failure -j"$JOBS" --timeout 600
  section "tests (ASan + UBSan build)"
  ctest --test-dir build-asan --output-on-failure -j"$JOBS" --timeout 900 -LE fuzz
}
export -f run_suites section
export start JOBS
bash scripts/with-postgres.sh bash -c run_suites

section "fuzz (${FUZZ_SECONDS}s per target)"
for t in $fuzz_targets; do
  corpus="tests/fuzz/corpus/$t"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "--- $t"
  ./build-fuzz/tests/fuzz/"$t" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "$work" "$corpus" 2>&1 | tail -n 8
  rm -rf "$work"
done

section "all tests passed"
