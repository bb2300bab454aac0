// The CAM base and the steps every CAM method shares: the layers' forward pass, their gradients,
// the weighted channel sum or principal component, and the finish (ReLU, augmentation average,
// fusion of several layers, resize, finite check).
#include "nn_interpretability/cam/cam_method.h"

#include <memory>

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

bool all_captures_require_grad(const LayersForward& forward) {
  for (const LayerCapture& capture : forward.layers)
    for (const torch::Tensor& value : capture.values)
      if (!value.requires_grad()) return false;
  return true;
}

// Test-time augmentation (pytorch-grad-cam's default ttach transforms): horizontal flip off/on ×
// pixel values scaled by 1.0, 0.9, 1.1. The first block is the input itself, so the target can be
// resolved on it.
constexpr int64_t kAugmentations = 6;
constexpr double kAugmentationFactors[] = {1.0, 0.9, 1.1};

torch::Tensor augmented(const torch::Tensor& input) {
  const torch::Tensor flipped = input.flip({-1});
  std::vector<torch::Tensor> copies;
  for (const torch::Tensor& base : {input, flipped})
    for (double factor : kAugmentationFactors) copies.push_back(factor == 1.0 ? base : base * factor);
  return at::cat(copies, 0);
}

/// The maps of the six augmented copies [6 × N, 1, h, w], the flipped ones flipped back, averaged.
torch::Tensor deaugmented_mean(const torch::Tensor& maps, int64_t batch) {
  const torch::Tensor blocks = maps.view({kAugmentations, batch, maps.size(1), maps.size(2), maps.size(3)});
  const int64_t half = kAugmentations / 2;
  return (blocks.slice(0, 0, half).sum(0) + blocks.slice(0, half).flip({-1}).sum(0)) / kAugmentations;
}

}  // namespace

void check_cam_activation(const torch::Tensor& activation, const std::string& layer) {
  if (activation.dim() == 3) {
    TORCH_CHECK_VALUE(false, "layer '", layer, "' outputs shape ", activation.sizes(), ", not a 4-D [N, C, h, w] ",
                      "activation; for transformer tokens [N, tokens, C] give a reshape ",
                      "(LayerReshape::tokens(), --reshape vit)");
  }
  TORCH_CHECK_VALUE(activation.dim() == 4, "layer '", layer, "' outputs shape ", activation.sizes(),
                    "; CAM methods need a 4-D [N, C, h, w] activation");
}

LayersForward cam_forward(const Model& model, const torch::Tensor& input, const std::vector<LayerRequest>& layers,
                          bool needs_gradient) {
  if (!needs_gradient) {
    torch::NoGradGuard no_grad;
    return forward_with_layers(model, input, layers);
  }
  // Methods may be called inside a user's NoGradGuard; the guard restores the mode on every exit.
  torch::AutoGradMode grad_enabled(true);
  // The input as is suffices when parameters that require grad put the layers into a graph; when the
  // model is frozen (or hides its parameters), a requires-grad alias of the input does it instead.
  // Either way only the activations' gradients are ever computed.
  if (any_tensor_requires_grad(model)) {
    LayersForward result = forward_with_layers(model, input, layers);
    if (all_captures_require_grad(result)) return result;
  }
  LayersForward result = forward_with_layers(model, input.detach().requires_grad_(true), layers);
  for (const LayerCapture& capture : result.layers)
    for (const torch::Tensor& value : capture.values)
      TORCH_CHECK_VALUE(value.requires_grad(), "the output of layer '", capture.layer,
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

torch::Tensor grad_cam_weights(const torch::Tensor& gradient) { return gradient.mean({2, 3}, /*keepdim=*/true); }

torch::Tensor weighted_channel_sum(const torch::Tensor& weights, const torch::Tensor& activation) {
  return (weights * activation).sum(1, /*keepdim=*/true);
}

torch::Tensor min_max_scaled(const torch::Tensor& maps) {
  const torch::Tensor rows = maps.flatten(1);
  const std::vector<int64_t> shape(static_cast<size_t>(maps.dim()), 1);
  std::vector<int64_t> column = shape;
  column[0] = -1;
  const torch::Tensor low = std::get<0>(rows.min(1)).view(column);
  const torch::Tensor range = std::get<0>(rows.max(1)).view(column) - low;
  const torch::Tensor varies = range > 0;
  // Divide by 1 for flat maps, then zero them: no NaN.
  return (maps - low) / at::where(varies, range, at::ones_like(range)) * varies;
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

CamMethod::CamMethod(Model model, CamMapOptions options, const char* class_name, bool uses_gradients)
    : ModelAttribution(std::move(model)), map_options_(std::move(options)), uses_gradients_(uses_gradients) {
  TORCH_CHECK_VALUE(!map_options_.layers.empty(), class_name, ": no layer given (layer is required)");
  for (const std::string& layer : map_options_.layers)
    TORCH_CHECK_VALUE(!layer.empty(), class_name, ": a layer name is empty (layer is required)");
}

void CamMethod::require_one_layer(const char* class_name, const char* why) const {
  TORCH_CHECK_VALUE(map_options_.layers.size() == 1, class_name, " takes one layer, got ", map_options_.layers.size(),
                    ": ", why);
}

CamRideAlong CamMethod::ride_along(const torch::Tensor& /*rows*/) { return {}; }

void CamMethod::check_input_shape(const torch::Tensor& input) const {
  const char* needs = map_options_.upsample != Upsample::kNone ? "upsampling"
                      : map_options_.layers.size() > 1         ? "fusing several layers"
                      : map_options_.aug_smooth                ? "aug_smooth"
                                                               : nullptr;
  if (needs != nullptr)
    TORCH_CHECK_VALUE(input.dim() == 4, needs, " needs an image input [N, C, H, W], got shape ", input.sizes());
}

torch::Tensor CamMethod::reduce_channels(const torch::Tensor& weighted) const {
  if (map_options_.eigen_smooth) return detail::first_principal_component(weighted, /*center=*/true);
  return weighted.sum(1, /*keepdim=*/true);
}

std::vector<std::vector<torch::Tensor>> CamMethod::layer_maps(const torch::Tensor& rows, int64_t batch,
                                                               const std::vector<Target>& targets) {
  const std::vector<LayerRequest> requests(map_options_.layers.begin(), map_options_.layers.end());
  // Grad mode only for the capture and the gradients: the weights and maps are computed without it.
  LayersForward forward;
  std::vector<CamPass> passes(targets.size());
  std::vector<std::vector<torch::Tensor>> gradients(targets.size(), std::vector<torch::Tensor>(requests.size()));
  torch::Tensor ride_along_output;
  {
    torch::AutoGradMode grad_mode(uses_gradients_);
    const CamRideAlong ride = uses_gradients_ || requests.size() != 1 ? CamRideAlong{} : ride_along(rows);
    if (ride.copies > 0) {
      std::vector<int64_t> times(static_cast<size_t>(rows.dim()), 1);
      times[0] = 1 + ride.copies;
      auto changed = std::make_shared<bool>(false);
      LayerRequest request = LayerRequest(requests.front()).call(LayerCall::index(ride.call));
      request.replace([change = ride.change, changed](const torch::Tensor& output) {
        torch::Tensor result = change(output);
        if (!result.defined()) return output;
        *changed = true;
        return result;
      });
      forward = detail::cam_forward(model_, rows.repeat(times), {request}, /*needs_gradient=*/false);
      if (*changed && forward.layers.front().calls == ride.expected_calls) {
        const int64_t count = rows.size(0);
        ride_along_output = forward.output.slice(0, count).detach();
        forward.output = forward.output.slice(0, 0, count);
        forward.layers.front().values.front() = forward.layers.front().value().slice(0, 0, count);
      }
    }
    // Without copies, or when the layer ran another number of times than the copies were planned for.
    if (!ride_along_output.defined()) forward = detail::cam_forward(model_, rows, requests, uses_gradients_);
    std::vector<torch::Tensor> activations;
    for (const LayerCapture& capture : forward.layers) activations.push_back(capture.value());
    for (size_t t = 0; t < targets.size(); ++t) {
      CamPass& pass = passes[t];
      pass.input = rows;
      // Resolve "predicted" on the unaugmented rows (the first block); the copies keep that class.
      pass.target = targets[t].resolved(forward.output.slice(0, 0, batch));
      if (batch != rows.size(0)) pass.target = pass.target.repeated(batch, rows.size(0) / batch);
      // The scores are taken even where the weights do not use them (EigenCAM): a bad target is an error.
      const torch::Tensor scores = pass.target.scores(forward.output);
      if (!uses_gradients_) continue;
      TORCH_CHECK_VALUE(scores.requires_grad(), "the target's scores do not depend on layer '", requests.front().layer(),
                        "'");
      const bool more_targets = t + 1 < targets.size();
      gradients[t] = torch::autograd::grad({scores}, activations, {at::ones_like(scores)}, /*retain_graph=*/more_targets,
                                           /*create_graph=*/false, /*allow_unused=*/true);
      for (size_t i = 0; i < requests.size(); ++i)
        TORCH_CHECK_VALUE(gradients[t][i].defined(), "the target's scores do not depend on the output of layer '",
                          map_options_.layers[i], "' (is the layer on the path from the input to the output?)");
    }
  }
  torch::NoGradGuard no_grad;
  std::vector<CamLayer> layers(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    layers[i].name = map_options_.layers[i];
    layers[i].output = forward.layers[i].value().detach();
    layers[i].calls = forward.layers[i].calls;
    layers[i].activation = map_options_.reshape.apply(layers[i].output, rows, layers[i].name);
    detail::check_cam_activation(layers[i].activation, layers[i].name);
  }
  std::vector<std::vector<torch::Tensor>> maps(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    passes[t].output = forward.output.detach();
    passes[t].ride_along_output = ride_along_output;
    for (size_t i = 0; i < requests.size(); ++i) {
      CamLayer layer = layers[i];
      if (gradients[t][i].defined()) layer.gradient = map_options_.reshape.apply(gradients[t][i], rows, layer.name);
      const torch::Tensor weights = layer_weights(layer, passes[t]);
      // A 0-d weight is 1 (EigenCAM's): the activations as they are, without a multiplication.
      maps[t].push_back(reduce_channels(weights.dim() == 0 ? layer.activation : weights * layer.activation));
    }
  }
  return maps;
}

torch::Tensor CamMethod::finished_map(std::vector<torch::Tensor> maps, const torch::Tensor& input) const {
  const int64_t batch = input.size(0);
  for (torch::Tensor& map : maps) {
    if (map_options_.relu) map = map.clamp_min(0);
    if (map_options_.aug_smooth) map = detail::deaugmented_mean(map, batch);
  }
  torch::Tensor result;
  if (maps.size() == 1) {
    result = maps.front();
    if (map_options_.upsample != Upsample::kNone)
      result = upsample_map(result, {input.size(2), input.size(3)}, map_options_.upsample);
  } else {
    const Upsample mode = map_options_.upsample == Upsample::kNone ? Upsample::kBilinear : map_options_.upsample;
    for (const torch::Tensor& map : maps) {
      torch::Tensor scaled = detail::min_max_scaled(upsample_map(map, {input.size(2), input.size(3)}, mode));
      result = result.defined() ? result + scaled : scaled;
    }
    result = result / static_cast<double>(maps.size());
  }
  detail::check_finite_result(result, "the map");
  return result;
}

torch::Tensor CamMethod::compute(const torch::Tensor& input, const Target& target) {
  return compute_several(input, {target}).select(1, 0);
}

torch::Tensor CamMethod::compute_several(const torch::Tensor& input, const std::vector<Target>& targets) {
  const int64_t batch = input.size(0);
  std::vector<std::vector<torch::Tensor>> maps =
      layer_maps(map_options_.aug_smooth ? detail::augmented(input) : input, batch, targets);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> results;
  for (std::vector<torch::Tensor>& target_maps : maps) results.push_back(finished_map(std::move(target_maps), input));
  return results.size() == 1 ? results.front().unsqueeze(1) : at::stack(results, 1);
}

torch::Tensor GradientCamMethod::layer_weights(const CamLayer& layer, const CamPass& /*pass*/) {
  return channel_weights(layer.activation, layer.gradient);
}

}  // namespace nn_interpretability
