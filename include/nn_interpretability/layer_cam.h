#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct LayerCamOptions {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer3".
  LayerCamOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  LayerCamOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer explained (required).
  TORCH_ARG(std::string, layer);
  /// Apply the outer ReLU to the summed map, as in the paper.
  TORCH_ARG(bool, relu) = true;
  /// Resize the map to the input's H×W; kNone (the default) returns the raw layer-resolution map.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
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
class LayerCam : public Attribution {
 public:
  LayerCam(Model model, LayerCamOptions options) : model_(std::move(model)), options_(std::move(options)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "layer_cam"; }

  const Model& model() const override { return model_; }
  const LayerCamOptions& options() const { return options_; }

 private:
  Model model_;
  LayerCamOptions options_;
};

}  // namespace nn_interpretability
