// The sanity checks: layers of a deep copy re-initialized in place (under no_grad, on the copy's own
// tensors), the maps compared with the similarity measures of similarity.h.
#include "nn_interpretability/metrics/randomization.h"

#include <cmath>
#include <limits>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/script.h>

#include "metric_checks.h"
#include "nn_interpretability/model/torchscript.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {
namespace {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// One module's own parameters and buffers (not its children's).
struct LayerTensors {
  std::string name;
  NamedTensors parameters;
  NamedTensors buffers;
};

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

/// The modules of `model` holding floating-point parameters, in module order; the root is "<root>".
std::vector<LayerTensors> parameter_layers(const Model& model) {
  std::vector<LayerTensors> layers;
  auto add = [&](std::string name, NamedTensors parameters, NamedTensors buffers) {
    bool floating = false;
    for (const auto& parameter : parameters) floating = floating || parameter.second.is_floating_point();
    if (floating) layers.push_back({name.empty() ? "<root>" : std::move(name), std::move(parameters), std::move(buffers)});
  };
  if (const auto module = model.backend().module()) {
    for (const auto& item : module->named_modules("", /*include_self=*/true)) {
      NamedTensors parameters, buffers;
      for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) parameters.emplace_back(p.key(), p.value());
      for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) buffers.emplace_back(b.key(), b.value());
      add(item.key(), std::move(parameters), std::move(buffers));
    }
  } else if (const torch::jit::Module* script = model.backend().torchscript_module()) {
    for (const auto& item : script->named_modules()) {
      NamedTensors parameters, buffers;
      for (const auto& p : item.value.named_parameters(/*recurse=*/false)) parameters.emplace_back(p.name, p.value);
      for (const auto& b : item.value.named_buffers(/*recurse=*/false)) buffers.emplace_back(b.name, b.value);
      add(item.name, std::move(parameters), std::move(buffers));
    }
  }
  return layers;
}

/// What reset_parameters() does for Linear, Conv and the norm layers, from `generator`.
void reinitialize(const LayerTensors& layer, at::Generator generator) {
  torch::NoGradGuard no_grad;
  auto fan_in = [](const torch::Tensor& weight) { return weight.numel() / weight.size(0); };
  int64_t layer_fan_in = 0;
  for (const auto& parameter : layer.parameters)
    if (parameter.second.dim() >= 2 && parameter.second.size(0) > 0) {
      layer_fan_in = fan_in(parameter.second);
      break;
    }
  auto uniform = [&](const torch::Tensor& tensor, int64_t fan) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan, 1)));
    tensor.copy_(at::empty(tensor.sizes(), at::TensorOptions().dtype(tensor.scalar_type())).uniform_(-bound, bound, generator));
  };
  for (const auto& parameter : layer.parameters) {
    const torch::Tensor& tensor = parameter.second;
    if (!tensor.is_floating_point() || tensor.numel() == 0) continue;
    if (tensor.dim() >= 2) uniform(tensor, fan_in(tensor));
    else if (layer_fan_in > 0) uniform(tensor, layer_fan_in);
    else tensor.fill_(ends_with(parameter.first, "weight") ? 1.0 : 0.0);
  }
  for (const auto& buffer : layer.buffers) {
    if (ends_with(buffer.first, "running_var")) buffer.second.fill_(1);
    else if (ends_with(buffer.first, "running_mean") || ends_with(buffer.first, "num_batches_tracked")) buffer.second.fill_(0);
  }
}

/// The maps compared: summed over the channels, absolute values first when asked.
torch::Tensor comparable(const torch::Tensor& maps, bool absolute, const char* metric) {
  torch::Tensor rows = detail::checked_rows(maps, metric).view(maps.sizes());
  if (absolute) rows = rows.abs();
  return rows.dim() >= 3 ? rows.sum(1) : rows;
}

MapSimilarity similarity_of(const torch::Tensor& original, const torch::Tensor& other, const SsimOptions& ssim_options,
                            const HogOptions& hog_options, const char* metric) {
  MapSimilarity result;
  const int64_t batch = original.size(0);
  result.spearman = spearman_correlation(original.reshape({batch, -1}), other.reshape({batch, -1}));
  if (original.dim() != 3) return result;
  // Quantus's normalise: each map over its largest |value|, so SSIM does not compare scales.
  auto normalised = [&](const torch::Tensor& maps) {
    const torch::Tensor largest = maps.abs().flatten(1).amax(1);
    detail::refuse_rows(largest == 0, metric, "the map is all zero (SSIM of a normalised map is undefined)");
    return maps / largest.view({batch, 1, 1});
  };
  result.ssim = ssim(normalised(original), normalised(other), ssim_options);
  const int64_t block = hog_options.pixels_per_cell() * hog_options.cells_per_block();
  if (original.size(1) >= block && original.size(2) >= block) result.hog = hog_similarity(original, other, hog_options);
  return result;
}

/// similarity_of, where pairs with a constant map get NaN when `constant_as_nan` (else they are refused).
MapSimilarity similarity(const torch::Tensor& original, const torch::Tensor& other, const SsimOptions& ssim_options,
                         const HogOptions& hog_options, bool constant_as_nan, const char* metric) {
  const int64_t batch = original.size(0);
  const torch::Tensor a = original.reshape({batch, -1}), b = other.reshape({batch, -1});
  const torch::Tensor constant = (a.amax(1) == a.amin(1)) | (b.amax(1) == b.amin(1));
  if (!constant_as_nan || !constant.any().item<bool>()) return similarity_of(original, other, ssim_options, hog_options, metric);
  const torch::Tensor kept = constant.logical_not().nonzero().flatten();
  MapSimilarity part;
  if (kept.numel() > 0)
    part = similarity_of(original.index_select(0, kept), other.index_select(0, kept), ssim_options, hog_options, metric);
  auto spread = [&](const torch::Tensor& values, bool defined) {
    if (!defined) return torch::Tensor();
    torch::Tensor full = at::full({batch}, std::numeric_limits<double>::quiet_NaN(), a.options().dtype(at::kDouble));
    if (kept.numel() > 0) full.index_copy_(0, kept, values.to(at::kDouble));
    return full;
  };
  // Which measures apply does not depend on the rows: the same as for the whole batch.
  const int64_t block = hog_options.pixels_per_cell() * hog_options.cells_per_block();
  const bool images = original.dim() == 3, hog = images && original.size(1) >= block && original.size(2) >= block;
  MapSimilarity result;
  result.spearman = spread(part.spearman, true);
  result.ssim = spread(part.ssim, images);
  result.hog = spread(part.hog, hog);
  return result;
}

/// Runs `body`, adding `context` to any error's message.
template <typename Body>
auto with_context(const std::string& context, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error& error) {
    TORCH_CHECK_VALUE(false, context, ": ", error.what_without_backtrace());
  }
}

}  // namespace

RandomizationResult model_parameter_randomization(const Model& model, const torch::Tensor& input, const Target& target,
                                                  const Explainer& explain, const RandomizationOptions& options) {
  const char* metric = "model_parameter_randomization";
  model.check_input(input, metric);
  TORCH_CHECK_VALUE(static_cast<bool>(explain), metric, ": the explainer is empty");
  const Target resolved = PerturbationEngine(model, PerturbationEngineOptions()).clean_pass(input, target).target;
  const torch::Tensor original_maps = explain(model, input, resolved);
  TORCH_CHECK_VALUE(original_maps.defined() && original_maps.dim() >= 2 && original_maps.size(0) == input.size(0), metric,
                    ": the explainer must return one map per example [N, ...], got shape ",
                    original_maps.defined() ? original_maps.sizes() : at::IntArrayRef{});
  const torch::Tensor original = comparable(original_maps, options.absolute(), metric);

  // A copy of its own: never a model sharing a tensor with the user's.
  auto make_copy = [&] {
    if (!options.copy()) return model.deep_copy();
    Model made = options.copy()();
    for (const torch::Tensor& mine : made.backend().tensors())
      for (const torch::Tensor& theirs : model.backend().tensors())
        TORCH_CHECK_VALUE(!mine.is_same(theirs) && (!mine.has_storage() || !theirs.has_storage() ||
                                                    mine.storage().data() != theirs.storage().data() || mine.numel() == 0),
                          metric, ": the model `copy` made shares its parameters or buffers with the model; it must ",
                          "build a new module (and load the weights into it)");
    return made;
  };
  Model copy = make_copy();
  std::vector<LayerTensors> layers = parameter_layers(copy);
  TORCH_CHECK_VALUE(!layers.empty(), metric, ": ", model.backend().describe(), " has no parameters to randomize");
  std::vector<std::string> order = options.layers();
  if (order.empty()) {
    for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) order.push_back(layer->name);
  }
  auto find = [&](const std::vector<LayerTensors>& in, const std::string& name) -> const LayerTensors& {
    for (const auto& layer : in)
      if (layer.name == name) return layer;
    std::string valid;
    for (const auto& layer : in) valid += (valid.empty() ? "" : ", ") + layer.name;
    TORCH_CHECK_VALUE(false, metric, ": no layer '", name, "' holds parameters; the layers are ", valid);
  };
  for (const auto& name : order) (void)find(layers, name);

  RandomizationResult result;
  result.layers = order;
  std::vector<torch::Tensor> spearman, ssim_values, hog_values, kept{original_maps.detach()};
  for (size_t step = 0; step < order.size(); ++step) {
    const std::string context = std::string(metric) + ": randomized " +
                                (options.order() == RandomizationOrder::kCascading ? "down to" : "only") + " layer '" +
                                order[step] + "'";
    if (options.order() == RandomizationOrder::kIndependent && step > 0) {
      copy = make_copy();
      layers = parameter_layers(copy);
    }
    reinitialize(find(layers, order[step]), detail::sample_generator(options.seed(), static_cast<int64_t>(step), 0));
    const torch::Tensor maps = with_context(context, [&] { return explain(copy, input, resolved); });
    TORCH_CHECK_VALUE(maps.defined() && maps.sizes() == original_maps.sizes(), context, ": the explainer returned shape ",
                      maps.defined() ? maps.sizes() : at::IntArrayRef{}, ", the original maps are ", original_maps.sizes());
    const MapSimilarity step_similarity = with_context(context, [&] {
      return similarity(original, comparable(maps, options.absolute(), metric), options.ssim(), options.hog(),
                        options.constant_as_nan(), metric);
    });
    spearman.push_back(step_similarity.spearman);
    if (step_similarity.ssim.defined()) ssim_values.push_back(step_similarity.ssim);
    if (step_similarity.hog.defined()) hog_values.push_back(step_similarity.hog);
    if (options.keep_maps()) kept.push_back(maps.detach());
  }
  result.similarity.spearman = at::stack(spearman);
  if (!ssim_values.empty()) result.similarity.ssim = at::stack(ssim_values);
  if (!hog_values.empty()) result.similarity.hog = at::stack(hog_values);
  if (options.keep_maps()) result.maps = at::stack(kept);
  return result;
}

RandomLogitResult random_logit(const Model& model, const torch::Tensor& input, const Target& target,
                               const Explainer& explain, const RandomLogitOptions& options) {
  const char* metric = "random_logit";
  model.check_input(input, metric);
  TORCH_CHECK_VALUE(static_cast<bool>(explain), metric, ": the explainer is empty");
  const CleanPass clean = PerturbationEngine(model, PerturbationEngineOptions()).clean_pass(input, target);
  const torch::Tensor classes = clean.target.class_indices(clean.output);
  TORCH_CHECK_VALUE(classes.defined() && clean.output.dim() == 2 && clean.output.size(1) >= 2, metric,
                    ": needs a classifier (output [N, classes], at least 2 classes) and a class target, got output ",
                    clean.output.sizes(), " and target ", target.describe());
  const int64_t batch = input.size(0), count = clean.output.size(1);
  const torch::Tensor own = classes.to(at::kCPU).to(at::kLong);
  torch::Tensor other = at::empty({batch}, at::kLong);
  for (int64_t e = 0; e < batch; ++e) {
    at::Generator generator = detail::sample_generator(options.seed(), e, 0);
    const int64_t drawn = at::randint(count - 1, {1}, generator, at::kLong).item<int64_t>();
    other[e] = drawn >= own[e].item<int64_t>() ? drawn + 1 : drawn;
  }
  RandomLogitResult result;
  result.classes = own;
  result.random = other;
  const torch::Tensor a = explain(model, input, Target(own.to(input.device())));
  const torch::Tensor b = explain(model, input, Target(other.to(input.device())));
  TORCH_CHECK_VALUE(a.defined() && b.defined() && a.sizes() == b.sizes() && a.dim() >= 2 && a.size(0) == batch, metric,
                    ": the explainer must return one map per example [N, ...] for both classes");
  result.similarity = similarity(comparable(a, options.absolute(), metric), comparable(b, options.absolute(), metric),
                                 options.ssim(), options.hog(), options.constant_as_nan(), metric);
  return result;
}

}  // namespace metrics
}  // namespace nn_interpretability
