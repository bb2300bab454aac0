#!/usr/bin/env bash
# GPU check: builds the core library, the tests and the benchmark against a CUDA build of LibTorch,
# then runs the CUDA consistency tests (tests/cuda/), every other test that was built, and the
# benchmark on the GPU. The visualization and data targets (and their tests) are built only where
# OpenCV is found.
#
# Usage:  bash scripts/gpu_check.sh [BUILD_DIR]            (default: build-gpu)
# Environment:
#   TORCH_PREFIX      CMake prefix of LibTorch; default: the `torch` Python package's
#                     torch.utils.cmake_prefix_path (python3, or $PYTHON)
#   NNI_EXTRA_PREFIX  more CMake prefixes (;-separated) where Catch2 v2 and fmt are found
#   RESULTS_DIR       where logs and the benchmark JSON go (default: BUILD_DIR/gpu_results)
#   JOBS              parallel build jobs (default: nproc)
#   BENCH_ARGS        arguments of nni_bench (default: --quick)
#   BENCH_TIMEOUT     seconds the benchmark may run (default: 900)
# Exit status: 0 when everything built and passed, 1 otherwise (the summary says what failed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-gpu}"
RESULTS_DIR="${RESULTS_DIR:-$BUILD_DIR/gpu_results}"
JOBS="${JOBS:-$(nproc)}"
PYTHON="${PYTHON:-python3}"
BENCH_ARGS="${BENCH_ARGS:---quick}"
mkdir -p "$BUILD_DIR" "$RESULTS_DIR"
status=0
note() { echo "== $*" | tee -a "$RESULTS_DIR/summary.txt"; }

if [[ -z "${TORCH_PREFIX:-}" ]]; then
  TORCH_PREFIX="$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')" || {
    echo "gpu_check: no TORCH_PREFIX given and '$PYTHON -c \"import torch\"' failed" >&2; exit 1; }
fi
note "torch: $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>/dev/null || echo "prefix $TORCH_PREFIX")"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$RESULTS_DIR/summary.txt"

# LibTorch's CMake files look for the CUDA toolkit; point them at nvcc when it is not on PATH.
if ! command -v nvcc >/dev/null; then
  for candidate in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
    [[ -x "$candidate" ]] && { export PATH="$(dirname "$candidate"):$PATH"; break; }
  done
fi
command -v nvcc >/dev/null && export CUDACXX="${CUDACXX:-$(command -v nvcc)}"

opencv=OFF
if pkg-config --exists opencv4 2>/dev/null || [[ -n "${OpenCV_DIR:-}" ]]; then opencv=ON; fi
note "OpenCV targets (visualization, data, their tests): $opencv"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$ROOT" -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX${NNI_EXTRA_PREFIX:+;$NNI_EXTRA_PREFIX}" \
  -DNNI_WITH_VISUALIZATION=$opencv -DNNI_WITH_DATA=$opencv -DNNI_BUILD_EXAMPLES=OFF -DNNI_INSTALL=OFF \
  -DNNI_BUILD_TESTS=ON -DNNI_BUILD_BENCH=ON 2>&1 | tee "$RESULTS_DIR/configure.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || { note "configure FAILED (configure.log)"; exit 1; }

# Keep going past a failing file, so one run reports every compile error.
keep_going=(-k 0)
[[ ${#generator[@]} -eq 0 ]] && keep_going=(-k)
start=$(date +%s)
cmake --build "$BUILD_DIR" -j "$JOBS" -- "${keep_going[@]}" > "$RESULTS_DIR/build.log" 2>&1
build_status=$?
grep -E "error|warning: .*deprecated" "$RESULTS_DIR/build.log" | head -100
note "build: exit $build_status in $(( $(date +%s) - start )) s"
[[ $build_status -eq 0 ]] || status=1

export OPENBLAS_NUM_THREADS=1
if [[ -x "$BUILD_DIR/tests/cuda/cuda_tests" ]]; then
  "$BUILD_DIR/tests/cuda/cuda_tests" --durations yes 2>&1 | tee "$RESULTS_DIR/cuda_tests.log" | tail -40
  cuda_status=${PIPESTATUS[0]}
  note "cuda_tests: exit $cuda_status ($(grep -E '^(All tests passed|test cases:)' "$RESULTS_DIR/cuda_tests.log" | tail -1))"
  [[ $cuda_status -eq 0 ]] || status=1
else
  note "cuda_tests: NOT BUILT"; status=1
fi

(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" -E '^cuda_tests$' --timeout 600) > "$RESULTS_DIR/ctest.log" 2>&1
ctest_status=$?
note "ctest (all other tests built): exit $ctest_status — $(grep -E 'tests passed' "$RESULTS_DIR/ctest.log" | tail -1)"
grep -E "\(Failed\)|\(SEGFAULT\)|\(Timeout\)|Not Run" "$RESULTS_DIR/ctest.log" | head -20
[[ $ctest_status -eq 0 ]] || status=1

if [[ -x "$BUILD_DIR/bench/nni_bench" ]]; then
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT:-900}" "$BUILD_DIR/bench/nni_bench" --device cuda $BENCH_ARGS --json "$RESULTS_DIR/bench_cuda.json" \
    > "$RESULTS_DIR/bench_cuda.txt" 2>&1
  note "bench on cuda: exit $? (bench_cuda.txt)"
  tail -60 "$RESULTS_DIR/bench_cuda.txt"
fi

note "gpu_check: $([[ $status -eq 0 ]] && echo PASSED || echo FAILED); logs in $RESULTS_DIR"
exit $status
