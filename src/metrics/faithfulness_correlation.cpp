// Faithfulness correlation on the perturbation engine: row r of the work list is example r / R with
// subset r % R set to the baseline.
#include "nn_interpretability/metrics/faithfulness_correlation.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"

namespace nn_interpretability {
namespace metrics {

torch::Tensor faithfulness_correlation(const Model& model, const torch::Tensor& input, const Target& target,
                                       const torch::Tensor& attributions,
                                       const FaithfulnessCorrelationOptions& options) {
  const char* metric = "faithfulness_correlation";
  model.check_input(input, metric);
  PerturbationEngine::check_options(metric, options.engine());
  TORCH_CHECK_VALUE(!options.baseline().is_distribution(), metric, ": a baseline distribution does not apply; give a ",
                    "scalar, a tensor or a blurred baseline");
  const int64_t batch = input.size(0);
  const torch::Tensor relevance = detail::pixel_relevance(attributions, input, metric);  // [N, P]
  const int64_t pixels = relevance.size(1);
  const torch::Tensor& given = options.subsets();
  int64_t runs = options.runs();
  int64_t size = 0;
  if (given.defined()) {
    const bool per_example = given.dim() == 3;
    TORCH_CHECK_VALUE((per_example && given.size(0) == batch && given.size(2) == pixels) ||
                          (given.dim() == 2 && given.size(1) == pixels),
                      metric, ": subsets must be bool [N, R, P] or [R, P] over the input's ", pixels, " pixels, got shape ",
                      given.sizes());
    TORCH_CHECK_VALUE(given.scalar_type() == at::kBool, metric, ": subsets must be bool, got ", given.scalar_type());
    runs = per_example ? given.size(1) : given.size(0);
  } else {
    TORCH_CHECK_VALUE(options.subset_size() >= 0 && options.subset_size() <= pixels, metric, ": subset_size must be in [0, ",
                      pixels, "] (0: subset_fraction), got ", options.subset_size());
    TORCH_CHECK_VALUE(options.subset_size() > 0 || (options.subset_fraction() > 0 && options.subset_fraction() <= 1), metric,
                      ": subset_fraction must be in (0, 1], got ", options.subset_fraction());
    size = options.subset_size() > 0
               ? options.subset_size()
               : std::max<int64_t>(1, static_cast<int64_t>(std::round(options.subset_fraction() * pixels)));
  }
  TORCH_CHECK_VALUE(runs >= 2, metric, ": a correlation needs runs >= 2, got ", runs);

  std::vector<int64_t> chunk_shape = detail::pixel_shape(input);
  const torch::Tensor baseline = options.baseline().resolve(input);
  const int64_t total = batch * runs;
  torch::Tensor sums = at::empty({total}, relevance.options());
  const PerturbationEngine engine(model, PerturbationEngineOptions(options.engine()).class_probabilities(options.probabilities()));
  const auto long_options = input.options().dtype(at::kLong);
  const PerturbationRun run = engine.run(input, target, total, [&](int64_t first, int64_t count) {
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = rows.div(runs, "floor");
    torch::Tensor subset;  // bool [count, P]
    if (given.defined()) {
      const bool per_example = given.dim() == 3;
      subset = (per_example ? given.flatten(0, 1) : given).to(input.device()).index_select(0, per_example ? rows : rows.remainder(runs));
    } else {
      subset = at::zeros({count, pixels}, at::TensorOptions().dtype(at::kBool));
      for (int64_t r = 0; r < count; ++r) {
        at::Generator generator = detail::sample_generator(options.seed(), (first + r) / runs, (first + r) % runs);
        subset[r].index_fill_(0, at::randperm(pixels, generator, at::kLong).slice(0, 0, size), true);
      }
      subset = subset.to(input.device());
    }
    sums.slice(0, first, first + count).copy_((relevance.index_select(0, examples) * subset).sum(1));
    chunk_shape[0] = count;
    return PerturbedRows{at::where(subset.view(chunk_shape), baseline.index_select(0, examples), input.index_select(0, examples)),
                         examples};
  });

  const torch::Tensor a = sums.view({batch, runs});
  const torch::Tensor b = run.clean.scores.to(at::kDouble).unsqueeze(1) - run.scores.to(at::kDouble).view({batch, runs});
  const torch::Tensor a_centred = a - a.mean(1, true), b_centred = b - b.mean(1, true);
  const torch::Tensor a_norm = a_centred.norm(2, 1), b_norm = b_centred.norm(2, 1);
  // Spreads below rounding of the values themselves count as none.
  detail::refuse_rows(b_norm <= 1e-12 * (b.abs().amax(1) + 1e-300) * std::sqrt(static_cast<double>(runs)), metric,
                      "the score drops are the same for every subset (the score does not depend on these pixels)");
  detail::refuse_rows(a_norm <= 1e-12 * (a.abs().amax(1) + 1e-300) * std::sqrt(static_cast<double>(runs)), metric,
                      "the attribution sums are the same for every subset (a constant map)");
  return (a_centred * b_centred).sum(1) / (a_norm * b_norm);
}

}  // namespace metrics
}  // namespace nn_interpretability
