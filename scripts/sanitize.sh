#!/usr/bin/env bash
# Builds the library, the CLI and the test executables that exercise our own memory handling with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/ (RelWithDebInfo at -O1 -g1) and runs
# their tests through ctest. See docs/fuzzing_and_sanitizers.md.
#
# Which executables (SANITIZE_TESTS): by default the file readers and writers (data_tests,
# visualization_tests), the CLI and .npy I/O (cli_tests), layer access and the gradient family
# (core_tests: operator observation, graph rewriting, raw callbacks) and the hardening matrix (every
# method on bad input and odd shapes, EigenCAM's hand-written principal component included). The
# method-reference suites (cam_tests, am_tests, models_tests, generative_models_tests) are left to the
# Release pass: they run long under ASan and add little beyond LibTorch's own kernels, which are not
# instrumented. SANITIZE_TESTS=all builds and runs every test executable.
#
# Usage: scripts/sanitize.sh [CTEST_ARGS...]     e.g. scripts/sanitize.sh -R data_tests
#
# Environment:
#   SANITIZE_BUILD_DIR  build folder (default build-asan)
#   SANITIZE_CXX        compiler (default: c++, i.e. gcc; clang++-14 works too)
#   SANITIZE_JOBS       parallel compile / test jobs (default: nproc)
#   SANITIZE_CONFIGURE_ONLY=1  stop after the cmake configure step
#
# Everything is compiled and linked with
#   -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# (UB is fatal, so a UBSan report fails the test that triggers it). LibTorch, OpenCV and the
# other system libraries are not instrumented; ASan still checks every heap access made from
# our code and every free of a pointer they allocated.
#
# Runtime options: ASAN_OPTIONS=detect_leaks=0 because LibTorch allocates its operator
# registries, dispatcher tables and thread pools once per process and never frees them, by
# design: LeakSanitizer would report those on every test executable (and make Catch2's test
# discovery, which runs each executable at build time, fail). Memory errors -- overflows,
# use-after-free, double free, mismatched new/delete -- are still fatal.
# UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1.
#
# The examples, the benchmark and the packaging test (which builds a consumer project without
# the sanitizer flags) are left out.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${SANITIZE_BUILD_DIR:-build-asan}"
cxx="${SANITIZE_CXX:-c++}"
jobs="${SANITIZE_JOBS:-$(nproc 2>/dev/null || echo 2)}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1

if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -q -- "-fsanitize=address" "$build_dir/CMakeCache.txt"; then
  echo "sanitize.sh: $build_dir exists without the sanitizer flags; remove it first" >&2
  exit 2
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
  -DNNI_BUILD_TESTS=ON \
  -DNNI_BUILD_EXAMPLES=OFF \
  -DNNI_BUILD_BENCH=OFF \
  -DNNI_INSTALL=OFF
if [[ "${SANITIZE_CONFIGURE_ONLY:-0}" == "1" ]]; then
  echo "sanitize.sh: configured $build_dir (SANITIZE_CONFIGURE_ONLY=1, not building)"
  exit 0
fi

tests="${SANITIZE_TESTS:-core_tests data_tests cli_tests visualization_tests hardening_tests}"
if [[ "$tests" == "all" ]]; then
  cmake --build "$build_dir" -j "$jobs"
  cd "$build_dir"
  ctest --output-on-failure -j "$jobs" "$@"
else
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j "$jobs" --target nn_interpretability nni $tests
  cd "$build_dir"
  # Test names are "<executable>:<test case>"; --no-tests=error: a pattern that matches nothing fails.
  ctest --output-on-failure --no-tests=error -j "$jobs" -R "^($(echo $tests | tr ' ' '|')):" "$@"
fi
