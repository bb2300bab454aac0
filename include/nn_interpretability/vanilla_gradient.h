#pragma once

#include <string>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Vanilla gradient: the signed gradient of the target score with respect to the input.
/// Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR workshop 2014.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::VanillaGradient method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class VanillaGradient : public Attribution {
 public:
  explicit VanillaGradient(Model model) : model_(std::move(model)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "vanilla_gradient"; }

  const Model& model() const override { return model_; }

 private:
  Model model_;
};

}  // namespace nn_interpretability
