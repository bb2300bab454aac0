#pragma once
// The explanation method as the robustness and randomization metrics call it: they explain
// perturbed inputs, other targets and randomized copies of the model, so they take the method as
// a function of the model rather than a method built on one.

#include <functional>
#include <string>

#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/registry/method_config.h"

namespace nn_interpretability {
namespace metrics {

/// The attributions of `target` for `input` [N, ...] on `model` (the model evaluated, or a copy of
/// it with some layers randomized), shaped like the input or with one channel.
using Explainer = std::function<torch::Tensor(const Model& model, const torch::Tensor& input, const Target& target)>;

/// The registered method `name` (registry.h: "saliency", "grad_cam", ...) built with `config` on
/// whatever model it is given: the name is checked here, the options when the method is first built.
/// The method built last is kept for the next call on the same model (one build per randomized copy).
///
///   metrics::Explainer explain = metrics::registered_explainer("grad_cam", MethodConfig().set("layer", "features.8"));
Explainer registered_explainer(const std::string& name, const MethodConfig& config = MethodConfig());

}  // namespace metrics
}  // namespace nn_interpretability
