#pragma once
// The method registry: every public attribution method by its command-line name, built from one
// configuration struct. The `nni` tool uses it; so can any program that picks methods at run time.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/wrappers/smooth_grad.h"
#include "nn_interpretability/cam/upsample.h"

namespace nn_interpretability {

/// Everything any registered method may be configured with. Each method reads the fields that apply
/// to it and ignores the others; an unset optional field means "the method's own default".
///
/// Example:
///   auto config = nn_interpretability::MethodConfig().layer("layer4").upsample(Upsample::kBilinear);
///   auto method = nn_interpretability::make_method("grad_cam", model, config);
struct MethodConfig {
  // ---------------------------------------------------------------- CAM family
  /// The layer explained (cam, grad_cam, guided_grad_cam, grad_cam_pp, score_cam, layer_cam). Default: "".
  TORCH_ARG(std::string, layer) = "";
  /// Upsampling of the layer map; unset = the method's default (kNone; guided_grad_cam: kBilinear).
  TORCH_ARG(std::optional<Upsample>, upsample) = std::nullopt;
  /// ReLU on the map; unset = the method's default (true; cam: false).
  TORCH_ARG(std::optional<bool>, relu) = std::nullopt;
  /// Masked inputs per forward pass of score_cam. Default: 64.
  TORCH_ARG(int64_t, score_cam_batch_size) = 64;

  // ---------------------------------------------------------------- smoothgrad
  /// The method smoothgrad wraps (any registered name but smoothgrad). Default: "vanilla_gradient".
  TORCH_ARG(std::string, base) = "vanilla_gradient";
  /// Noisy copies per example. Default: 50.
  TORCH_ARG(int64_t, samples) = 50;
  /// Noise standard deviation as a fraction of each example's max − min. Default: 0.15.
  TORCH_ARG(double, noise_level) = 0.15;
  /// An absolute noise standard deviation, replacing noise_level when set. Default: unset.
  TORCH_ARG(std::optional<double>, stdev) = std::nullopt;
  /// mean (SmoothGrad), square (SmoothGrad²) or variance (VarGrad). Default: kMean.
  TORCH_ARG(SmoothGradVariant, variant) = SmoothGradVariant::kMean;
  /// Seed of smoothgrad's private generator; unset = the global generator. Default: unset.
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
  /// Noisy copies of each example per base call. Default: kAutomaticRowsPerCall (rows_per_call.h).
  TORCH_ARG(int64_t, samples_per_batch) = -1;

  // ---------------------------------------------------------------- integrated_gradients
  /// Points on the path. Default: 50.
  TORCH_ARG(int64_t, steps) = 50;
  /// Rows per forward/backward call (0 = all steps at once). Default: kAutomaticRowsPerCall.
  TORCH_ARG(int64_t, internal_batch_size) = -1;
};

/// One registered method.
struct MethodInfo {
  std::string name;     ///< the command-line name, e.g. "grad_cam"
  std::string summary;  ///< one line for `nni methods`
  bool needs_layer;     ///< MethodConfig::layer must be set
  /// The result is a layer map [N, 1, h, w] (shown as a heatmap overlay), not a per-pixel
  /// attribution of the input (shown with a diverging colormap). smoothgrad: false (its base decides).
  bool layer_map;
  std::function<std::shared_ptr<Attribution>(const Model&, const MethodConfig&)> make;
};

/// Every public attribution method, in a fixed order: the single list of the library's methods.
const std::vector<MethodInfo>& methods();

/// The registered method called `name`; throws a c10::ValueError listing the valid names if there is none.
const MethodInfo& method_info(const std::string& name);

/// The names of all registered methods, comma-separated (for messages).
std::string method_names();

/// Builds the method `name` for `model` from `config`. Throws a c10::ValueError listing the valid
/// names for an unknown method, or naming the problem for a missing layer or a bad smoothgrad base.
///
/// Example:
///   auto method = nn_interpretability::make_method(
///       "smoothgrad", model, nn_interpretability::MethodConfig().base("guided_backprop").samples(20).seed(0));
///   torch::Tensor attributions = method->attribute(images);
std::shared_ptr<Attribution> make_method(const std::string& name, const Model& model, const MethodConfig& config);

}  // namespace nn_interpretability
