#pragma once
// What a registered method is and takes: the one description from which the registry builds it,
// the command-line tool derives its flags, help and "does not apply" warnings, and the benchmark
// its cells (docs/adding_a_method.md).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/registry/method_config.h"

namespace nn_interpretability {

/// How an option's value is read and checked.
enum class OptionType {
  kBool,    ///< a flag; on the command line --name and --no-name
  kInt,     ///< an integer, within [minimum, maximum] when given
  kDouble,  ///< a real number, within [minimum, maximum] when given
  kString,  ///< a word, e.g. a layer name
  kChoice,  ///< one of `choices`
  kMethod,  ///< the name of another registered method (whose options then apply too)
};

/// One option of a method.
struct OptionSchema {
  std::string name;           ///< as MethodConfig spells it, snake_case; the command line uses --kebab-case
  OptionType type;
  std::string default_value;  ///< the method's default, as shown in help ("50", "automatic", "bilinear")
  std::string help;           ///< one line
  std::vector<std::string> choices;  ///< kChoice only
  std::optional<double> minimum;     ///< kInt, kDouble
  std::optional<double> maximum;     ///< kInt, kDouble
  std::string excludes;              ///< another option that cannot be set together with this one
  bool required = false;             ///< the method cannot be built without it (e.g. a CAM's layer)
};

/// What a method returns.
enum class ResultKind {
  kInputShaped,     ///< one value per input element, [N, C, H, W] for images
  kChannelReduced,  ///< the channel dimension reduced to 1, [N, 1, H, W]
  kLayerMap,        ///< a layer-resolution map [N, 1, h, w] (or upsampled [N, 1, H, W]); shown as a heatmap
  kFromBase,        ///< whatever the wrapped method (a kMethod option) returns
};

/// What one call of a method costs, in plain passes of the model on the same batch of N rows: the
/// floor the benchmark times it against (bench/, docs/benchmarks.md), and the ratio it is held to.
struct MethodCost {
  enum class Floor {
    kForwardBackward,  ///< a forward with autograd and a backward to the input (gradient methods)
    kForward,          ///< a forward under NoGradGuard (gradient-free methods)
  };
  Floor floor = Floor::kForwardBackward;
  /// An option whose value multiplies the floor's rows ("steps": IG's path points, "samples":
  /// SmoothGrad's copies); empty: N rows.
  std::string rows_option;
  /// The floor runs (the layer's channels) × N rows: one perturbed pass per channel and example.
  bool rows_per_channel = false;
  /// The method's time over the floor's that it should stay within.
  double target_ratio = 1.10;
  /// The floor runs this many × N rows (DeepLIFT: 2, each example with its baseline).
  int64_t rows_factor = 1;
  /// Perturbation methods: the perturbed rows one call evaluates for `input` (the floor's rows).
  std::function<int64_t(const Attribution& method, const torch::Tensor& input)> perturbed_rows;
};

/// One registered method.
struct MethodInfo {
  std::string name;        ///< the command-line name, e.g. "grad_cam"
  std::string class_name;  ///< the C++ class, e.g. "GradCam"
  std::string summary;     ///< one line for `nni methods`
  ResultKind result = ResultKind::kInputShaped;
  std::vector<OptionSchema> options;
  /// Builds the method; the config's values have been checked against `options`.
  std::function<std::shared_ptr<Attribution>(const Model&, const MethodConfig&)> make;

  MethodCost cost;           ///< what one call costs (the benchmark's floor and target)

  bool needs_layer = false;  ///< derived: a required "layer" option
  bool layer_map = false;    ///< derived: result == kLayerMap

  /// The option called `name`, or nullptr.
  const OptionSchema* option(const std::string& name) const;
};

}  // namespace nn_interpretability
