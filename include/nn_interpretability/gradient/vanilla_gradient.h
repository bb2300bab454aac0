#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Vanilla gradient: the signed gradient of the target score with respect to the input.
/// Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR workshop 2014.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::VanillaGradient method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class VanillaGradient : public ModelAttribution {
 public:
  explicit VanillaGradient(Model model) : ModelAttribution(std::move(model)) {}

  std::string name() const override { return "vanilla_gradient"; }
  std::string class_name() const override { return "VanillaGradient"; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;
};

}  // namespace nn_interpretability
