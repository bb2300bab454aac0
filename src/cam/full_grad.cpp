// FullGrad: input-gradient and bias-gradient terms of every bias layer, captured in one pass.
#include "nn_interpretability/cam/full_grad.h"

#include <algorithm>

#include <torch/autograd.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/nn/modules/batchnorm.h>

#include "nn_interpretability/detail/cam_steps.h"
#include "nn_interpretability/detail/result_checks.h"
#include "nn_interpretability/model/layer.h"

namespace nn_interpretability {
namespace {

enum class BiasKind { kNone, kConvolution, kLinear, kBatchNorm };

// Convolutions, linear layers and BatchNorm: the layers whose bias enters the decomposition exactly.
BiasKind kind_of(const std::string& type) {
  if (type.find("BatchNorm") != std::string::npos) return BiasKind::kBatchNorm;
  if (type.find("Conv") != std::string::npos) return BiasKind::kConvolution;
  if (type.find("Linear") != std::string::npos) return BiasKind::kLinear;
  return BiasKind::kNone;
}

// BatchNorm in eval mode, y = γ(x − μ)/√(σ² + ε) + β, has the effective bias β − γμ/√(σ² + ε).
torch::Tensor batch_norm_bias(const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& mean,
                              const torch::Tensor& variance, double eps, const std::string& layer) {
  TORCH_CHECK_VALUE(mean.defined() && variance.defined(), "layer '", layer, "' is a BatchNorm without running ",
                    "statistics (track_running_stats = false): it normalizes with the batch, which is not a bias");
  const torch::Tensor scale = (weight.defined() ? weight.detach() : at::ones_like(mean)) / (variance + eps).sqrt();
  return (bias.defined() ? bias.detach() : at::zeros_like(mean)) - mean * scale;
}

struct BiasLayer {
  std::string name;
  torch::Tensor bias;  // [K]
  bool last_dimension = false;  // a linear layer's bias runs along the output's last dimension
};

torch::Tensor tensor_attribute(const torch::jit::Module& module, const char* name) {
  if (!module.hasattr(name)) return torch::Tensor();
  const c10::IValue value = module.attr(name);
  return value.isTensor() ? value.toTensor() : torch::Tensor();
}

// A MultiheadAttention's out_proj is never called: the attention kernel reads its weights. Its
// bias (like in_proj_bias) has no output to capture, so the default layers leave it out.
bool inside_attention(const std::string& name, const std::vector<std::string>& attention_modules) {
  for (const std::string& attention : attention_modules)
    if (name.compare(0, attention.size() + 1, attention + ".") == 0) return true;
  return false;
}

std::vector<BiasLayer> torchscript_bias_layers(const torch::jit::Module& root, const std::vector<std::string>& wanted) {
  std::vector<BiasLayer> result;
  std::vector<std::string> attention_modules;
  for (const auto& item : root.named_modules()) {
    const auto type_name = item.value.type()->name();
    if (!item.name.empty() && type_name && type_name->qualifiedName().find("MultiheadAttention") != std::string::npos)
      attention_modules.push_back(item.name);
  }
  for (const auto& item : root.named_modules()) {
    if (item.name.empty()) continue;
    const bool listed = std::find(wanted.begin(), wanted.end(), item.name) != wanted.end();
    if (!wanted.empty() && !listed) continue;
    if (!listed && inside_attention(item.name, attention_modules)) continue;
    const auto type_name = item.value.type()->name();
    const std::string type = type_name ? type_name->qualifiedName() : "";
    const BiasKind kind = kind_of(type);
    if (kind == BiasKind::kNone && !listed) continue;
    torch::Tensor bias;
    if (kind == BiasKind::kBatchNorm) {
      const double eps = item.value.hasattr("eps") ? item.value.attr("eps").toDouble() : 1e-5;
      bias = batch_norm_bias(tensor_attribute(item.value, "weight"), tensor_attribute(item.value, "bias"),
                             tensor_attribute(item.value, "running_mean"), tensor_attribute(item.value, "running_var"),
                             eps, item.name);
    } else {
      bias = tensor_attribute(item.value, "bias");
    }
    if (!bias.defined()) {
      TORCH_CHECK_VALUE(!listed, "layer '", item.name, "' has no bias");
      continue;
    }
    result.push_back({item.name, bias.detach(), kind == BiasKind::kLinear});
  }
  return result;
}

double batch_norm_eps(const torch::nn::Module& module) {
  if (auto* norm = dynamic_cast<const torch::nn::BatchNorm1dImpl*>(&module)) return norm->options.eps();
  if (auto* norm = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&module)) return norm->options.eps();
  if (auto* norm = dynamic_cast<const torch::nn::BatchNorm3dImpl*>(&module)) return norm->options.eps();
  return 1e-5;
}

std::vector<BiasLayer> module_bias_layers(const torch::nn::Module& root, const std::vector<std::string>& wanted) {
  std::vector<BiasLayer> result;
  std::vector<std::string> attention_modules;
  for (const auto& item : root.named_modules("", /*include_self=*/false))
    if (item.value()->name().find("MultiheadAttention") != std::string::npos) attention_modules.push_back(item.key());
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    const bool listed = std::find(wanted.begin(), wanted.end(), item.key()) != wanted.end();
    if (!wanted.empty() && !listed) continue;
    if (!listed && inside_attention(item.key(), attention_modules)) continue;
    const torch::nn::Module& module = *item.value();
    const BiasKind kind = kind_of(module.name());
    if (kind == BiasKind::kNone && !listed) continue;
    auto find = [](const auto& dict, const char* name) {
      const auto* found = dict.find(name);
      return found ? *found : torch::Tensor();
    };
    const auto parameters = module.named_parameters(/*recurse=*/false);
    const auto buffers = module.named_buffers(/*recurse=*/false);
    torch::Tensor bias;
    if (kind == BiasKind::kBatchNorm) {
      bias = batch_norm_bias(find(parameters, "weight"), find(parameters, "bias"), find(buffers, "running_mean"),
                             find(buffers, "running_var"), batch_norm_eps(module), item.key());
    } else {
      bias = find(parameters, "bias");
    }
    if (!bias.defined()) {
      TORCH_CHECK_VALUE(!listed, "layer '", item.key(), "' has no bias");
      continue;
    }
    result.push_back({item.key(), bias.detach(), kind == BiasKind::kLinear});
  }
  return result;
}

std::vector<BiasLayer> bias_layers(const Model& model, const std::vector<std::string>& wanted) {
  std::vector<BiasLayer> result;
  if (const torch::jit::Module* module = model.backend().torchscript_module()) {
    result = torchscript_bias_layers(*module, wanted);
  } else if (const auto module = model.backend().module()) {
    result = module_bias_layers(*module, wanted);
  } else {
    TORCH_CHECK_VALUE(false, "the ", model.backend().describe(), " shows no layers, so their biases are unknown");
  }
  for (const std::string& name : wanted) {
    const bool found = std::any_of(result.begin(), result.end(), [&](const BiasLayer& l) { return l.name == name; });
    TORCH_CHECK_VALUE(found, "no layer named '", name, "'");
  }
  return result;
}

// ψ: |term| rescaled to [0, 1], summed over channels, at the term's resolution.
torch::Tensor scaled_channel_sum(const torch::Tensor& term, FullGradScaling scaling) {
  const torch::Tensor magnitude = term.abs();
  if (scaling == FullGradScaling::kPerExample) return detail::min_max_scaled(magnitude).sum(1, /*keepdim=*/true);
  const int64_t batch = term.size(0), channels = term.size(1);
  const torch::Tensor rows = magnitude.reshape({batch * channels, 1, term.size(2), term.size(3)});
  return detail::min_max_scaled(rows).view({batch, channels, term.size(2), term.size(3)}).sum(1, /*keepdim=*/true);
}

}  // namespace

FullGrad::FullGrad(Model model, FullGradOptions options) : ModelAttribution(std::move(model)), options_(std::move(options)) {
  TORCH_CHECK_VALUE(options_.upsample() != Upsample::kNone,
                    "FullGrad: upsample kNone is not possible (its terms come at different resolutions)");
  for (const std::string& layer : options_.layers())
    TORCH_CHECK_VALUE(!layer.empty(), "FullGrad: a layer name is empty");
}

void FullGrad::check_input_shape(const torch::Tensor& input) const {
  TORCH_CHECK_VALUE(input.dim() == 4, "the input must be an image batch [N, C, H, W], got shape ", input.sizes());
}

FullGradDecomposition FullGrad::decompose(const torch::Tensor& input, const Target& target) {
  return detail::naming_errors(class_name(), [&] {
    if (input.defined()) check_input_shape(input);
    model_.check_input(input, class_name().c_str());
    return decomposition(input, target);
  });
}

FullGradDecomposition FullGrad::decomposition(const torch::Tensor& input, const Target& target) {
  const std::vector<BiasLayer> layers = bias_layers(model_, options_.layers());
  TORCH_CHECK_VALUE(!layers.empty(), "the model has no convolution, linear or BatchNorm layer with a bias");
  if (model_.backend().is_training()) {
    for (const BiasLayer& layer : layers)
      TORCH_CHECK_VALUE(model_.backend().layer_type(layer.name).find("BatchNorm") == std::string::npos,
                        "the model is in training mode, where BatchNorm layer '", layer.name, "' normalizes with ",
                        "the batch's statistics, which are not a bias: call eval() first");
  }
  std::vector<LayerRequest> requests;
  for (const BiasLayer& layer : layers) requests.emplace_back(layer.name + "@all");
  torch::AutoGradMode grad_mode(true);
  const torch::Tensor alias = input.detach().requires_grad_(true);
  const LayersForward forward = forward_with_layers(model_, alias, requests);
  FullGradDecomposition result;
  result.scores = target.scores(forward.output);
  TORCH_CHECK_VALUE(result.scores.requires_grad(), "the target's scores do not depend on the input");
  std::vector<torch::Tensor> wrt{alias};
  for (const LayerCapture& capture : forward.layers)
    for (const torch::Tensor& value : capture.values) wrt.push_back(value);
  const std::vector<torch::Tensor> gradients =
      torch::autograd::grad({result.scores}, wrt, {at::ones_like(result.scores)}, /*retain_graph=*/false,
                            /*create_graph=*/false, /*allow_unused=*/true);
  torch::NoGradGuard no_grad;
  result.scores = result.scores.detach();
  TORCH_CHECK_VALUE(gradients[0].defined(), "the target's scores do not depend on the input");
  result.input_term = gradients[0] * input;
  size_t next = 1;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerCapture& capture = forward.layers[l];
    for (size_t call = 0; call < capture.values.size(); ++call, ++next) {
      const torch::Tensor& value = capture.values[call];
      const int64_t along = layers[l].last_dimension ? value.dim() - 1 : 1;
      TORCH_CHECK_VALUE(value.dim() >= 2 && value.size(along) == layers[l].bias.numel(), "layer '", layers[l].name,
                        "' outputs shape ", value.sizes(), ", which its bias of ", layers[l].bias.numel(),
                        " values does not match on dimension ", along);
      std::vector<int64_t> shape(static_cast<size_t>(value.dim()), 1);
      shape[static_cast<size_t>(along)] = -1;
      const torch::Tensor bias = layers[l].bias.to(value.options()).view(shape);
      // A layer the score does not depend on (an unused branch) has a zero term.
      result.bias_terms.push_back(gradients[next].defined() ? gradients[next] * bias : at::zeros_like(value));
      result.layers.push_back(capture.values.size() > 1 ? layers[l].name + "@" + std::to_string(call)
                                                        : layers[l].name);
    }
  }
  return result;
}

torch::Tensor FullGrad::compute(const torch::Tensor& input, const Target& target) {
  const FullGradDecomposition parts = decomposition(input, target);
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> size{input.size(2), input.size(3)};
  torch::Tensor map = scaled_channel_sum(parts.input_term, options_.scaling());
  for (const torch::Tensor& term : parts.bias_terms) {
    if (term.dim() != 4) continue;  // linear layers: no spatial map
    map = map + upsample_map(scaled_channel_sum(term, options_.scaling()), size, options_.upsample());
  }
  detail::check_finite_result(map, "the map");
  return map;
}

}  // namespace nn_interpretability
