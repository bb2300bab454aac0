#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct HiResCamOptions : CamOptionsBase<HiResCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  HiResCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  HiResCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
};

/// HiResCAM: every activation weighted by its own gradient, no spatial averaging and no
/// rectification of the gradient: map = ReLU(Σ_k ∂y_c/∂A_k ⊙ A_k). Unlike Grad-CAM it is faithful to
/// the model: summed over the map it is the first-order Taylor term Σ G·A of the score. On a layer
/// followed by global average pooling and one linear layer it equals Grad-CAM (the gradient is
/// constant over the map).
/// Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional
/// neural networks", arXiv:2011.08891, 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::HiResCam method(model, nn_interpretability::HiResCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class HiResCam : public GradientCamMethod {
 public:
  HiResCam(Model model, HiResCamOptions options);

  std::string name() const override { return "hires_cam"; }
  std::string class_name() const override { return "HiResCam"; }
  const HiResCamOptions& options() const { return options_; }

 protected:
  /// G itself, [N, K, h, w].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  HiResCamOptions options_;
};

}  // namespace nn_interpretability
