#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct GradCamOptions : CamOptionsBase<GradCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on (as in the paper), upsample kNone (the raw layer-resolution map).
  GradCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  GradCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
};

/// Grad-CAM: the layer's channels weighted by their spatially averaged gradients,
/// map = ReLU(Σ_k α_k A_k) with α_k = mean_ij ∂y_c/∂A_kij. The backward pass stops at the layer: only
/// the activation's gradient is computed, never the input's or the parameters'.
/// Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
/// Localization", ICCV 2017.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw (not
/// normalized); a flat map is all zeros.
///
/// Example:
///   nn_interpretability::GradCam method(model, nn_interpretability::GradCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);  // [N, 1, 7, 7] for a 224×224 ResNet
class GradCam : public GradientCamMethod {
 public:
  GradCam(Model model, GradCamOptions options)
      : GradientCamMethod(std::move(model), options.map_options(), "GradCam"), options_(std::move(options)) {}

  std::string name() const override { return "grad_cam"; }
  std::string class_name() const override { return "GradCam"; }
  const GradCamOptions& options() const { return options_; }

 protected:
  /// α_k = mean_ij G_kij, [N, K, 1, 1].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  GradCamOptions options_;
};

}  // namespace nn_interpretability
