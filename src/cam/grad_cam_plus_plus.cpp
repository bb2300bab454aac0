#include "nn_interpretability/cam/grad_cam_plus_plus.h"

#include <ATen/ATen.h>


namespace nn_interpretability {
namespace detail {

torch::Tensor grad_cam_plus_plus_weights(const torch::Tensor& activation, const torch::Tensor& gradient) {
  torch::Tensor g2 = gradient.square();
  torch::Tensor g3 = g2 * gradient;
  torch::Tensor activation_sum = activation.sum({2, 3}, /*keepdim=*/true);  // Σ_ab A_kab
  torch::Tensor denominator = 2 * g2 + activation_sum * g3;
  torch::Tensor nonzero = denominator != 0;
  // Divide by 1 where the denominator is 0, then zero those entries: no Inf or NaN ever appears.
  torch::Tensor alpha = g2 / at::where(nonzero, denominator, at::ones_like(denominator)) * nonzero;
  return (alpha * gradient.clamp_min(0)).sum({2, 3}, /*keepdim=*/true);  // [N, K, 1, 1]
}

}  // namespace detail

GradCamPlusPlus::GradCamPlusPlus(Model model, GradCamPlusPlusOptions options)
    : GradientCamMethod(std::move(model), options.map_options(), "GradCamPlusPlus"), options_(std::move(options)) {}

torch::Tensor GradCamPlusPlus::channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const {
  return detail::grad_cam_plus_plus_weights(activation, gradient);
}

}  // namespace nn_interpretability
