// Feature permutation: one feature at a time shuffled across the batch.
#include "nn_interpretability/perturbation/feature_permutation.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

FeaturePermutation::FeaturePermutation(Model model, FeaturePermutationOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("FeaturePermutation", options_.engine_options());
}

torch::Tensor FeaturePermutation::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  TORCH_CHECK_VALUE(batch >= 2, "feature permutation shuffles features across the batch, so it needs at least 2 "
                    "examples, got ", batch);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const int64_t features = mask.features;
  const PerturbationEngine engine(model_, options_.engine_options());
  const auto long_options = input.options().dtype(at::kLong);
  // A derangement per feature: a random cyclic shift of a random order has no fixed point.
  at::Generator generator = detail::seeded_generator(static_cast<uint64_t>(options_.seed()));
  std::vector<torch::Tensor> sources;
  for (int64_t k = 0; k < features; ++k) {
    const torch::Tensor order = at::randperm(batch, generator, at::TensorOptions().dtype(at::kLong));
    const int64_t shift = 1 + at::randint(batch - 1, {1}, generator, at::TensorOptions().dtype(at::kLong)).item<int64_t>();
    torch::Tensor source = at::empty({batch}, at::TensorOptions().dtype(at::kLong));
    source.index_put_({order}, order.roll(shift));  // example order[j] takes order[j − shift]'s values
    sources.push_back(source);
  }
  const torch::Tensor source = at::stack(sources).to(input.device());  // [F, N]
  // Row r is (feature r / N, example r % N).
  const PerturbationRun run = engine.run(input, target, features * batch, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor feature = rows.div(batch, "floor");
        const torch::Tensor examples = rows.remainder(batch);
        std::vector<int64_t> shape(static_cast<size_t>(input.dim()), 1);
        shape[0] = count;
        const torch::Tensor permuted = mask.ids.index_select(0, examples) == feature.view(shape);
        const torch::Tensor donors = source.view({-1}).index_select(0, feature * batch + examples);
        return PerturbedRows{at::where(permuted, input.index_select(0, donors), input.index_select(0, examples)), examples};
      });
  const torch::Tensor drops = run.clean.scores.unsqueeze(1) - run.scores.view({features, batch}).t();
  torch::Tensor result = detail::features_to_input(drops, mask.ids).to(input.scalar_type());
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
