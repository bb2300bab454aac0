#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct GradCamElementwiseOptions : CamOptionsBase<GradCamElementwiseOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on, upsample kNone.
  GradCamElementwiseOptions(std::string layer)  // NOLINT(google-explicit-constructor)
      : CamOptionsBase(std::move(layer)) {}
  GradCamElementwiseOptions(const char* layer) : CamOptionsBase(layer) {}  // NOLINT(google-explicit-constructor)
};

/// Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): the product of each activation and
/// its gradient rectified before the channel sum, map = Σ_k ReLU(∂y_c/∂A_k ⊙ A_k). Like HiResCAM
/// without the cancellation between channels; with eigen_smooth, the first principal component of
/// ReLU(G ⊙ A).
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw.
///
/// Example:
///   nn_interpretability::GradCamElementwise method(model, nn_interpretability::GradCamElementwiseOptions("layer4"));
///   torch::Tensor maps = method.attribute(images, labels);
class GradCamElementwise : public GradientCamMethod {
 public:
  GradCamElementwise(Model model, GradCamElementwiseOptions options);

  std::string name() const override { return "grad_cam_elementwise"; }
  std::string class_name() const override { return "GradCamElementwise"; }
  const GradCamElementwiseOptions& options() const { return options_; }

 protected:
  /// G where G ⊙ A > 0, else 0, [N, K, h, w]: so that Σ_k w ⊙ A = Σ_k ReLU(G ⊙ A).
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  GradCamElementwiseOptions options_;
};

}  // namespace nn_interpretability
