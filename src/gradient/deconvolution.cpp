// Deconvolution: the input gradient with the deconvnet ReLU rule.
#include "nn_interpretability/gradient/deconvolution.h"

#include "nn_interpretability/detail/input_gradient.h"

namespace nn_interpretability {

torch::Tensor Deconvolution::compute(const torch::Tensor& input, const Target& target) {
  return detail::input_gradient(model_, input, target, detail::ReluGradientRule::kDeconvolution).gradient;
}

}  // namespace nn_interpretability
