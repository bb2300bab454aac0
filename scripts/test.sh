#!/usr/bin/env bash
# Builds everything in Release with both cores and runs every test through ctest.
#
# Usage: scripts/test.sh [BUILD_DIR]    (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
jobs="$(nproc 2>/dev/null || echo 2)"

bash scripts/install_dependencies.sh
# One BLAS thread: OpenBLAS's pool otherwise fights LibTorch's OpenMP threads (README, "BLAS threads").
export OPENBLAS_NUM_THREADS=1
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs"
cd "$build_dir"
ctest --output-on-failure -j "$jobs"
