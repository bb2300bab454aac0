#pragma once
// Feature ablation: each feature in turn replaced by the baseline.

#include <torch/types.h>

#include "nn_interpretability/core/attribution.h"
#include "nn_interpretability/perturbation/perturbation_options.h"

namespace nn_interpretability {

struct FeatureAblationOptions : PerturbationOptionsBase<FeatureAblationOptions> {};

/// For each feature k of the mask, the score drop f(x) − f(x with feature k set to the baseline),
/// given to every element of the feature (Captum's FeatureAblation). Result shaped like the input.
/// Cost: one no-grad forward of N × features rows.
class FeatureAblation : public ModelAttribution {
 public:
  FeatureAblation(Model model, FeatureAblationOptions options = {});
  std::string name() const override { return "feature_ablation"; }
  std::string class_name() const override { return "FeatureAblation"; }
  const FeatureAblationOptions& options() const { return options_; }

 protected:
  torch::Tensor compute(const torch::Tensor& input, const Target& target) override;

 private:
  FeatureAblationOptions options_;
};

}  // namespace nn_interpretability
