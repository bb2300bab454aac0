#include "nn_interpretability/metrics/complexity.h"

#include <ATen/ATen.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {

torch::Tensor sparseness(const torch::Tensor& attributions) {
  const torch::Tensor magnitude = detail::checked_rows(attributions, "sparseness").abs();
  const torch::Tensor total = magnitude.sum(1);
  detail::refuse_rows(total == 0, "sparseness", "the attributions are all zero (the Gini index is undefined)");
  const int64_t n = magnitude.size(1);
  const torch::Tensor sorted = std::get<0>(magnitude.sort(1));
  const torch::Tensor weights = at::arange(1, n + 1, sorted.options()).mul_(2).sub_(n + 1);
  return sorted.matmul(weights) / (total * static_cast<double>(n));
}

torch::Tensor complexity(const torch::Tensor& attributions) {
  const torch::Tensor magnitude = detail::checked_rows(attributions, "complexity").abs();
  const torch::Tensor total = magnitude.sum(1, /*keepdim=*/true);
  detail::refuse_rows(total.squeeze(1) == 0, "complexity", "the attributions are all zero (no distribution to measure)");
  const torch::Tensor p = magnitude / total;
  // 0 · ln 0 = 0.
  return -at::where(p > 0, p * p.log(), at::zeros_like(p)).sum(1);
}

}  // namespace metrics
}  // namespace nn_interpretability
