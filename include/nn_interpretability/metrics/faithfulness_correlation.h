#pragma once
// Faithfulness correlation (Bhatt et al. 2020, "Evaluating and Aggregating Feature-based Model
// Explanations"): over R random subsets S of |S| pixels, the Pearson correlation between the
// attributions' sum over S and the score's drop when S is set to the baseline,
//
//   μ_F = corr_S( Σ_{i ∈ S} Φ_i ,  f(x) − f(x_{S ← baseline}) ).
//
// 1 is best: the map predicts what removing any set of pixels does. On a linear model with a zero
// baseline, Φ = w ⊙ x (its exact contributions) gives 1. Quantus's FaithfulnessCorrelation draws
// subsets of the flattened input's elements (each channel separately) and normalises the maps;
// here subsets are of pixels, all channels together, as the deletion curves remove them, and the
// correlation does not depend on the map's scale.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/perturbation/baseline.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {

struct FaithfulnessCorrelationOptions {
  /// R: random subsets per example (Quantus: 100).
  TORCH_ARG(int64_t, runs) = 100;
  /// |S| in pixels; 0: `subset_fraction` of the pixels (at least one).
  TORCH_ARG(int64_t, subset_size) = 0;
  TORCH_ARG(double, subset_fraction) = 0.1;
  /// What the subset's pixels become.
  TORCH_ARG(Baseline, baseline) = Baseline(0.0);
  /// Class targets scored as softmax probabilities rather than raw outputs.
  TORCH_ARG(bool, probabilities) = false;
  /// Subset r of example e comes from its own generator seeded by (seed, e, r).
  TORCH_ARG(uint64_t, seed) = 0;
  /// The subsets themselves, bool [N, R, P] or [R, P] over the P pixels (then `runs`, `subset_size`
  /// and `seed` are not used): to reproduce another tool's draws.
  TORCH_ARG(torch::Tensor, subsets) = torch::Tensor();
  TORCH_ARG(PerturbationEngineOptions, engine) = PerturbationEngineOptions();
};

/// [N] float64 in [−1, 1]. Pixels as in deletion_curve: the positions after the channel dimension
/// (elements for [N, F]); `attributions` have the input's shape or one channel of it. An example whose
/// score drops are all equal (the score does not depend on those pixels) or whose subset sums are all
/// equal (a constant map) has no correlation: it is refused, by name.
torch::Tensor faithfulness_correlation(const Model& model, const torch::Tensor& input, const Target& target,
                                       const torch::Tensor& attributions,
                                       const FaithfulnessCorrelationOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
