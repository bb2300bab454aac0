#pragma once
// Max-sensitivity and average sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity
// of Explanations"): how much an explanation changes when the input moves a little,
//
//   sens_s = ‖Φ(x + δ_s) − Φ(x)‖_F / ‖Φ(x)‖_F,   δ_s ~ U([−r, r]^d)  (s = 1 .. S),
//
// and their maximum and mean over the S samples. Captum's sensitivity_max computes the maximum with
// the same default perturbation (uniform in the L∞ ball of radius 0.02, 10 samples); Quantus's
// MaxSensitivity / AvgSensitivity normalise the maps by their maximum first (scale-free as here, but
// not identical). Small is good: a robust explanation.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/metrics/explainer.h"
#include "nn_interpretability/model/model.h"

namespace nn_interpretability {
namespace metrics {

struct SensitivityOptions {
  /// r: each element of δ is uniform in [−r, r].
  TORCH_ARG(double, radius) = 0.02;
  /// S: perturbed copies per example.
  TORCH_ARG(int64_t, samples) = 10;
  /// The perturbations δ themselves, [N, S, ...] or [S, ...] for all examples (then `radius` and
  /// `samples` are not used): to reproduce another tool's draws or to use another distribution.
  TORCH_ARG(torch::Tensor, perturbations) = torch::Tensor();
  /// Perturbed inputs explained per call (explanations need gradients: this bounds memory).
  TORCH_ARG(int64_t, rows_per_call) = 64;
  /// δ of example e, sample s is drawn from its own generator seeded by (seed, e, s): the same
  /// whatever rows_per_call, the device or the global seed.
  TORCH_ARG(uint64_t, seed) = 0;
};

struct Sensitivity {
  torch::Tensor samples;  ///< [N, S] float64: sens_s for each example
  torch::Tensor max;      ///< [N]: max-sensitivity
  torch::Tensor mean;     ///< [N]: average sensitivity
};

/// Explains `input` and its perturbed copies with `explain` for the same classes (`target` is
/// resolved once on the clean input: a predicted class stays that class on every copy). An
/// explanation that is all zero on the clean input is refused: its relative change is undefined.
Sensitivity sensitivity(const Model& model, const torch::Tensor& input, const Target& target, const Explainer& explain,
                        const SensitivityOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
