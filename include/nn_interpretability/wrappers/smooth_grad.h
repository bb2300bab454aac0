#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include <c10/util/Optional.h>
#include <torch/arg.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/core/rows_per_call.h"

namespace nn_interpretability {

/// How the attributions of the noisy copies are combined.
enum class SmoothGradVariant {
  kMean,      ///< SmoothGrad: mean of the attributions
  kSquare,    ///< SmoothGrad²: mean of the squared attributions
  kVariance,  ///< VarGrad: variance of the attributions (population variance)
};

struct SmoothGradOptions {
  /// Noisy copies per example.
  TORCH_ARG(int64_t, samples) = 50;
  /// Noise standard deviation as a fraction of each example's (max − min), as in the paper.
  TORCH_ARG(double, noise_level) = 0.15;
  /// An absolute noise standard deviation; when set it replaces `noise_level`.
  TORCH_ARG(c10::optional<double>, stdev) = c10::nullopt;
  TORCH_ARG(SmoothGradVariant, variant) = SmoothGradVariant::kMean;
  /// Rows (noisy inputs) per call of the base method, rounded down to whole noisy copies of the
  /// batch (at least one copy, N rows); 0 = all samples in one call; kAutomaticRowsPerCall (the
  /// default) = about 320 rows within `memory_budget` (rows_per_call.h).
  TORCH_ARG(int64_t, rows_per_call) = kAutomaticRowsPerCall;
  /// Input bytes per call the automatic choice stays within; activation memory grows in proportion.
  TORCH_ARG(int64_t, memory_budget) = kDefaultRowsPerCallBudget;
  /// Seed of a private generator, for reproducible noise; unset = the global generator.
  TORCH_ARG(c10::optional<uint64_t>, seed) = c10::nullopt;
};

/// SmoothGrad over any attribution method: the base method's attributions averaged over noisy
/// copies of the input (x + N(0, σ²)). The target is resolved once on the clean input, so
/// "predicted class" means the clean input's prediction for every noisy copy.
/// Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017; VarGrad: Adebayo et al. 2018.
///
/// Example:
///   nn_interpretability::SmoothGrad method(nn_interpretability::GuidedBackprop(model),
///                                          nn_interpretability::SmoothGradOptions().samples(50).seed(0));
///   torch::Tensor attributions = method.attribute(images, labels);
class SmoothGrad : public Attribution {
 public:
  SmoothGrad(std::shared_ptr<Attribution> base, SmoothGradOptions options = {});

  /// Wraps a copy of any method, e.g. `SmoothGrad(GuidedBackprop(model))`.
  template <typename Method, typename = std::enable_if_t<std::is_base_of<Attribution, Method>::value>>
  explicit SmoothGrad(Method base, SmoothGradOptions options = {})
      : SmoothGrad(std::make_shared<Method>(std::move(base)), std::move(options)) {}

  std::string name() const override { return "smoothgrad"; }
  std::string class_name() const override { return "SmoothGrad"; }

  const Model& model() const override { return base_->model(); }
  Attribution& base() const { return *base_; }
  const SmoothGradOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  std::shared_ptr<Attribution> base_;
  SmoothGradOptions options_;
};

}  // namespace nn_interpretability
