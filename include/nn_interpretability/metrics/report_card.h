#pragma once
// The report card: several methods evaluated by several metrics on one model and a set of inputs,
// as a table of means with standard errors, the time each cell took, and the data of its figure
// (the mean deletion and insertion curves, the maps of one example as the model is randomized).
// `nni evaluate` writes it as CSV, JSON and PNG (docs/report_card.md).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/model/model.h"
#include "nn_interpretability/registry/method_config.h"

namespace nn_interpretability {
namespace metrics {

/// A metric of the report card, by the name `nni evaluate --metrics` takes.
struct ReportMetric {
  std::string name;
  bool higher_is_better;
  std::string definition;  ///< one line: what the number is, with the settings the card uses
};

/// Every metric the report card knows, in a fixed order.
const std::vector<ReportMetric>& report_metrics();

/// A method to evaluate: a registered name and its options (CAM methods: the layer).
struct ReportMethod {
  std::string name;
  MethodConfig config;
};

/// Called after each (method, batch) with a short label, the steps done and the total.
using ReportProgress = std::function<void(const std::string& what, int64_t done, int64_t total)>;

struct ReportCardOptions {
  /// Names from report_metrics().
  TORCH_ARG(std::vector<std::string>, metrics) =
      std::vector<std::string>{"deletion", "insertion", "road", "mprt", "sparseness"};
  /// Examples explained and evaluated per call.
  TORCH_ARG(int64_t, batch_size) = 50;
  /// Every random draw of every metric derives from it.
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(ReportProgress, progress) = nullptr;
  /// For mprt on a model Model::deep_copy cannot copy: RandomizationOptions::copy.
  TORCH_ARG(std::function<Model()>, model_copy) = nullptr;
};

/// One cell: a metric of a method over the examples.
struct ReportCell {
  double mean = 0;
  double standard_error = 0;  ///< sample standard deviation / √count
  int64_t count = 0;          ///< examples with a value
  int64_t undefined = 0;      ///< examples whose value is undefined (a constant map under randomization)
  double seconds = 0;         ///< the metric's own time (the maps are computed once per method)
  std::string failure;        ///< why the cell has no value (the method or the metric threw); empty if none
};

struct ReportCard {
  std::vector<std::string> methods;
  std::vector<ReportMetric> metrics;
  std::vector<std::vector<ReportCell>> cells;  ///< [method][metric]
  std::vector<double> explain_seconds;         ///< per method: computing its maps
  int64_t examples = 0;
  /// Figure data, per method name: mean deletion / insertion curve [S + 1] over `curve_fractions`.
  torch::Tensor curve_fractions;
  std::map<std::string, torch::Tensor> deletion_curves, insertion_curves;
  /// The first example's maps as the model is randomized, cascading: [L + 1, H, W] (|Φ| summed over
  /// channels), with the layers randomized at each step.
  std::map<std::string, torch::Tensor> randomization_maps;
  std::vector<std::string> randomization_layers;
};

/// Evaluates each method on `inputs` [N, ...] for the classes `labels` [N] (an undefined tensor:
/// each example's predicted class). Maps smaller than the input (CAM methods at their layer) are
/// upsampled to it bilinearly for the metrics that remove pixels. A method or metric that throws
/// leaves its cells with the error message in `failure`, and the others run on.
ReportCard evaluate_methods(const Model& model, const torch::Tensor& inputs, const torch::Tensor& labels,
                            const std::vector<ReportMethod>& methods, const ReportCardOptions& options = {});

/// The table as CSV: method, metric, mean, standard_error, count, undefined, seconds, higher_is_better, failure.
std::string report_card_csv(const ReportCard& card);
/// The table, the timings and the curves as JSON.
std::string report_card_json(const ReportCard& card);

}  // namespace metrics
}  // namespace nn_interpretability
