#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct EigenGradCamOptions : CamOptionsBase<EigenGradCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone, center on (pytorch-grad-cam's definition).
  EigenGradCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  EigenGradCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
  /// Subtract each channel's mean over the positions before the SVD.
  TORCH_ARG(bool, center) = true;
};

/// EigenGrad-CAM (pytorch-grad-cam's EigenGradCAM; no paper of its own): EigenCAM of the
/// activations times their gradients, map = ReLU(first principal component of ∂y_c/∂A ⊙ A), with
/// EigenCAM's sign rule. Class-specific, unlike EigenCAM.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::EigenGradCam method(model, nn_interpretability::EigenGradCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class EigenGradCam : public GradientCamMethod {
 public:
  EigenGradCam(Model model, EigenGradCamOptions options);

  std::string name() const override { return "eigen_grad_cam"; }
  std::string class_name() const override { return "EigenGradCam"; }
  const EigenGradCamOptions& options() const { return options_; }

 protected:
  /// G itself, [N, K, h, w].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;
  /// The first principal component (centred when `center`).
  torch::Tensor reduce_channels(const torch::Tensor& weighted) const override;

 private:
  EigenGradCamOptions options_;
};

}  // namespace nn_interpretability
