#pragma once
// The method registry: every public attribution method by its command-line name, with its schema
// (method_schema.h), built from a MethodConfig. The `nni` tool and the benchmark use it; so can any
// program that picks methods at run time.

#include <memory>
#include <string>
#include <vector>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/registry/method_config.h"
#include "nn_interpretability/registry/method_schema.h"

namespace nn_interpretability {

/// Every public attribution method, in a fixed order: the single list of the library's methods.
const std::vector<MethodInfo>& methods();

/// The registered method called `name`; throws a c10::ValueError listing the valid names if there is none.
const MethodInfo& method_info(const std::string& name);

/// The names of all registered methods, comma-separated (for messages).
std::string method_names();

/// The options that apply to method `name` under `config`: its own, and for each kMethod option
/// (smoothgrad's base) the named method's, recursively. Names are unique.
std::vector<OptionSchema> applicable_options(const std::string& name, const MethodConfig& config);

/// The options set in `config` that method `name` (with its base) does not have: the ones it ignores.
std::vector<std::string> unused_options(const std::string& name, const MethodConfig& config);

/// Checks `config` against method `name`'s schema (types, ranges, choices, exclusions, required
/// options, kMethod names), then builds it. Throws a c10::ValueError naming the method and the option:
/// an unknown method (listing the valid names), a missing layer, a bad value.
///
/// Example:
///   auto method = nn_interpretability::make_method(
///       "smoothgrad", model,
///       nn_interpretability::MethodConfig().set("base", "guided_backprop").set("samples", 20).set("seed", 0));
///   torch::Tensor attributions = method->attribute(images);
std::shared_ptr<Attribution> make_method(const std::string& name, const Model& model, const MethodConfig& config);

}  // namespace nn_interpretability
