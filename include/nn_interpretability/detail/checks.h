#pragma once

#include <torch/types.h>

namespace nn_interpretability {
namespace detail {

/// Checks what every method needs of an input batch: defined, floating point, rank >= 2, at least
/// one example and one element, all values finite. `method` names the caller in messages.
void check_batch(const torch::Tensor& input, const char* method);

}  // namespace detail
}  // namespace nn_interpretability

#include <functional>

#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace detail {

/// Runs `forward` (a forward pass of `backend` on `input`), turning a failure into a ValueError
/// that names the input shape, and checks that the output is a finite batch [N, ...] for N = input rows.
torch::Tensor checked_forward(const ModelBackend& backend, const torch::Tensor& input,
                              const std::function<torch::Tensor()>& forward);

}  // namespace detail
}  // namespace nn_interpretability
