#pragma once

#include <torch/types.h>

namespace nn_interpretability {
namespace detail {

/// Checks what every method needs of an input batch: defined, floating point, rank >= 2, at least
/// one example and one element, all values finite. `method` names the caller in messages.
void check_batch(const torch::Tensor& input, const char* method);

}  // namespace detail
}  // namespace nn_interpretability
