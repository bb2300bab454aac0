#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/model/model.h"
#include "nn_interpretability/core/rows_per_call.h"

namespace nn_interpretability {

namespace detail {
struct Quadrature;
}  // namespace detail

/// How the path integral from the baseline to the input is approximated.
enum class IntegrationRule {
  kRiemannLeft,       ///< alpha_k = k / n
  kRiemannRight,      ///< alpha_k = (k + 1) / n
  kRiemannMiddle,     ///< alpha_k = (k + 0.5) / n
  kRiemannTrapezoid,  ///< alpha_k = k / (n - 1), end points weighted by one half (n >= 2)
  kGaussLegendre,     ///< Gauss–Legendre nodes and weights on [0, 1] (Captum's default)
};

struct IntegratedGradientsOptions {
  /// Number of points on the path (gradient evaluations per example), 1..IntegratedGradients::kMaxSteps.
  TORCH_ARG(int64_t, steps) = 50;
  /// The quadrature rule.
  TORCH_ARG(IntegrationRule, rule) = IntegrationRule::kGaussLegendre;
  /// Rows per forward/backward call, rounded down to a multiple of the batch size N (at least one
  /// step, i.e. N rows, per call); 0 = all steps in one call (Captum's None);
  /// kAutomaticRowsPerCall (the default) = about 320 rows within `memory_budget` (rows_per_call.h).
  TORCH_ARG(int64_t, rows_per_call) = kAutomaticRowsPerCall;
  /// Input bytes per call the automatic choice stays within; activation memory grows in proportion.
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
  /// The baseline, broadcastable to the input (e.g. [1, C, H, W] or [N, C, H, W]); undefined = zeros.
  TORCH_ARG(torch::Tensor, baseline);
};

struct IntegratedGradientsResult {
  torch::Tensor attributions;  ///< shaped like the input
  /// Completeness error per example [N]: sum of attributions − (f(input) − f(baseline)).
  torch::Tensor convergence_delta;
};

/// Integrated gradients: (x − x') · ∫₀¹ ∂f(x' + α(x − x'))/∂x dα, approximated by a quadrature rule.
/// Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.
///
/// Example:
///   nn_interpretability::IntegratedGradients method(model, {});
///   auto [attributions, delta] = method.attribute_with_delta(images, labels);
class IntegratedGradients : public ModelAttribution {
 public:
  /// The most steps allowed (a larger value is refused at construction). The quadrature rule is
  /// computed once, here, in O(steps) (Gauss–Legendre too: Taylor series of P_n from root to root,
  /// see integrated_gradients.cpp); each call then costs O(steps) forward and backward rows.
  static constexpr int64_t kMaxSteps = 100000;

  explicit IntegratedGradients(Model model, IntegratedGradientsOptions options = {});

  std::string name() const override { return "integrated_gradients"; }
  std::string class_name() const override { return "IntegratedGradients"; }

  /// Attributions with the completeness error, which tells whether `steps` was enough.
  IntegratedGradientsResult attribute_with_delta(const torch::Tensor& input, const Target& target = Target());

  const IntegratedGradientsOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  // The attributions, and the delta when `with_delta` (two more forward passes: input, baseline).
  IntegratedGradientsResult integrate(const torch::Tensor& input, const Target& target, bool with_delta);

  IntegratedGradientsOptions options_;
  std::shared_ptr<const detail::Quadrature> quadrature_;  ///< nodes and weights, computed at construction
};

}  // namespace nn_interpretability
