#pragma once
// The steps CAM methods share (CamMethod uses them; Guided Grad-CAM and Cam call them directly).
// Messages do not name the method: Attribution::attribute adds the class name.

#include <string>
#include <vector>

#include <torch/types.h>

#include "nn_interpretability/cam/cam_method.h"
#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/layer.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace detail {

/// Runs `model` on `input` with `layers` captured in one forward pass. With `needs_gradient`, runs
/// with grad mode on and makes sure every capture is part of an autograd graph (when the model's
/// parameters are frozen, through a requires-grad alias of the input); otherwise under NoGradGuard.
/// The activations are not checked (the caller rearranges them first).
LayersForward cam_forward(const Model& model, const torch::Tensor& input, const std::vector<LayerRequest>& layers,
                          bool needs_gradient);

/// Throws unless `activation` is a 4-D [N, C, h, w] tensor (with a hint for token-shaped outputs).
void check_cam_activation(const torch::Tensor& activation, const std::string& layer);

/// ∂ sum(scores) / ∂ activation, through the graph only down to the activation (no input or parameter
/// gradients). Throws when the scores do not depend on the activation.
torch::Tensor activation_gradient(const torch::Tensor& scores, const torch::Tensor& activation,
                                  const std::string& layer, bool retain_graph = false);

/// Grad-CAM's channel weights: the spatial mean of the gradient, [N, K, 1, 1].
torch::Tensor grad_cam_weights(const torch::Tensor& gradient);

/// Σ_k (weights ⊙ activation)_k as [N, 1, h, w]; `weights` broadcasts to the activation.
torch::Tensor weighted_channel_sum(const torch::Tensor& weights, const torch::Tensor& activation);

/// The first principal component of `weighted` [N, K, h, w] over the h·w positions, per example:
/// the [h·w, K] matrix M (centred per channel when `center`), its first right singular vector v,
/// the map M v as [N, 1, h, w], its sign flipped where |min| > |max| (the SVD's sign is arbitrary).
torch::Tensor first_principal_component(const torch::Tensor& weighted, bool center);

/// Each map [N, 1, h, w] scaled to [0, 1] per example by its min and max; a flat map gives zeros.
torch::Tensor min_max_scaled(const torch::Tensor& maps);

/// The final step of every CAM: ReLU when asked, then (unless kNone) resized to the input's H×W,
/// detached, and checked for NaN or Inf.
torch::Tensor finish_cam_map(torch::Tensor map, const torch::Tensor& input, const CamMapOptions& options);

}  // namespace detail
}  // namespace nn_interpretability
