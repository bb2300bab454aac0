// Input × gradient: the input gradient times the input, elementwise.
#include "nn_interpretability/gradient/input_x_gradient.h"

#include <ATen/ATen.h>

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {

torch::Tensor InputXGradient::compute(const torch::Tensor& input, const Target& target) {
  torch::Tensor gradient = detail::input_gradient(model_, input, target, detail::ReluGradientRule::kStandard).gradient;
  return gradient.mul_(input);
}

}  // namespace nn_interpretability
