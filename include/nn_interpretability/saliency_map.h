#pragma once

#include <string>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"

namespace nn_interpretability {

/// Saliency map: the maximum over channels of the absolute gradient.
/// Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR workshop 2014.
/// Result: Shape [N, 1, ...]: the channel dimension (dim 1) reduced to size 1.
///
/// Example:
///   nn_interpretability::SaliencyMap method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class SaliencyMap : public Attribution {
 public:
  explicit SaliencyMap(Model model) : model_(std::move(model)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "saliency"; }

  const Model& model() const override { return model_; }

 private:
  Model model_;
};

}  // namespace nn_interpretability
