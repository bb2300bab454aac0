#pragma once
// KernelSHAP (Lundberg & Lee 2017): Shapley values as a weighted linear fit over random coalitions.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/linear_surrogate.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct KernelShapOptions : PerturbationOptionsBase<KernelShapOptions> {
  /// Coalitions evaluated per example (the first two are all features on and all off).
  TORCH_ARG(int64_t, samples) = 200;
  /// Seed of the method's own generator.
  TORCH_ARG(int64_t, seed) = 0;
  /// The linear fit: least squares (the method's definition) or a regularized one.
  TORCH_ARG(SurrogateFit, fit) = SurrogateFit::kLeastSquares;
  TORCH_ARG(double, alpha) = 0.0;
};

/// Coalitions z ∈ {0, 1}^F drawn from the Shapley kernel: the size k with probability
/// ∝ (F − 1) / (k (F − k)), then k features uniformly (Captum's sampler, so every drawn row has
/// weight 1; the all-on and all-off rows get weight 10⁶ to pin the fit's ends). The linear model
/// v(z) ≈ φ₀ + Σ φᵢ zᵢ is fitted by weighted least squares (in double precision, per example, on
/// the coalitions the batch shares); φᵢ go to feature i's elements. As samples grow the values
/// converge to the Shapley values. Result shaped like the input. Cost: N × samples no-grad rows.
class KernelShap : public ModelAttribution {
 public:
  KernelShap(Model model, KernelShapOptions options = {});
  std::string name() const override { return "kernel_shap"; }
  std::string class_name() const override { return "KernelShap"; }
  const KernelShapOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  KernelShapOptions options_;
};

}  // namespace nn_interpretability
