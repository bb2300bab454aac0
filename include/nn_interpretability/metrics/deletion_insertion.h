#pragma once
// Deletion and insertion curves (Petsiuk et al. 2018): the target's score as the pixels an
// explanation ranks are removed from the input (deletion) or restored onto a baseline (insertion),
// and the area under each curve. A faithful explanation makes the deletion curve fall fast (small
// AUC) and the insertion curve rise fast (large AUC) when the most relevant pixels go first.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/perturbation/baseline.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {

/// Which pixels go first.
enum class RelevanceOrder {
  kMostRelevantFirst,   ///< MoRF: in decreasing attribution
  kLeastRelevantFirst,  ///< LeRF: in increasing attribution
};

struct CurveOptions {
  /// Pixels changed per step; 0: `step_fraction` of the pixels (at least one).
  TORCH_ARG(int64_t, step) = 0;
  /// Share of the pixels changed per step when `step` is 0.
  TORCH_ARG(double, step_fraction) = 0.05;
  TORCH_ARG(RelevanceOrder, order) = RelevanceOrder::kMostRelevantFirst;
  /// What a removed pixel becomes (deletion) or what the insertion curve starts from: a scalar, a
  /// tensor, per-example rows or Baseline::blurred(sigma) (Petsiuk et al.'s insertion baseline).
  TORCH_ARG(Baseline, baseline) = Baseline(0.0);
  /// Class targets scored as softmax probabilities (the paper's score) rather than raw outputs.
  TORCH_ARG(bool, probabilities) = true;
  /// The engine: rows per forward call, memory budget, progress.
  TORCH_ARG(PerturbationEngineOptions, engine) = PerturbationEngineOptions();
};

/// One curve per example.
struct Curve {
  torch::Tensor fractions;  ///< [S + 1] float64: the share of pixels changed at each point, 0 .. 1
  torch::Tensor scores;     ///< [N, S + 1] float64: the target's score at each point
  torch::Tensor auc;        ///< [N] float64: trapezoidal area under scores over fractions
};

/// Pixels are the positions over the dimensions after the channel one (elements for inputs [N, F]);
/// a pixel's relevance is its attributions summed over the channels. `attributions` have the
/// input's shape, or its shape with one channel (a CAM map upsampled to the input).
Curve deletion_curve(const Model& model, const torch::Tensor& input, const Target& target,
                     const torch::Tensor& attributions, const CurveOptions& options = {});
Curve insertion_curve(const Model& model, const torch::Tensor& input, const Target& target,
                      const torch::Tensor& attributions, const CurveOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
