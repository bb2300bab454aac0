#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Input × gradient: the input multiplied elementwise by the gradient of the target score.
/// Shrikumar et al., "Not Just a Black Box", 2016.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::InputXGradient method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class InputXGradient : public ModelAttribution {
 public:
  explicit InputXGradient(Model model) : ModelAttribution(std::move(model)) {}

  std::string name() const override { return "input_x_gradient"; }
  std::string class_name() const override { return "InputXGradient"; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;
};

}  // namespace nn_interpretability
