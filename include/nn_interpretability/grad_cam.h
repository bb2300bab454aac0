#pragma once

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/attribution.h"
#include "nn_interpretability/layer.h"
#include "nn_interpretability/model.h"
#include "nn_interpretability/upsample.h"

namespace nn_interpretability {

struct GradCamOptions {
  /// `layer`: the dotted name of the layer whose output [N, K, h, w] is explained, e.g. "layer4".
  GradCamOptions(std::string layer) : layer_(std::move(layer)) {}  // NOLINT(google-explicit-constructor)
  GradCamOptions(const char* layer) : layer_(layer) {}             // NOLINT(google-explicit-constructor)
  /// The layer explained (required).
  TORCH_ARG(std::string, layer);
  /// Keep only the positive part of the map, as in the paper.
  TORCH_ARG(bool, relu) = true;
  /// Resize the map to the input's H×W; kNone (the default) returns the raw layer-resolution map.
  TORCH_ARG(Upsample, upsample) = Upsample::kNone;
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
class GradCam : public Attribution {
 public:
  GradCam(Model model, GradCamOptions options) : model_(std::move(model)), options_(std::move(options)) {}

  torch::Tensor attribute(const torch::Tensor& input, const Target& target = Target()) override;
  std::string name() const override { return "grad_cam"; }

  const Model& model() const override { return model_; }
  const GradCamOptions& options() const { return options_; }

 private:
  Model model_;
  GradCamOptions options_;
};

namespace detail {

/// The forward pass every CAM method starts with: checks `input`, runs `model` with `layer`
/// captured and checks that the layer's output is 4-D. With `needs_gradient`, runs with grad mode on
/// and makes sure the activation is part of an autograd graph (when the model's parameters are
/// frozen, through a requires-grad alias of the input); otherwise under NoGradGuard. The caller
/// must itself enable grad mode (torch::AutoGradMode) for whatever it computes from the result.
LayerForward cam_forward(const Model& model, const torch::Tensor& input, const std::string& layer, const char* method,
                         bool needs_gradient);

/// A layer's activation and the gradient of the target's scores with respect to it, both detached.
struct LayerGradient {
  torch::Tensor activation;  ///< [N, K, h, w]
  torch::Tensor gradient;    ///< ∂ score / ∂ activation, same shape
};

/// cam_forward with gradients, then activation_gradient for `target`'s scores: the shared first step
/// of Grad-CAM, Grad-CAM++ and LayerCAM.
LayerGradient layer_gradient(const Model& model, const torch::Tensor& input, const std::string& layer,
                             const Target& target, const char* method);

/// ∂ sum(scores) / ∂ activation, through the graph only down to the activation (no input or parameter
/// gradients). Throws when the scores do not depend on the activation.
torch::Tensor activation_gradient(const torch::Tensor& scores, const torch::Tensor& activation,
                                  const std::string& layer, const char* method, bool retain_graph = false);

/// Grad-CAM's map from the activation A [N, K, h, w] and its gradient G (same shape):
/// Σ_k mean_ij(G_k) · A_k, then ReLU when `relu`. Returns [N, 1, h, w].
torch::Tensor grad_cam_map(const torch::Tensor& activation, const torch::Tensor& gradient, bool relu);

/// Detaches a raw map [N, 1, h, w] and resizes it to the input's H×W unless `mode` is kNone.
torch::Tensor finish_cam_map(const torch::Tensor& map, const torch::Tensor& input, Upsample mode, const char* method);

}  // namespace detail
}  // namespace nn_interpretability
