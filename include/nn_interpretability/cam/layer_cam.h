#pragma once

#include <string>
#include <utility>

#include "nn_interpretability/cam/cam_method.h"

namespace nn_interpretability {

struct LayerCamOptions : CamOptionsBase<LayerCamOptions> {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  /// Defaults: relu on (the outer ReLU of the paper), upsample kNone.
  LayerCamOptions(std::string layer) : CamOptionsBase(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  LayerCamOptions(const char* layer) : CamOptionsBase(layer) {}  // NOLINT(google-explicit-constructor)
};

/// LayerCAM: every activation weighted by its own positive gradient, no spatial averaging:
/// map = ReLU(Σ_k ReLU(∂y_c/∂A_k) ⊙ A_k). Works at shallow layers too, where Grad-CAM's averaged
/// weights blur.
/// Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
/// IEEE TIP 2021.
/// Result: [N, 1, h, w] at the layer's resolution (or [N, 1, H, W] with `upsample`), raw; a flat map
/// is all zeros.
///
/// Example:
///   nn_interpretability::LayerCam method(model, nn_interpretability::LayerCamOptions("layer2"));
///   torch::Tensor maps = method.attribute(images, labels);
class LayerCam : public GradientCamMethod {
 public:
  LayerCam(Model model, LayerCamOptions options);

  std::string name() const override { return "layer_cam"; }
  std::string class_name() const override { return "LayerCam"; }
  const LayerCamOptions& options() const { return options_; }

 protected:
  /// ReLU(G), [N, K, h, w].
  torch::Tensor channel_weights(const torch::Tensor& activation, const torch::Tensor& gradient) const override;

 private:
  LayerCamOptions options_;
};

}  // namespace nn_interpretability
