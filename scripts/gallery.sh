#!/usr/bin/env bash
# The main job: fetches the data it lacks, builds the gallery example in Release and writes the
# explanation gallery of the shipped, trained models, then the activation-maximization figure.
#
# Usage: scripts/gallery.sh [OUT_DIR]    (default: gallery)
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir="${1:-gallery}"
build_dir=build
jobs="$(nproc 2>/dev/null || echo 2)"

bash scripts/install_dependencies.sh --with-data
bash scripts/fetch_data.sh
# One BLAS thread: OpenBLAS's pool otherwise fights LibTorch's OpenMP threads (README, "BLAS threads").
export OPENBLAS_NUM_THREADS=1
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j "$jobs" --target nni_gallery nni_activation_maximization nni_report_card
"$build_dir/examples/03_gallery/nni_gallery" --out "$out_dir"
echo
"$build_dir/examples/05_activation_maximization/nni_activation_maximization" --out "$out_dir"
echo
# The report card (docs/report_card.md): 15 methods x 5 metrics on 200 test images per model here
# (docs/report_card.md quotes the 500-image run: --examples 500).
"$build_dir/examples/06_report_card/nni_report_card" --examples 200 --out "$out_dir"
