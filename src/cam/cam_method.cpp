// The CAM base and the steps every CAM method shares: the layer forward pass, the activation
// gradient, the weighted channel sum and the finish (ReLU, resize, finite check).
#include "nn_interpretability/cam/cam_method.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {
namespace detail {
namespace {

bool any_tensor_requires_grad(const Model& model) {
  for (const auto& tensor : model.backend().tensors())
    if (tensor.requires_grad()) return true;
  return false;
}

}  // namespace

void check_cam_activation(const torch::Tensor& activation, const std::string& layer) {
  TORCH_CHECK_VALUE(activation.dim() == 4, "layer '", layer, "' outputs shape ", activation.sizes(),
                    "; CAM methods need a 4-D [N, C, h, w] activation");
}

LayerForward cam_forward(const Model& model, const torch::Tensor& input, const std::string& layer,
                         bool needs_gradient) {
  if (!needs_gradient) {
    torch::NoGradGuard no_grad;
    LayerForward result = forward_with_layer(model, input, layer);
    check_cam_activation(result.activation, layer);
    return result;
  }
  // Methods may be called inside a user's NoGradGuard; the guard restores the mode on every exit.
  torch::AutoGradMode grad_enabled(true);
  // The input as is suffices when parameters that require grad put the layer into a graph; when the
  // model is frozen (or hides its parameters), a requires-grad alias of the input does it instead.
  // Either way only the activation's gradient is ever computed.
  LayerForward result;
  if (any_tensor_requires_grad(model)) {
    result = forward_with_layer(model, input, layer);
    check_cam_activation(result.activation, layer);
    if (result.activation.requires_grad()) return result;
  }
  result = forward_with_layer(model, input.detach().requires_grad_(true), layer);
  check_cam_activation(result.activation, layer);
  TORCH_CHECK_VALUE(result.activation.requires_grad(), "the output of layer '", layer,
                    "' is not part of an autograd graph (does the model detach it or run under NoGradGuard?)");
  return result;
}

torch::Tensor activation_gradient(const torch::Tensor& scores, const torch::Tensor& activation,
                                  const std::string& layer, bool retain_graph) {
  TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on layer '", layer, "'");
  auto gradients = torch::autograd::grad({scores}, {activation}, {at::ones_like(scores)}, retain_graph,
                                         /*create_graph=*/false, /*allow_unused=*/true);
  TORCH_CHECK_VALUE(gradients[0].defined(), "the target's scores do not depend on the output of layer '", layer,
                    "' (is the layer on the path from the input to the output?)");
  return gradients[0];
}

LayerGradient layer_gradient(const Model& model, const torch::Tensor& input, const std::string& layer,
                             const Target& target) {
  torch::AutoGradMode grad_enabled(true);
  LayerForward forward = cam_forward(model, input, layer, /*needs_gradient=*/true);
  torch::Tensor scores = target.scores(forward.output);
  torch::Tensor gradient = activation_gradient(scores, forward.activation, layer);
  return {forward.activation.detach(), gradient};
}

torch::Tensor grad_cam_weights(const torch::Tensor& gradient) { return gradient.mean({2, 3}, /*keepdim=*/true); }

torch::Tensor weighted_channel_sum(const torch::Tensor& weights, const torch::Tensor& activation) {
  return (weights * activation).sum(1, /*keepdim=*/true);
}

torch::Tensor finish_cam_map(torch::Tensor map, const torch::Tensor& input, const CamMapOptions& options) {
  if (options.relu) map = map.clamp_min(0);
  map = map.detach();
  if (options.upsample != Upsample::kNone) {
    TORCH_CHECK_VALUE(input.dim() == 4, "upsampling needs an image input [N, C, H, W], got shape ", input.sizes());
    map = upsample_map(map, {input.size(2), input.size(3)}, options.upsample);
  }
  check_finite_result(map, "the map");
  return map;
}

}  // namespace detail

CamMethod::CamMethod(Model model, CamMapOptions options)
    : ModelAttribution(std::move(model)), map_options_(std::move(options)) {}

torch::Tensor CamMethod::compute(const torch::Tensor& input, const Target& target) {
  return detail::finish_cam_map(raw_map(input, target), input, map_options_);
}

torch::Tensor GradientCamMethod::raw_map(const torch::Tensor& input, const Target& target) {
  detail::LayerGradient layer = detail::layer_gradient(model_, input, map_options().layer, target);
  return detail::weighted_channel_sum(channel_weights(layer.activation, layer.gradient), layer.activation);
}

}  // namespace nn_interpretability
