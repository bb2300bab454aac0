#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/core/attribution.h"

namespace nn_interpretability {

/// Saliency map: the maximum over channels of the absolute gradient.
/// Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR workshop 2014.
/// Result: Shape [N, 1, ...]: the channel dimension (dim 1) reduced to size 1.
///
/// Example:
///   nn_interpretability::SaliencyMap method(model);
///   torch::Tensor attributions = method.attribute(images, labels);
class SaliencyMap : public ModelAttribution {
 public:
  explicit SaliencyMap(Model model) : ModelAttribution(std::move(model)) {}

  std::string name() const override { return "saliency"; }
  std::string class_name() const override { return "SaliencyMap"; }

 protected:
  void check_input_shape(const torch::Tensor& input) const override;
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;
};

}  // namespace nn_interpretability
