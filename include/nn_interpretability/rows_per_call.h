#pragma once
// How many rows the path methods (integrated gradients, SmoothGrad, ...) put in one forward/backward
// call when the user does not say.
//
// One call on all steps x N rows is not the fastest: measured on 2 cores (docs/benchmarks.md, "Rows
// per call"), integrated gradients with 50 steps at batch 32 ran 1.4x (CIFAR CNN) to 1.5x (ResNet-18
// at 64x64) faster in calls of ~128 rows than in one call of 1600, while at batch 1 all 50 rows in
// one call were fastest. Large calls allocate (and the kernel zeroes) fresh pages for every
// activation and leave the caches. So the automatic choice is about 128 rows, whole copies of the
// batch, and never more input bytes per call than a budget (8 MiB by default: ~13 rows of 3x224x224
// float32), because activation memory grows in proportion to the rows.

#include <cstdint>

namespace nn_interpretability {

/// The value of a rows-per-call option that asks for the automatic choice.
constexpr int64_t kAutomaticRowsPerCall = -1;

/// The default memory budget of the automatic choice: input bytes per call.
constexpr int64_t kDefaultRowsPerCallBudget = int64_t{8} << 20;

/// Copies of the batch per call (>= 1, <= `copies`) for `copies` copies of a batch of `batch` rows of
/// `row_bytes` bytes each: about 128 rows, within `budget_bytes` of input (at least one copy).
int64_t automatic_copies_per_call(int64_t copies, int64_t batch, int64_t row_bytes,
                                  int64_t budget_bytes = kDefaultRowsPerCallBudget);

}  // namespace nn_interpretability
