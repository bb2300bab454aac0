#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Deconvnet: at every ReLU the gradient is rectified (max(grad, 0)) whatever the forward input was.
/// Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::Deconvolution method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class Deconvolution : public ModelAttribution {
 public:
  explicit Deconvolution(Model model) : ModelAttribution(std::move(model)) {}

  std::string name() const override { return "deconvolution"; }
  std::string class_name() const override { return "Deconvolution"; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;
};

}  // namespace nn_interpretability
