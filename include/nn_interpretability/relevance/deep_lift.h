#pragma once
// DeepLIFT (Shrikumar, Greenside & Kundaje, "Learning Important Features Through Propagating
// Activation Differences", ICML 2017) against a baseline: multipliers are propagated backward with
// the gradient through linear layers and with Δy/Δx (the rescale rule) through nonlinear ones, so
// the attributions (x − x₀) ⊙ m sum to f(x) − f(x₀) (summation to delta). Nonlinearities are found
// as autograd nodes (every ReLU, however called), not as modules, so a reused or functional ReLU is
// handled, unlike Captum's module hooks.

#include <string>
#include <utility>

#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/baseline.h"

namespace nn_interpretability {

enum class DeepLiftRule {
  kRescale,       ///< m = Δy / Δx at every elementwise nonlinearity (Captum's DeepLift)
  kRevealCancel,  ///< positive and negative input contributions apart at nonlinearities after a linear layer
};

struct DeepLiftOptions {
  /// The reference input: a number, a tensor broadcastable to the input (one row, or one per
  /// example), or the input blurred (Baseline::blurred). A distribution is DeepLiftShap's.
  TORCH_ARG(Baseline, baseline) = Baseline(0.0);
  TORCH_ARG(DeepLiftRule, rule) = DeepLiftRule::kRescale;
  /// |Δx| below this uses the gradient instead of Δy/Δx (Captum's eps).
  TORCH_ARG(double, epsilon) = 1e-10;
};

struct DeepLiftResult {
  torch::Tensor attributions;  ///< (x − x₀) ⊙ multipliers, shaped like the input
  torch::Tensor delta;         ///< per example: Σ attributions − (f(x) − f(x₀)); ~0 up to rounding
};

/// Cost: one forward and one backward pass of 2N rows (the batch and its baselines together).
///
///   nn_interpretability::DeepLift method(model, nn_interpretability::DeepLiftOptions().baseline(blurred));
///   torch::Tensor attributions = method.attribute(images, labels);
class DeepLift : public ModelAttribution {
 public:
  explicit DeepLift(Model model, DeepLiftOptions options = {});

  std::string name() const override { return "deep_lift"; }
  std::string class_name() const override { return "DeepLift"; }
  const DeepLiftOptions& options() const { return options_; }

  DeepLiftResult attribute_with_delta(const torch::Tensor& input, const Target& target = Target());

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  DeepLiftOptions options_;
};

namespace detail {
/// DeepLIFT of `input` [N, ...] against `baselines` [N, ...] (one per example), shared by DeepLift and
/// DeepLiftShap; `target` is resolved on the input's output.
DeepLiftResult deep_lift(const Model& model, const torch::Tensor& input, const torch::Tensor& baselines,
                         const Target& target, DeepLiftRule rule, double epsilon);
}  // namespace detail

}  // namespace nn_interpretability
