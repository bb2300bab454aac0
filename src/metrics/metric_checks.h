#pragma once
// Input checks the metrics share (private to src/metrics).

#include <torch/types.h>

namespace nn_interpretability {
namespace metrics {
namespace detail {

/// Attributions [N, ...] with N ≥ 1 and every value finite, as float64 rows [N, elements]; `metric`
/// names the caller in messages.
torch::Tensor checked_rows(const torch::Tensor& attributions, const char* metric);

/// The mask broadcast to the attributions, as bool rows [N, elements]; every example's mask must hold
/// at least one element.
torch::Tensor checked_mask(const torch::Tensor& mask, const torch::Tensor& attributions, const char* metric);

/// rank[e, i]: the place of element i in row e's order (decreasing when `descending`), ties by
/// position (a stable sort); `rows` [N, n].
torch::Tensor ranks(const torch::Tensor& rows, bool descending);

/// Throws "<metric>: <what> in example(s) i, j, ..." where `bad` [N] is true.
void refuse_rows(const torch::Tensor& bad, const char* metric, const char* what);

}  // namespace detail
}  // namespace metrics
}  // namespace nn_interpretability
