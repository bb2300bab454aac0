// Feature ablation: one feature at a time replaced by the baseline.
#include "nn_interpretability/perturbation/feature_ablation.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

FeatureAblation::FeatureAblation(Model model, FeatureAblationOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("FeatureAblation", options_.engine_options());
  TORCH_CHECK_VALUE(!options_.baseline().is_distribution(), "FeatureAblation: a baseline distribution does not apply; ",
                    "give a scalar, a tensor or a blurred baseline");
}

torch::Tensor FeatureAblation::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const PerturbationEngine engine(model_, options_.engine_options());
  const torch::Tensor baseline = options_.baseline().resolve(input);
  const auto long_options = input.options().dtype(at::kLong);
  const int64_t features = mask.features;
  // Row r is (example r / F, feature r % F).
  const PerturbationRun run = engine.run(input, target, batch * features, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(features, "floor");
        const torch::Tensor feature = rows.remainder(features);
        std::vector<int64_t> shape(static_cast<size_t>(input.dim()), 1);
        shape[0] = count;
        const torch::Tensor ablated = mask.ids.index_select(0, examples) == feature.view(shape);
        return PerturbedRows{at::where(ablated, baseline.index_select(0, examples), input.index_select(0, examples)),
                             examples};
      });
  const torch::Tensor drops = run.clean.scores.unsqueeze(1) - run.scores.view({batch, features});
  torch::Tensor result = detail::features_to_input(drops, mask.ids).to(input.scalar_type());
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
