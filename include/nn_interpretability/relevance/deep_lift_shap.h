#pragma once
// DeepLiftShap (Lundberg & Lee 2017; Captum's DeepLiftShap): DeepLIFT against every baseline of a
// distribution, averaged — SHAP values under the assumption of independent features and a
// piecewise-linear model: φ(x) = mean_b (x − b) ⊙ m(x, b).

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/core/rows_per_call.h"
#include "nn_interpretability/relevance/deep_lift.h"

namespace nn_interpretability {

struct DeepLiftShapOptions {
  /// The baseline distribution [B, ...] shaped like input rows (required, B ≥ 1), or one baseline
  /// broadcastable to a row.
  TORCH_ARG(torch::Tensor, baselines);
  TORCH_ARG(DeepLiftRule, rule) = DeepLiftRule::kRescale;
  TORCH_ARG(double, epsilon) = 1e-10;
  /// Input rows (examples × baselines) per pass; each pass runs twice as many rows (with their
  /// baselines). 0 = all at once; kAutomaticRowsPerCall = within `memory_budget`.
  TORCH_ARG(int64_t, rows_per_call) = kAutomaticRowsPerCall;
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
};

/// Cost: N × B DeepLIFT rows (2 N B rows forward and backward).
///
///   nn_interpretability::DeepLiftShap method(model, nn_interpretability::DeepLiftShapOptions()
///                                                       .baselines(training_images.slice(0, 0, 16)));
class DeepLiftShap : public ModelAttribution {
 public:
  explicit DeepLiftShap(Model model, DeepLiftShapOptions options);

  std::string name() const override { return "deep_lift_shap"; }
  std::string class_name() const override { return "DeepLiftShap"; }
  const DeepLiftShapOptions& options() const { return options_; }

  /// The attributions and, per example, Σ attributions − (f(x) − mean_b f(b)).
  DeepLiftResult attribute_with_delta(const torch::Tensor& input, const Target& target = Target());

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  DeepLiftShapOptions options_;
};

}  // namespace nn_interpretability
