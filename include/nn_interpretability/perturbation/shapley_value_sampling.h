#pragma once
// Shapley value sampling (Castro et al. 2009) and exact Shapley values by enumeration.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct ShapleyValueSamplingOptions : PerturbationOptionsBase<ShapleyValueSamplingOptions> {
  /// Random permutations of the features.
  TORCH_ARG(int64_t, samples) = 25;
  /// Seed of the method's own generator (the global one is untouched): same seed, same result.
  TORCH_ARG(int64_t, seed) = 0;
};

/// For each of `samples` random permutations π of the mask's features, the features are switched
/// from the baseline to the input one by one in π's order; feature i's attribution is the mean of
/// its marginal score gains f(x_{S ∪ i}) − f(x_S). An unbiased estimate of the Shapley values: they
/// sum to f(x) − f(baseline) for every permutation. The permutations are shared by the batch; with a
/// baseline distribution each permutation draws one background row. Result shaped like the input
/// (each element carries its feature's value). Cost: N × (samples × features + 1) no-grad rows
/// (samples × (features + 1) with a distribution).
class ShapleyValueSampling : public ModelAttribution {
 public:
  ShapleyValueSampling(Model model, ShapleyValueSamplingOptions options = {});
  std::string name() const override { return "shapley_value_sampling"; }
  std::string class_name() const override { return "ShapleyValueSampling"; }
  const ShapleyValueSamplingOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  ShapleyValueSamplingOptions options_;
};

struct ShapleyValuesOptions : PerturbationOptionsBase<ShapleyValuesOptions> {};

/// Exact Shapley values over the mask's F features: every coalition S is evaluated once (2^F rows
/// per example, × B for a baseline distribution of B rows, whose scores are averaged), then
/// φ_i = Σ_{S ∌ i} |S|! (F − |S| − 1)! / F! · (v(S ∪ i) − v(S)). The same values as Captum's
/// ShapleyValues (all F! permutations) at 2^F instead of F! · F evaluations. Refuses more than
/// kMaxFeatures features. Result shaped like the input.
class ShapleyValues : public ModelAttribution {
 public:
  static constexpr int64_t kMaxFeatures = 16;
  ShapleyValues(Model model, ShapleyValuesOptions options = {});
  std::string name() const override { return "shapley_values"; }
  std::string class_name() const override { return "ShapleyValues"; }
  const ShapleyValuesOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  ShapleyValuesOptions options_;
};

}  // namespace nn_interpretability
