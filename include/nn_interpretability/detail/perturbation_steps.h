#pragma once
// Steps the perturbation methods share: rows with some features removed, per-feature values mapped
// back onto the input, a private seeded generator.

#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "nn_interpretability/perturbation/feature_mask.h"

namespace nn_interpretability {
namespace detail {

/// Rows [R, ...]: example `examples[r]` of `input` where `present[r, id]` is true, the baseline
/// row `baselines[r]` [R, ...] elsewhere. `ids` [N, ...] is the resolved mask; `present` [R, F] bool.
torch::Tensor coalition_rows(const torch::Tensor& input, const torch::Tensor& ids, const torch::Tensor& present,
                             const torch::Tensor& examples, const torch::Tensor& baselines);

/// Per-feature values [N, F] onto the input's shape through the mask ids [N, ...].
torch::Tensor features_to_input(const torch::Tensor& values, const torch::Tensor& ids);

/// A CPU generator seeded with `seed`: results reproducible whatever the device and global seed.
at::Generator seeded_generator(uint64_t seed);

/// Number of input bytes in one row of `input`.
int64_t row_bytes(const torch::Tensor& input);

}  // namespace detail
}  // namespace nn_interpretability
