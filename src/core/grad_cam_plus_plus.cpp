#include "nn_interpretability/grad_cam_plus_plus.h"

#include <ATen/ATen.h>

#include "nn_interpretability/grad_cam.h"

namespace nn_interpretability {
namespace detail {

torch::Tensor grad_cam_plus_plus_map(const torch::Tensor& activation, const torch::Tensor& gradient, bool relu) {
  torch::Tensor g2 = gradient.square();
  torch::Tensor g3 = g2 * gradient;
  torch::Tensor activation_sum = activation.sum({2, 3}, /*keepdim=*/true);  // Σ_ab A_kab
  torch::Tensor denominator = 2 * g2 + activation_sum * g3;
  torch::Tensor nonzero = denominator != 0;
  // Divide by 1 where the denominator is 0, then zero those entries: no Inf or NaN ever appears.
  torch::Tensor alpha = g2 / at::where(nonzero, denominator, at::ones_like(denominator)) * nonzero;
  torch::Tensor weights = (alpha * gradient.clamp_min(0)).sum({2, 3}, /*keepdim=*/true);  // [N, K, 1, 1]
  torch::Tensor map = (weights * activation).sum(1, /*keepdim=*/true);
  return relu ? map.clamp_min(0) : map;
}

}  // namespace detail

torch::Tensor GradCamPlusPlus::attribute(const torch::Tensor& input, const Target& target) {
  const char* method = "GradCamPlusPlus";
  detail::LayerGradient layer = detail::layer_gradient(model_, input, options_.layer(), target, method);
  torch::Tensor map = detail::grad_cam_plus_plus_map(layer.activation, layer.gradient, options_.relu());
  return detail::finish_cam_map(map, input, options_.upsample(), method);
}

}  // namespace nn_interpretability
