// The gradient family: each method is the shared input gradient plus at most one elementwise step.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/deconvolution.h"
#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/guided_backprop.h"
#include "nn_interpretability/input_x_gradient.h"
#include "nn_interpretability/saliency_map.h"
#include "nn_interpretability/vanilla_gradient.h"

namespace nn_interpretability {

using detail::input_gradient;
using detail::ReluGradientRule;

torch::Tensor VanillaGradient::attribute(const torch::Tensor& input, const Target& target) {
  return input_gradient(model_, input, target, ReluGradientRule::kStandard, "VanillaGradient").gradient;
}

torch::Tensor InputXGradient::attribute(const torch::Tensor& input, const Target& target) {
  torch::Tensor gradient =
      input_gradient(model_, input, target, ReluGradientRule::kStandard, "InputXGradient").gradient;
  return gradient.mul_(input);
}

torch::Tensor GuidedBackprop::attribute(const torch::Tensor& input, const Target& target) {
  return input_gradient(model_, input, target, ReluGradientRule::kGuided, "GuidedBackprop").gradient;
}

torch::Tensor Deconvolution::attribute(const torch::Tensor& input, const Target& target) {
  return input_gradient(model_, input, target, ReluGradientRule::kDeconvolution, "Deconvolution").gradient;
}

torch::Tensor SaliencyMap::attribute(const torch::Tensor& input, const Target& target) {
  TORCH_CHECK_VALUE(!input.defined() || input.dim() >= 3, "SaliencyMap: the input must be a batch [N, C, ...] with a ",
                    "channel dimension (rank >= 3), got shape ", input.sizes());
  torch::Tensor gradient =
      input_gradient(model_, input, target, ReluGradientRule::kStandard, "SaliencyMap").gradient;
  return std::get<0>(gradient.abs_().max(1, /*keepdim=*/true));
}

}  // namespace nn_interpretability
