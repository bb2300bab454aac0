#pragma once
// The interpretable models LIME (and, unregularized, KernelSHAP) fit: a weighted linear model of
// the score over binary feature indicators, in double precision on the CPU.

#include <cstdint>

#include <torch/types.h>

namespace nn_interpretability {

/// How the surrogate is fitted.
enum class SurrogateFit {
  kLeastSquares,  ///< weighted least squares (minimum-norm where under-determined)
  kRidge,         ///< + α ‖β‖², the weights normalised to sum to the number of samples
  kLasso,         ///< + α ‖β‖₁ on the mean weighted loss (scikit-learn's Lasso objective), by coordinate descent
};

/// Coefficients [F, K] (and the intercepts [K]) of y ≈ b + X β for the design X [M, F], targets
/// y [M, K] (K problems sharing X and the weights) and weights [M] ≥ 0; the intercept is not
/// penalized.
struct SurrogateCoefficients {
  torch::Tensor coefficients;  ///< [F, K], double, CPU
  torch::Tensor intercepts;    ///< [K]
};
SurrogateCoefficients fit_linear_surrogate(const torch::Tensor& design, const torch::Tensor& targets,
                                           const torch::Tensor& weights, SurrogateFit fit, double alpha);

}  // namespace nn_interpretability
