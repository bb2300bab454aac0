#pragma once
// Infidelity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of Explanations"): how far the
// explanation Φ is from predicting the score's change under a random perturbation I of the input,
//
//   INFD = E_I[(Iᵀ Φ − (f(x) − f(x − I)))²],  estimated over S draws of I.
//
// Small is good. Captum's `infidelity` computes the same expectation (with normalize, the same β
// scaling); its perturbation is a function the user writes, here one of the paper's two:
// Gaussian noise, or removing a random square (x − I is the baseline on the square, x elsewhere).

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/target.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/perturbation/baseline.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {

enum class InfidelityPerturbation {
  kGaussian,       ///< I ~ N(0, noise_std² Id)
  kSquareRemoval,  ///< a square of `square` pixels per side at a uniform position is set to the baseline
};

struct InfidelityOptions {
  TORCH_ARG(InfidelityPerturbation, perturbation) = InfidelityPerturbation::kGaussian;
  /// kGaussian: the standard deviation of every element of I.
  TORCH_ARG(double, noise_std) = 0.1;
  /// kSquareRemoval: the square's side in pixels; 0: a quarter of the image's smaller side (at least 1).
  TORCH_ARG(int64_t, square) = 0;
  /// kSquareRemoval: what the square becomes (a scalar, a tensor or a blurred input).
  TORCH_ARG(Baseline, baseline) = Baseline(0.0);
  /// S: draws of I per example.
  TORCH_ARG(int64_t, samples) = 10;
  /// The perturbations I themselves, [N, S, ...] or [S, ...] for all examples (then `perturbation`
  /// and `samples` are not used): to reproduce another tool's draws or use another distribution.
  TORCH_ARG(torch::Tensor, perturbations) = torch::Tensor();
  /// Scale Φ by β = E[IᵀΦ · Δf] / E[(IᵀΦ)²] first (Captum's normalize; the paper's scale-free form):
  /// then maps that differ only by a factor, as CAM maps do, have the same infidelity.
  TORCH_ARG(bool, normalize) = false;
  /// Class targets scored as softmax probabilities rather than raw outputs (Captum: the forward's output).
  TORCH_ARG(bool, probabilities) = false;
  /// I of example e, draw s comes from its own generator seeded by (seed, e, s).
  TORCH_ARG(uint64_t, seed) = 0;
  /// The engine evaluating f(x − I): rows per forward call, memory budget, progress.
  TORCH_ARG(PerturbationEngineOptions, engine) = PerturbationEngineOptions();
};

/// [N] float64. `attributions` have the input's shape, or one channel of it (shared by the channels:
/// Iᵀ Φ sums I·Φ over the channels with Φ repeated).
torch::Tensor infidelity(const Model& model, const torch::Tensor& input, const Target& target,
                         const torch::Tensor& attributions, const InfidelityOptions& options = {});

}  // namespace metrics
}  // namespace nn_interpretability
