#pragma once
// GradientSHAP (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions", the
// expected-gradients estimator of SHAP values; Captum's GradientShap): for each example x and each of
// `samples` draws, a baseline b from the baseline distribution, a point α ~ U(0, 1) on the path from
// b to the (noisy) input x̃ = x + ε, ε ~ N(0, stdev²), and
//
//   φ(x) = mean over draws of (x̃ − b) ⊙ ∂f/∂x (b + α (x̃ − b)).
//
// Its expectation is integrated gradients averaged over the baselines: for a linear model it is
// exactly (x − E[b]) ⊙ w when stdev is 0, whatever the draws.

#include <cstdint>
#include <string>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/core/rows_per_call.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {

struct GradientShapOptions {
  /// The baseline distribution: [B, ...] rows shaped like the input's rows (each draw picks one row
  /// uniformly), or any tensor broadcastable to one row (one baseline); undefined = one zero baseline.
  TORCH_ARG(torch::Tensor, baselines);
  /// Draws per example (Captum's n_samples).
  TORCH_ARG(int64_t, samples) = 5;
  /// Standard deviation of the Gaussian noise added to the input for each draw (absolute, as
  /// Captum's stdevs); 0 = none.
  TORCH_ARG(double, stdev) = 0.0;
  /// Draw s of every example comes from a private generator seeded by (seed, s): results do not
  /// depend on the chunking, the device or the global seed.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Given draws, to reproduce another tool's (each replaces the drawn one when defined): baseline
  /// rows [N, samples] int64, path points [N, samples] in [0, 1], noise [N, samples, ...] shaped like
  /// `samples` copies of each input row.
  TORCH_ARG(torch::Tensor, baseline_indices);
  TORCH_ARG(torch::Tensor, alphas);
  TORCH_ARG(torch::Tensor, noise);
  /// Rows per forward/backward call, whole draws of the batch (at least N rows per call); 0 = all at
  /// once; kAutomaticRowsPerCall = about 320 rows within `memory_budget`.
  TORCH_ARG(int64_t, rows_per_call) = kAutomaticRowsPerCall;
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
};

/// Result shaped like the input. Cost: samples × N forward and backward rows (plus one no-grad
/// forward of the batch when the target is the predicted class, resolved on the clean input).
///
///   nn_interpretability::GradientShap method(model, nn_interpretability::GradientShapOptions()
///                                                       .baselines(training_images.slice(0, 0, 20))
///                                                       .samples(50).stdev(0.09));
///   torch::Tensor phi = method.attribute(images, labels);
class GradientShap : public ModelAttribution {
 public:
  explicit GradientShap(Model model, GradientShapOptions options = {});
  std::string name() const override { return "gradient_shap"; }
  std::string class_name() const override { return "GradientShap"; }
  const GradientShapOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  GradientShapOptions options_;
};

}  // namespace nn_interpretability
