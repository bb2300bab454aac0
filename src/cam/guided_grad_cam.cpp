#include "nn_interpretability/cam/guided_grad_cam.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "nn_interpretability/detail/input_gradient.h"
#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {

GuidedGradCam::GuidedGradCam(Model model, GuidedGradCamOptions options)
    : ModelAttribution(model),
      options_(std::move(options)),
      grad_cam_(model, GradCamOptions(options_.layer()).relu(options_.relu()).upsample(options_.upsample()).reshape(options_.reshape())),
      guided_backprop_(model) {
  TORCH_CHECK_VALUE(options_.upsample() != Upsample::kNone,
                    "GuidedGradCam: the Grad-CAM map must be upsampled to the input's size; Upsample::kNone is "
                    "not allowed");
  TORCH_CHECK_VALUE(options_.layers().size() == 1, "GuidedGradCam takes one layer, got ", options_.layers().size());
  TORCH_CHECK_VALUE(!options_.aug_smooth() && !options_.eigen_smooth(),
                    "GuidedGradCam: aug_smooth and eigen_smooth are not supported (the guided gradients are not "
                    "augmented); use them with GradCam");
}

void GuidedGradCam::check_input_shape(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(input.dim() == 4, "the input must be an image batch [N, C, H, W], got shape ", input.sizes());
}

torch::Tensor GuidedGradCam::compute(const torch::Tensor& input, const Target& target) {
  const std::string& layer = options_.layer();
  torch::AutoGradMode grad_enabled(true);
  // One forward pass on a requires-grad alias: it serves both gradients.
  torch::Tensor leaf = input.detach().requires_grad_(true);
  LayerForward forward = forward_with_layer(model_, leaf, layer);
  const LayerReshape& reshape = options_.reshape();
  detail::check_cam_activation(reshape.apply(forward.activation, input, layer), layer);
  torch::Tensor scores = target.scores(forward.output);
  TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on the input");

  // 1. Grad-CAM: the gradient down to the layer only, keeping the graph for the second pass.
  torch::Tensor layer_gradient =
      detail::activation_gradient(scores, forward.activation, layer, /*retain_graph=*/true);
  layer_gradient = reshape.apply(layer_gradient, input, layer);
  torch::Tensor activation = reshape.apply(forward.activation.detach(), input, layer);
  torch::Tensor map = detail::weighted_channel_sum(detail::grad_cam_weights(layer_gradient), activation);
  map = detail::finish_cam_map(map, input, options_.map_options());

  // 2. Guided backprop on the same graph: its ReLU nodes now pass only positive gradients.
  detail::apply_relu_rule(forward.output, detail::ReluGradientRule::kGuided);
  auto gradients = torch::autograd::grad({scores}, {leaf}, {at::ones_like(scores)}, /*retain_graph=*/false,
                                         /*create_graph=*/false, /*allow_unused=*/true);
  TORCH_CHECK_VALUE(gradients[0].defined(),
                    "the target's scores do not depend on the input through autograd (does the forward detach it "
                    "or run under NoGradGuard?)");
  return gradients[0] * map;
}

}  // namespace nn_interpretability
