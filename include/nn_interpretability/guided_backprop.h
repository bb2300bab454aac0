#pragma once

#include <string>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Guided backpropagation: at every ReLU only positive gradients pass, and only where the ReLU's
/// input was positive. Works for nn::ReLU modules, functional ReLUs and TorchScript models alike.
/// Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR workshop 2015.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::GuidedBackprop method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class GuidedBackprop : public Attribution {
 public:
  explicit GuidedBackprop(Model model) : model_(std::move(model)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "guided_backprop"; }

  const Model& model() const override { return model_; }

 private:
  Model model_;
};

}  // namespace nn_interpretability
