#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct GradCamPlusPlusOptions {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  GradCamPlusPlusOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  GradCamPlusPlusOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer explained (required).
  TORCH_ARG(std::string, layer);
  /// Keep only the positive part of the map, as in the paper.
  TORCH_ARG(bool, relu) = true;
  /// Resize the map to the input's H×W; kNone (the default) returns the raw layer-resolution map.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
};

/// Grad-CAM++: Grad-CAM with each channel's weight a weighted sum of its positive gradients,
/// w_k = Σ_ij α_kij ReLU(g_kij), α_kij = g² / (2 g² + (Σ_ab A_kab) g³) with g = ∂y_c/∂A_kij — the
/// closed form for an exponential score exp(y_c), as in pytorch-grad-cam's GradCAMPlusPlus, except
/// that no epsilon is added to the denominator: where it is 0 (e.g. g = 0), α is 0.
/// map = ReLU(Σ_k w_k A_k).
/// Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks",
/// WACV 2018.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw; a flat map
/// is all zeros.
///
/// Example:
///   nn_interpretability::GradCamPlusPlus method(model, nn_interpretability::GradCamPlusPlusOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class GradCamPlusPlus : public Attribution {
 public:
  GradCamPlusPlus(Model model, GradCamPlusPlusOptions options)
      : model_(std::move(model)), options_(std::move(options)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "grad_cam_pp"; }

  const Model& model() const override { return model_; }
  const GradCamPlusPlusOptions& options() const { return options_; }

 private:
  Model model_;
  GradCamPlusPlusOptions options_;
};

namespace detail {

/// Grad-CAM++'s map from the activation A [N, K, h, w] and its gradient G; [N, 1, h, w].
torch::Tensor grad_cam_plus_plus_map(const torch::Tensor& activation, const torch::Tensor& gradient, bool relu);

}  // namespace detail
}  // namespace nn_interpretability
