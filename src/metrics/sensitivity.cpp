// Sensitivity: the perturbed copies are explained in chunks of rows_per_call rows; row r of the
// work list is sample r % S of example r / S.
#include "nn_interpretability/metrics/sensitivity.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include "metric_checks.h"
#include "nn_interpretability/perturbation/perturbation_engine.h"

namespace nn_interpretability {
namespace metrics {

Sensitivity sensitivity(const Model& model, const torch::Tensor& input, const Target& target, const Explainer& explain,
                        const SensitivityOptions& options) {
  const char* metric = "sensitivity";
  model.check_input(input, metric);
  TORCH_CHECK_VALUE(static_cast<bool>(explain), metric, ": the explainer is empty");
  TORCH_CHECK_VALUE(options.rows_per_call() >= 1, metric, ": rows_per_call must be >= 1, got ", options.rows_per_call());
  const int64_t batch = input.size(0);
  const torch::Tensor& given = options.perturbations();
  int64_t samples = options.samples();
  if (given.defined()) {
    samples = detail::given_samples(given, input, metric);
  } else {
    TORCH_CHECK_VALUE(std::isfinite(options.radius()) && options.radius() > 0, metric, ": radius must be > 0, got ",
                      options.radius());
  }
  TORCH_CHECK_VALUE(samples >= 1, metric, ": samples must be >= 1, got ", samples);

  const Target resolved = PerturbationEngine(model, PerturbationEngineOptions()).clean_pass(input, target).target;
  const torch::Tensor clean = explain(model, input, resolved);
  TORCH_CHECK_VALUE(clean.defined() && clean.dim() >= 2 && clean.size(0) == batch, metric,
                    ": the explainer must return one map per example [N, ...], got shape ",
                    clean.defined() ? clean.sizes() : at::IntArrayRef{}, " for N = ", batch);
  const torch::Tensor clean_rows = detail::checked_rows(clean, metric);
  const torch::Tensor clean_norms = clean_rows.norm(2, 1);
  detail::refuse_rows(clean_norms == 0, metric, "the explanation of the clean input is all zero (its relative change is undefined)");

  const int64_t total = batch * samples;
  torch::Tensor sensitivities = at::empty({total}, clean_rows.options());
  const auto long_options = input.options().dtype(at::kLong);
  std::vector<int64_t> row_shape = input.sizes().vec();
  row_shape.erase(row_shape.begin());
  for (int64_t first = 0; first < total; first += options.rows_per_call()) {
    const int64_t count = std::min(options.rows_per_call(), total - first);
    const torch::Tensor rows = at::arange(first, first + count, long_options);
    const torch::Tensor examples = rows.div(samples, "floor");
    torch::Tensor delta;
    if (given.defined()) {
      delta = detail::given_rows(given, input, rows, samples);
    } else {
      std::vector<torch::Tensor> drawn;
      drawn.reserve(static_cast<size_t>(count));
      for (int64_t r = first; r < first + count; ++r)
        drawn.push_back(at::empty(row_shape, at::TensorOptions().dtype(input.scalar_type()))
                            .uniform_(-options.radius(), options.radius(), detail::sample_generator(options.seed(), r / samples, r % samples)));
      delta = at::stack(drawn).to(input.device());
    }
    const torch::Tensor maps = explain(model, input.index_select(0, examples) + delta, resolved.select_rows(examples));
    TORCH_CHECK_VALUE(maps.defined() && maps.sizes().slice(1) == clean.sizes().slice(1) && maps.size(0) == count, metric,
                      ": the explainer returned shape ", maps.defined() ? maps.sizes() : at::IntArrayRef{},
                      " for ", count, " perturbed rows; the clean maps are ", clean.sizes());
    const torch::Tensor change = (detail::checked_rows(maps, metric) - clean_rows.index_select(0, examples)).norm(2, 1);
    sensitivities.slice(0, first, first + count).copy_(change / clean_norms.index_select(0, examples));
  }
  Sensitivity result;
  result.samples = sensitivities.view({batch, samples});
  result.max = std::get<0>(result.samples.max(1));
  result.mean = result.samples.mean(1);
  return result;
}

}  // namespace metrics
}  // namespace nn_interpretability
