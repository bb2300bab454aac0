#pragma once
// Feature permutation: each feature in turn shuffled across the batch.

#include <cstdint>

#include <torch/arg.h>
#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct FeaturePermutationOptions : PerturbationOptionsBase<FeaturePermutationOptions> {
  /// Seed of the method's own generator (one permutation of the batch per feature).
  TORCH_ARG(int64_t, seed) = 0;
};

/// For each feature k, the batch's values of feature k are permuted among the examples (a random
/// permutation per feature, seeded, without fixed points so every example gets another's values);
/// example i's attribution for feature k is f(x_i) − f(x_i with feature k from example π_k(i))
/// (Captum's FeaturePermutation, which draws permutations that may keep an example in place). The
/// baseline option does not apply: the other examples are the baseline. Needs a batch of at least
/// two examples. Result shaped like the input. Cost: N × features no-grad rows.
class FeaturePermutation : public ModelAttribution {
 public:
  FeaturePermutation(Model model, FeaturePermutationOptions options = {});
  std::string name() const override { return "feature_permutation"; }
  std::string class_name() const override { return "FeaturePermutation"; }
  const FeaturePermutationOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  FeaturePermutationOptions options_;
};

}  // namespace nn_interpretability
