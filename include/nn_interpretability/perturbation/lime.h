#pragma once
// LIME (Ribeiro et al. 2016): a weighted linear surrogate fitted to random on/off coalitions.

#include <cstdint>
#include <functional>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/linear_surrogate.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

/// A LIME similarity: weights [R] ≥ 0 of perturbed rows [R, ...] given the rows they perturb
/// [R, ...] and their coalitions [R, F] (1 = feature on), e.g. an L2 kernel or a constant.
using SimilarityFunction =
    std::function<torch::Tensor(const torch::Tensor& originals, const torch::Tensor& perturbed, const torch::Tensor& coalitions)>;

struct LimeOptions : PerturbationOptionsBase<LimeOptions> {
  /// Coalitions evaluated per example.
  TORCH_ARG(int64_t, samples) = 200;
  /// Seed of the method's own generator.
  TORCH_ARG(int64_t, seed) = 0;
  /// The probability that a feature is on in a coalition.
  TORCH_ARG(double, probability) = 0.5;
  /// Similarity exp(−d² / (2 width²)) of a perturbed row to the input, d its cosine distance
  /// (Captum's default kernel, width 1). A width of 0 weights every row 1.
  TORCH_ARG(double, kernel_width) = 1.0;
  /// A similarity of your own instead of the cosine kernel (kernel_width is then unused).
  TORCH_ARG(SimilarityFunction, similarity) = nullptr;
  /// The surrogate: Captum's default is a lasso with α = 0.01.
  TORCH_ARG(SurrogateFit, fit) = SurrogateFit::kLasso;
  TORCH_ARG(double, alpha) = 0.01;
};

/// Coalitions z ∈ {0, 1}^F (each feature on with `probability`, seeded, shared by the batch); the
/// perturbed row keeps the input where z is on and the baseline elsewhere; the surrogate
/// v(z) ≈ b + Σ βᵢ zᵢ is fitted per example with the rows' similarities as weights; βᵢ go to
/// feature i's elements. Result shaped like the input. Cost: N × samples no-grad rows.
class Lime : public ModelAttribution {
 public:
  Lime(Model model, LimeOptions options = {});
  std::string name() const override { return "lime"; }
  std::string class_name() const override { return "Lime"; }
  const LimeOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  LimeOptions options_;
};

}  // namespace nn_interpretability
