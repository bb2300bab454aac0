// Grad-CAM, and the pieces every CAM method shares: the layer forward pass, the activation gradient
// and the final resize.
#include "nn_interpretability/grad_cam.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace nn_interpretability {
namespace detail {
namespace {

bool any_tensor_requires_grad(const Model& model) {
  for (const auto& tensor : model.backend().tensors())
    if (tensor.requires_grad()) return true;
  return false;
}

void check_activation(const torch::Tensor& activation, const std::string& layer, const char* method) {
  TORCH_CHECK_VALUE(activation.dim() == 4, method, ": layer '", layer, "' outputs shape ", activation.sizes(),
                    "; CAM methods need a 4-D [N, C, h, w] activation");
}

}  // namespace

LayerForward cam_forward(const Model& model, const torch::Tensor& input, const std::string& layer, const char* method,
                         bool needs_gradient) {
  model.check_input(input, method);
  if (!needs_gradient) {
    torch::NoGradGuard no_grad;
    LayerForward result = forward_with_layer(model, input, layer);
    check_activation(result.activation, layer, method);
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
    check_activation(result.activation, layer, method);
    if (result.activation.requires_grad()) return result;
  }
  result = forward_with_layer(model, input.detach().requires_grad_(true), layer);
  check_activation(result.activation, layer, method);
  TORCH_CHECK_VALUE(result.activation.requires_grad(), method, ": the output of layer '", layer,
                    "' is not part of an autograd graph (does the model detach it or run under NoGradGuard?)");
  return result;
}

torch::Tensor activation_gradient(const torch::Tensor& scores, const torch::Tensor& activation,
                                  const std::string& layer, const char* method, bool retain_graph) {
  TORCH_CHECK_VALUE(scores.requires_grad(), method, ": the target's scores do not depend on layer '", layer, "'");
  auto gradients = torch::autograd::grad({scores}, {activation}, {at::ones_like(scores)}, retain_graph,
                                         /*create_graph=*/false, /*allow_unused=*/true);
  TORCH_CHECK_VALUE(gradients[0].defined(), method, ": the target's scores do not depend on the output of layer '",
                    layer, "' (is the layer on the path from the input to the output?)");
  return gradients[0];
}

LayerGradient layer_gradient(const Model& model, const torch::Tensor& input, const std::string& layer,
                             const Target& target, const char* method) {
  torch::AutoGradMode grad_enabled(true);
  LayerForward forward = cam_forward(model, input, layer, method, /*needs_gradient=*/true);
  torch::Tensor scores = target.scores(forward.output);
  torch::Tensor gradient = activation_gradient(scores, forward.activation, layer, method);
  return {forward.activation.detach(), gradient};
}

torch::Tensor grad_cam_map(const torch::Tensor& activation, const torch::Tensor& gradient, bool relu) {
  torch::Tensor weights = gradient.mean({2, 3}, /*keepdim=*/true);  // [N, K, 1, 1]
  torch::Tensor map = (weights * activation).sum(1, /*keepdim=*/true);
  return relu ? map.clamp_min(0) : map;
}

torch::Tensor finish_cam_map(const torch::Tensor& map, const torch::Tensor& input, Upsample mode, const char* method) {
  torch::Tensor result = map.detach();
  if (mode == Upsample::kNone) return result;
  TORCH_CHECK_VALUE(input.dim() == 4, method, ": upsampling needs an image input [N, C, H, W], got shape ",
                    input.sizes());
  return upsample_map(result, {input.size(2), input.size(3)}, mode);
}

}  // namespace detail

torch::Tensor GradCam::attribute(const torch::Tensor& input, const Target& target) {
  const char* method = "GradCam";
  detail::LayerGradient layer = detail::layer_gradient(model_, input, options_.layer(), target, method);
  torch::Tensor map = detail::grad_cam_map(layer.activation, layer.gradient, options_.relu());
  return detail::finish_cam_map(map, input, options_.upsample(), method);
}

}  // namespace nn_interpretability
