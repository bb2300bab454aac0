// Shapley values: sampled permutations, and exact by enumerating coalitions.
#include "nn_interpretability/perturbation/shapley_value_sampling.h"

#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "nn_interpretability/detail/perturbation_steps.h"
#include "nn_interpretability/detail/result_checks.h"

namespace nn_interpretability {

ShapleyValueSampling::ShapleyValueSampling(Model model, ShapleyValueSamplingOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("ShapleyValueSampling", options_.engine_options());
  TORCH_CHECK_VALUE(options_.samples() >= 1, "ShapleyValueSampling: samples must be >= 1, got ", options_.samples());
}

torch::Tensor ShapleyValueSampling::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const int64_t features = mask.features, samples = options_.samples();
  const PerturbationEngine engine(model_, options_.engine_options());
  const auto long_options = input.options().dtype(at::kLong);

  // Permutation s as ranks: rank[s][i] is feature i's position in it; step k turns on ranks ≤ k.
  at::Generator generator = detail::seeded_generator(static_cast<uint64_t>(options_.seed()));
  std::vector<torch::Tensor> orders;
  for (int64_t s = 0; s < samples; ++s) orders.push_back(at::randperm(features, generator, at::TensorOptions().dtype(at::kLong)));
  const torch::Tensor order = at::stack(orders).to(input.device());       // [S, F]: the feature at each step
  const torch::Tensor ranks = order.argsort(int64_t{1});                            // [S, F]
  const bool distribution = options_.baseline().is_distribution();
  torch::Tensor background, drawn;  // a distribution's rows, and the row each permutation uses
  torch::Tensor baseline;
  if (distribution) {
    background = options_.baseline().samples(input);
    drawn = at::randint(background.size(0), {samples}, generator, at::TensorOptions().dtype(at::kLong)).to(input.device());
  } else {
    baseline = options_.baseline().resolve(input);
  }
  // Steps per permutation: k = 0 .. F − 1 (features on: ranks ≤ k), plus k = −1 (none on) for
  // each permutation with a distribution, once per example otherwise.
  const int64_t steps = features + (distribution ? 1 : 0);
  const int64_t per_example = samples * steps + (distribution ? 0 : 1);
  const PerturbationRun run = engine.run(input, target, batch * per_example, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(per_example, "floor");
        const torch::Tensor within = rows.remainder(per_example);
        // Row `within` = s · steps + j; the extra row (fixed baseline) is the last, with nothing on.
        const torch::Tensor last = within == samples * steps;
        const torch::Tensor sample = within.div(steps, "floor").clamp_max(samples - 1);
        torch::Tensor step = within.remainder(steps) - (distribution ? 1 : 0);
        step = at::where(last, at::full_like(step, -1), step);
        const torch::Tensor present = ranks.index_select(0, sample) <= step.unsqueeze(1);  // [R, F]
        const torch::Tensor base = distribution ? background.index_select(0, drawn.index_select(0, sample))
                                                : baseline.index_select(0, examples);
        return PerturbedRows{detail::coalition_rows(input, mask.ids, present, examples, base), examples};
      });
  const torch::Tensor table = run.scores.view({batch, per_example});
  torch::Tensor walk;  // [N, S, F + 1]: the score after 0, 1, ..., F features on
  if (distribution) {
    walk = table.view({batch, samples, steps});
  } else {
    const torch::Tensor start = table.select(1, per_example - 1).view({batch, 1, 1}).expand({batch, samples, 1});
    walk = at::cat({start, table.slice(1, 0, samples * steps).view({batch, samples, steps})}, 2);
  }
  const torch::Tensor gains = walk.slice(2, 1) - walk.slice(2, 0, features);  // [N, S, F], by step
  torch::Tensor values = at::zeros({batch, samples, features}, gains.options());
  values.scatter_(2, order.unsqueeze(0).expand({batch, samples, features}), gains);
  torch::Tensor result = detail::features_to_input(values.mean(1), mask.ids).to(input.scalar_type());
  detail::check_finite_result(result, "the attributions");
  return result;
}

ShapleyValues::ShapleyValues(Model model, ShapleyValuesOptions options)
    : ModelAttribution(std::move(model)), options_(std::move(options)) {
  PerturbationEngine::check_options("ShapleyValues", options_.engine_options());
}

torch::Tensor ShapleyValues::compute(const torch::Tensor& input, const Target& target) {
  const int64_t batch = input.size(0);
  const ResolvedFeatureMask mask = options_.feature_mask().resolve(input);
  const int64_t features = mask.features;
  TORCH_CHECK_VALUE(features <= kMaxFeatures, "the feature mask (", options_.feature_mask().describe(), ") has ", features,
                    " features; exact Shapley values evaluate 2^F coalitions, so at most ", kMaxFeatures,
                    " are accepted: group elements into fewer features (FeatureMask::grid, a custom mask) or use "
                    "ShapleyValueSampling / KernelShap");
  const PerturbationEngine engine(model_, options_.engine_options());
  const auto long_options = input.options().dtype(at::kLong);
  const bool distribution = options_.baseline().is_distribution();
  const torch::Tensor background = distribution ? options_.baseline().samples(input) : options_.baseline().resolve(input);
  const int64_t backgrounds = distribution ? background.size(0) : 1;
  const int64_t coalitions = int64_t{1} << features;
  const int64_t per_example = coalitions * backgrounds;
  const torch::Tensor bits = at::pow(2, at::arange(features, long_options));  // [F]
  // Row r is (example, coalition, background row), background fastest.
  const PerturbationRun run = engine.run(input, target, batch * per_example, [&](int64_t first, int64_t count) {
        const torch::Tensor rows = at::arange(first, first + count, long_options);
        const torch::Tensor examples = rows.div(per_example, "floor");
        const torch::Tensor coalition = rows.remainder(per_example).div(backgrounds, "floor");
        const torch::Tensor present = coalition.unsqueeze(1).bitwise_and(bits.unsqueeze(0)) != 0;
        const torch::Tensor base = distribution ? background.index_select(0, rows.remainder(backgrounds))
                                                : background.index_select(0, examples);
        return PerturbedRows{detail::coalition_rows(input, mask.ids, present, examples, base), examples};
      });
  const torch::Tensor value = run.scores.view({batch, coalitions, backgrounds}).mean(2).to(at::kDouble);  // v(S)
  // Weights |S|! (F − |S| − 1)! / F! for the coalitions without i, paired with S ∪ i.
  std::vector<double> weight(static_cast<size_t>(features));
  for (int64_t size = 0; size < features; ++size)
    weight[size] = std::exp(std::lgamma(size + 1.0) + std::lgamma(features - size + 0.0) - std::lgamma(features + 1.0));
  const torch::Tensor all = at::arange(coalitions, long_options);
  const torch::Tensor sizes = at::zeros({coalitions}, long_options);
  torch::Tensor size_count = sizes.clone();
  for (int64_t i = 0; i < features; ++i) size_count += all.bitwise_and(int64_t{1} << i).ne(0).to(at::kLong);
  const torch::Tensor weights =
      at::tensor(weight, at::TensorOptions().dtype(at::kDouble)).to(input.device()).index_select(0, size_count.clamp_max(features - 1));
  std::vector<torch::Tensor> phi;
  for (int64_t i = 0; i < features; ++i) {
    const torch::Tensor without = all.bitwise_and(int64_t{1} << i).eq(0);
    const torch::Tensor subsets = all.masked_select(without);
    const torch::Tensor gains = value.index_select(1, subsets.bitwise_or(int64_t{1} << i)) - value.index_select(1, subsets);
    phi.push_back((gains * weights.index_select(0, subsets)).sum(1));
  }
  torch::Tensor result = detail::features_to_input(at::stack(phi, 1), mask.ids).to(input.scalar_type());
  detail::check_finite_result(result, "the attributions");
  return result;
}

}  // namespace nn_interpretability
