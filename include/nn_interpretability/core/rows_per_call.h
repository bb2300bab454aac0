#pragma once
// How many rows the path methods (integrated gradients, SmoothGrad, ...) put in one forward/backward
// call when the user does not say.
//
// One call on all steps x N rows is not the fastest on a CPU: large calls allocate (and the kernel
// zeroes) fresh pages for every activation and leave the caches. Measured on 2 cores
// (docs/benchmarks.md, "Rows per call"): integrated gradients with 50 steps at batch 32 ran 1.4x
// (CIFAR CNN) to 1.5x (ResNet-18 at 64x64) faster in calls of 64-320 rows than in one call of 1600,
// flat within noise between 64 and 320; SmoothGrad at batch 32 was faster in calls of 320 rows than
// of 128 (fewer per-call checks); at batch 1 all 50 rows in one call were fastest. So the automatic
// choice is about 320 rows, whole copies of the batch, and never more input bytes per call than a
// budget (16 MiB by default: 27 rows of 3x224x224 float32), because activation memory grows in
// proportion to the rows.

#include <cstdint>

namespace nn_interpretability {

/// The value of a rows-per-call option that asks for the automatic choice.
constexpr int64_t kAutomaticRowsPerCall = -1;

/// The default memory budget of the automatic choice: input bytes per call.
constexpr int64_t kDefaultRowsPerCallBudget = int64_t{16} << 20;

/// Copies of the batch per call (>= 1, <= `copies`) for `copies` copies of a batch of `batch` rows of
/// `row_bytes` bytes each: about 320 rows, within `budget_bytes` of input (at least one copy).
int64_t automatic_copies_per_call(int64_t copies, int64_t batch, int64_t row_bytes,
                                  int64_t budget_bytes = kDefaultRowsPerCallBudget);

/// The one chunking rule of every method that multiplies the batch (integrated gradients' path
/// points, SmoothGrad's noisy copies, Score-CAM's masked inputs): copies of a batch of `batch`
/// rows per call, given the `rows_per_call` option. kAutomaticRowsPerCall: automatic_copies_per_call
/// within `budget_bytes`; 0: all `copies` in one call; R > 0: R rows, rounded down to whole copies
/// (at least one).
int64_t copies_per_call(int64_t rows_per_call, int64_t copies, int64_t batch, int64_t row_bytes,
                        int64_t budget_bytes = kDefaultRowsPerCallBudget);

/// Throws a c10::ValueError "<owner>: rows_per_call must be >= 0 or kAutomaticRowsPerCall (-1), got R"
/// (and the same for a negative memory_budget): the construction-time check of every such option.
void check_rows_per_call(const char* owner, int64_t rows_per_call, int64_t budget_bytes);

}  // namespace nn_interpretability
