#pragma once

#include <string>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Deconvnet: at every ReLU the gradient is rectified (max(grad, 0)) whatever the forward input was.
/// Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
/// Result: Same shape as the input.
///
/// Example:
///   nn_interpretability::Deconvolution method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class Deconvolution : public Attribution {
 public:
  explicit Deconvolution(Model model) : model_(std::move(model)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "deconvolution"; }

  const Model& model() const override { return model_; }

 private:
  Model model_;
};

}  // namespace nn_interpretability
