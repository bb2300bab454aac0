#pragma once

#include <string>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Input × gradient: the input multiplied elementwise by the gradient of the target score.
/// Shrikumar et al., "Not Just a Black Box", 2016.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::InputXGradient method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class InputXGradient : public Attribution {
 public:
  explicit InputXGradient(Model model) : model_(std::move(model)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "input_x_gradient"; }

  const Model& model() const override { return model_; }

 private:
  Model model_;
};

}  // namespace nn_interpretability
