#include "nn_interpretability/metrics/localization.h"

#include <ATen/ATen.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {

torch::Tensor pointing_game(const torch::Tensor& attributions, const torch::Tensor& mask) {
  const torch::Tensor rows = detail::checked_rows(attributions, "pointing_game");
  const torch::Tensor inside = detail::checked_mask(mask, attributions, "pointing_game");
  const torch::Tensor largest = std::get<0>(rows.max(1, /*keepdim=*/true));
  return ((rows == largest) & inside).any(1).to(at::kDouble);
}

torch::Tensor relevance_mass(const torch::Tensor& attributions, const torch::Tensor& mask) {
  const torch::Tensor positive = detail::checked_rows(attributions, "relevance_mass").clamp_min(0);
  const torch::Tensor inside = detail::checked_mask(mask, attributions, "relevance_mass");
  const torch::Tensor total = positive.sum(1);
  detail::refuse_rows(total == 0, "relevance_mass", "no attribution is positive (the share is undefined)");
  return (positive * inside).sum(1) / total;
}

torch::Tensor relevance_rank(const torch::Tensor& attributions, const torch::Tensor& mask) {
  const torch::Tensor rows = detail::checked_rows(attributions, "relevance_rank");
  const torch::Tensor inside = detail::checked_mask(mask, attributions, "relevance_rank");
  const torch::Tensor rank = detail::ranks(rows, /*descending=*/true);
  const torch::Tensor k = inside.sum(1, /*keepdim=*/true);
  return ((rank < k) & inside).sum(1).to(at::kDouble) / k.squeeze(1).to(at::kDouble);
}

}  // namespace metrics
}  // namespace nn_interpretability
