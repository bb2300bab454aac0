// Saliency map: the largest absolute input gradient over channels.
#include "nn_interpretability/gradient/saliency_map.h"

#include <tuple>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {

void SaliencyMap::check_input_shape(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(input.dim() >= 3, "the input must be a batch [N, C, ...] with a channel dimension (rank >= 3), ",
                    "got shape ", input.sizes());
}

torch::Tensor SaliencyMap::compute(const torch::Tensor& input, const Target& target) {
  torch::Tensor gradient = detail::input_gradient(model_, input, target, detail::ReluGradientRule::kStandard).gradient;
  return std::get<0>(gradient.abs_().max(1, /*keepdim=*/true));
}

}  // namespace nn_interpretability
