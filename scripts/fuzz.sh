#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, -fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each one for FUZZ_SECONDS seconds. See docs/fuzzing_and_sanitizers.md.
#
# Usage: scripts/fuzz.sh [TARGET...]      (default: every target)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 600), libFuzzer -max_total_time
#   FUZZ_TARGETS   targets to run when none are given on the command line
#   FUZZ_JOBS      parallel compile jobs (default: nproc)
#   FUZZ_RSS_MB    libFuzzer -rss_limit_mb, also the largest single malloc (default 4096)
#   FUZZ_TIMEOUT   libFuzzer -timeout, seconds for one input (default 30)
#   FUZZ_FORK      when set to N > 0: -fork=N -ignore_crashes=1 -ignore_ooms=1
#                  -ignore_timeouts=1, i.e. keep going after the first crash
#   FUZZ_BUILD_DIR build folder (default build-fuzz)
#   CXX_FUZZ       the clang++ to use (default clang++-14)
#
# Crashing inputs go to fuzz/crashes/<target>/ (crash-*, oom-*, timeout-*, leak-*); libFuzzer's
# log of each run to <build>/logs/<target>.log; inputs that found new coverage to
# <build>/corpus/<target>/ (the seed corpus in fuzz/corpus/ is only read). Prints, per target,
# the executions (libFuzzer's final stat::number_of_executed_units) and the number of crashing
# inputs saved by this run, and exits 1 when any target crashed or failed to run.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

seconds="${FUZZ_SECONDS:-600}"
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
rss_mb="${FUZZ_RSS_MB:-4096}"
unit_timeout="${FUZZ_TIMEOUT:-30}"
fork="${FUZZ_FORK:-0}"
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"
cxx="${CXX_FUZZ:-clang++-14}"
all_targets=(fuzz_idx fuzz_cifar_bin fuzz_cifar_png fuzz_mnist_json fuzz_npy fuzz_model_load)
if [[ $# -gt 0 ]]; then
  targets=("$@")
elif [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"${FUZZ_TARGETS}"
else
  targets=("${all_targets[@]}")
fi

# ------------------------------------------------------------------ toolchain
have_libfuzzer() {
  command -v "$cxx" >/dev/null 2>&1 || return 1
  local lib
  lib="$("$cxx" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)"
  [[ -f "$lib" ]] && return 0
  # Older layouts: lib/clang/<ver>/lib/linux/.
  compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null
}
if ! have_libfuzzer; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "fuzz.sh: $cxx with libFuzzer is missing; as root run:" >&2
    echo "  apt-get install -y clang-14 libclang-rt-14-dev" >&2
    exit 2
  fi
  echo "fuzz.sh: installing clang-14 and libclang-rt-14-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian 12 ships the sanitizer/fuzzer runtimes in libclang-rt-14-dev; Ubuntu 22.04 in
  # libclang-common-14-dev.
  apt-get install -y -qq clang-14 libclang-rt-14-dev \
    || apt-get install -y -qq clang-14 libclang-common-14-dev
  have_libfuzzer || { echo "fuzz.sh: libFuzzer still not found for $cxx" >&2; exit 2; }
fi

# ---------------------------------------------------------------------- build
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -q "^CMAKE_CXX_COMPILER:.*clang" "$build_dir/CMakeCache.txt"; then
  echo "fuzz.sh: $build_dir was configured with another compiler; remove it first" >&2
  exit 2
fi
cmake -S fuzz -B "$build_dir" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 2
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" || exit 2

# ------------------------------------------------------------------------ run
# LibTorch's static allocations (operator registries, thread pools) are never freed by design,
# so LeakSanitizer would report them on every run: leak detection is off. UB aborts (the
# fuzzers are also compiled with -fno-sanitize-recover=undefined).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# One intra-op thread: LibTorch's pools only cost time here, and they make reports noisier.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

mkdir -p "$build_dir/logs"
failed=0
summary=()
for t in "${targets[@]}"; do
  exe="$build_dir/$t"
  if [[ ! -x "$exe" ]]; then
    summary+=("$(printf '%-18s %14s %8s  %s' "$t" "-" "-" "not built")")
    failed=1
    continue
  fi
  crash_dir="fuzz/crashes/$t"
  work_corpus="$build_dir/corpus/$t"
  log="$build_dir/logs/$t.log"
  mkdir -p "$crash_dir" "$work_corpus"
  seeds=()
  [[ -d "fuzz/corpus/$t" ]] && seeds=("fuzz/corpus/$t")
  before="$(ls -1 "$crash_dir" 2>/dev/null | sort)"

  args=(-max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb="$rss_mb"
        -timeout="$unit_timeout" -artifact_prefix="$crash_dir/")
  if [[ "$fork" -gt 0 ]]; then
    args+=(-fork="$fork" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  echo "== $t: fuzzing for ${seconds}s (log: $log)"
  "$exe" "${args[@]}" "$work_corpus" "${seeds[@]}" >"$log" 2>&1 &
  pid=$!
  wait "$pid"
  rc=$?
  # The harness's scratch files are per process; a crash leaves them behind.
  rm -f /dev/shm/nni_fuzz_"${pid}"_* 2>/dev/null

  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')"
  if [[ -z "$execs" ]]; then
    # Fork mode or an early abort: the last status line "#N ...".
    execs="$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')"
  fi
  after="$(ls -1 "$crash_dir" 2>/dev/null | sort)"
  new="$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") \
         | grep -E '^(crash|oom|timeout|leak)-' || true)"
  crashes=0
  [[ -n "$new" ]] && crashes="$(printf '%s\n' "$new" | wc -l)"
  note=""
  if [[ "$crashes" -gt 0 ]]; then
    failed=1
    note="$(grep -m1 -E '^SUMMARY: |ERROR: libFuzzer: ' "$log" | cut -c1-110)"
    while read -r f; do echo "   saved: $crash_dir/$f"; done <<<"$new"
  elif [[ "$rc" -ne 0 ]]; then
    failed=1
    note="exit status $rc without a saved input; see $log"
  fi
  summary+=("$(printf '%-18s %14s %8s  %s' "$t" "${execs:-?}" "$crashes" "$note")")
done

echo
printf '%-18s %14s %8s\n' "target" "executions" "crashes"
printf '%s\n' "${summary[@]}"
if [[ "$failed" -ne 0 ]]; then
  echo "fuzz.sh: FAILED -- reproduce with: $build_dir/<target> fuzz/crashes/<target>/<file>" >&2
  exit 1
fi
echo "fuzz.sh: no crashes"
