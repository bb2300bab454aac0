// Vanilla gradient: the input gradient as is.
#include "nn_interpretability/gradient/vanilla_gradient.h"

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {

torch::Tensor VanillaGradient::compute(const torch::Tensor& input, const Target& target) {
  return detail::input_gradient(model_, input, target, detail::ReluGradientRule::kStandard).gradient;
}

}  // namespace nn_interpretability
