#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Guided backpropagation: at every ReLU only positive gradients pass, and only where the ReLU's
/// input was positive. Works for nn::ReLU modules, functional ReLUs and TorchScript models alike.
/// Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR workshop 2015.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::GuidedBackprop method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class GuidedBackprop : public ModelAttribution {
 public:
  explicit GuidedBackprop(Model model) : ModelAttribution(std::move(model)) {}

  std::string name() const override { return "guided_backprop"; }
  std::string class_name() const override { return "GuidedBackprop"; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;
};

}  // namespace nn_interpretability
