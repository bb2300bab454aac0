#!/usr/bin/env bash
# Builds everything in Release with all cores and runs every test through ctest; then builds the
# memory-handling test suites again with AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/sanitize.sh, in build-asan/) and runs them too. NNI_SANITIZE=0 skips the sanitizer pass.
#
# Usage: scripts/test.sh [BUILD_DIR]    (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
jobs="$(nproc 2>/dev/null || echo 2)"

bash scripts/install_dependencies.sh
# One BLAS thread: OpenBLAS's pool otherwise fights LibTorch's OpenMP threads (README, "BLAS threads").
export OPENBLAS_NUM_THREADS=1
start=$(date +%s)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs"
(cd "$build_dir" && ctest --output-on-failure -j "$jobs")
echo "test.sh: Release build and tests passed in $(( $(date +%s) - start )) s"

if [[ "${NNI_SANITIZE:-1}" != "0" ]]; then
  start=$(date +%s)
  bash scripts/sanitize.sh
  echo "test.sh: ASan + UBSan build and tests passed in $(( $(date +%s) - start )) s"
fi
