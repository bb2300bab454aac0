#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct XGradCamOptions : CamOptionsBase<XGradCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  XGradCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  XGradCamOptions(const char* layer) : CamOptionsBase(layer) {}             // NOLINT(google-explicit-constructor)
};

/// XGrad-CAM: each channel weighted by its gradient averaged with the channel's own activations as
/// weights, α_k = Σ_ij (A_kij / Σ_ab A_kab) ∂y_c/∂A_kij, map = ReLU(Σ_k α_k A_k). Chosen so the map
/// satisfies the paper's sensitivity and conservation axioms; for a layer followed by global average
/// pooling and one linear layer it equals Grad-CAM. A channel whose activations sum to 0 gets weight
/// 0 (pytorch-grad-cam adds 1e-7 to the sum instead).
/// Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
/// BMVC 2020.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::XGradCam method(model, nn_interpretability::XGradCamOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class XGradCam : public GradientCamMethod {
 public:
  XGradCam(Model model, XGradCamOptions options);

  std::string name() const override { return "xgrad_cam"; }
  std::string class_name() const override { return "XGradCam"; }
  const XGradCamOptions& options() const { return options_; }

 protected:
  /// α_k, [N, K, 1, 1].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  XGradCamOptions options_;
};

}  // namespace nn_interpretability
