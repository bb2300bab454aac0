// Guided backpropagation: the input gradient with the guided ReLU rule.
#include "nn_interpretability/gradient/guided_backprop.h"

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {

torch::Tensor GuidedBackprop::compute(const torch::Tensor& input, const Target& target) {
  return detail::input_gradient(model_, input, target, detail::ReluGradientRule::kGuided).gradient;
}

}  // namespace nn_interpretability
