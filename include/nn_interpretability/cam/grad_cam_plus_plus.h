#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct GradCamPlusPlusOptions : CamOptionsBase<GradCamPlusPlusOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  GradCamPlusPlusOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  GradCamPlusPlusOptions(const char* layer) : CamOptionsBase(layer) {}  // NOLINT(google-explicit-constructor)
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
class GradCamPlusPlus : public GradientCamMethod {
 public:
  GradCamPlusPlus(Model model, GradCamPlusPlusOptions options);

  std::string name() const override { return "grad_cam_pp"; }
  std::string class_name() const override { return "GradCamPlusPlus"; }
  const GradCamPlusPlusOptions& options() const { return options_; }

 protected:
  /// w_k = Σ_ij α_kij ReLU(G_kij), [N, K, 1, 1].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  GradCamPlusPlusOptions options_;
};

namespace detail {

/// Grad-CAM++'s channel weights w_k = Σ_ij α_kij ReLU(G_kij) [N, K, 1, 1], with
/// α = G² / (2 G² + Σ_ab A_kab · G³), and α = 0 where that denominator is 0.
torch::Tensor grad_cam_plus_plus_weights(const torch::Tensor& activation, const torch::Tensor& gradient);

}  // namespace detail
}  // namespace nn_interpretability
